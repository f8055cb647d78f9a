import type { NodeId } from "./types.js";

/** A ReadIndex request waiting for a quorum of heartbeat acks (Raft thesis §6.4 step 3). */
export interface PendingRead {
  readonly index: number;
  /** Replica that asked (the leader itself for a local request). */
  readonly from: NodeId;
  readonly context: Uint8Array;
  readonly acks: Set<NodeId>;
}

export function contextKey(context: Uint8Array): string {
  let key = "";
  for (let i = 0; i < context.length; i++) key += String.fromCharCode(context[i]!);
  return key;
}

/**
 * Safe read-only requests on the leader, in arrival order. A heartbeat round
 * carrying the newest request's context confirms leadership for every older
 * request too, so acks release the queue up to that request.
 */
export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private queue: string[] = [];

  get size(): number {
    return this.queue.length;
  }

  addRequest(index: number, from: NodeId, context: Uint8Array): void {
    const key = contextKey(context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, from, context, acks: new Set() });
    this.queue.push(key);
  }

  /** Records an ack; returns the acks so far, or undefined for an unknown context. */
  recordAck(id: NodeId, context: Uint8Array): ReadonlySet<NodeId> | undefined {
    const request = this.pending.get(contextKey(context));
    if (request === undefined) return undefined;
    request.acks.add(id);
    return request.acks;
  }

  /** Removes and returns every request up to and including the one with `context`. */
  release(context: Uint8Array): PendingRead[] {
    const key = contextKey(context);
    const position = this.queue.indexOf(key);
    if (position < 0) return [];
    const released = this.queue.slice(0, position + 1).map((k) => this.pending.get(k)!);
    for (const k of this.queue.slice(0, position + 1)) this.pending.delete(k);
    this.queue = this.queue.slice(position + 1);
    return released;
  }

  lastPendingContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.context;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
