/**
 * Hosts in one process wired by an in-memory network: messages are delivered
 * on a later macrotask (like a socket would), can be cut per link, and
 * snapshots stream chunk by chunk.
 */
import type { Message } from "../../../framework/raft/index.js";
import type { GroupMessage, Transport, TransportHandler } from "../../../framework/transport/index.js";

export class MemoryNetwork {
  private readonly handlers = new Map<number, TransportHandler>();
  /** Links cut, as "from->to". */
  private readonly cut = new Set<string>();
  delivered = 0;
  /** Raft messages delivered, without the node-level liveness pings (group 0). */
  groupMessagesDelivered = 0;
  snapshotsSent = 0;
  /** Raft messages (not liveness pings) sent and not yet delivered or dropped: each waits for a later macrotask. */
  groupMessagesInFlight = 0;

  transportFor(nodeId: number): Transport {
    return {
      nodeId,
      start: async () => {},
      close: async () => {},
      send: (batch) => this.send(nodeId, batch),
      sendSnapshot: (_to, groupId, message, chunks) => this.sendSnapshot(nodeId, groupId, message, chunks),
    };
  }

  attach(nodeId: number, handler: TransportHandler): void {
    this.handlers.set(nodeId, handler);
  }

  isolate(nodeId: number): void {
    for (const other of this.handlers.keys()) {
      if (other === nodeId) continue;
      this.cut.add(`${nodeId}->${other}`);
      this.cut.add(`${other}->${nodeId}`);
    }
  }

  /** Drops every message from `from` to `to` (one direction only) until heal(). */
  cutLink(from: number, to: number): void {
    this.cut.add(`${from}->${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  detach(nodeId: number): void {
    this.handlers.delete(nodeId);
  }

  private reachable(from: number, to: number): boolean {
    return !this.cut.has(`${from}->${to}`) && this.handlers.has(to);
  }

  private send(from: number, batch: readonly GroupMessage[]): void {
    const byTarget = new Map<number, GroupMessage[]>();
    for (const item of batch) {
      const list = byTarget.get(item.message.to) ?? [];
      list.push(item);
      byTarget.set(item.message.to, list);
    }
    for (const [to, items] of byTarget) {
      if (!this.reachable(from, to)) {
        for (const item of items) this.handlers.get(from)?.onUnreachable(item.groupId, to);
        continue;
      }
      const groupMessages = items.filter((item) => item.groupId !== 0).length;
      this.groupMessagesInFlight += groupMessages;
      setImmediate(() => {
        this.groupMessagesInFlight -= groupMessages;
        if (!this.reachable(from, to)) return;
        this.delivered += items.length;
        this.groupMessagesDelivered += groupMessages;
        this.handlers.get(to)?.onMessages(from, items);
      });
    }
  }

  private async sendSnapshot(
    from: number,
    groupId: number,
    message: Message,
    chunks: AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const to = message.to;
    if (!this.reachable(from, to)) throw new Error(`node ${to} unreachable from ${from}`);
    const collected: Uint8Array[] = [];
    for await (const chunk of chunks) collected.push(chunk);
    await new Promise((resolve) => setImmediate(resolve));
    const handler = this.handlers.get(to);
    if (handler === undefined || !this.reachable(from, to)) throw new Error(`node ${to} went away`);
    this.snapshotsSent++;
    await handler.onSnapshot({
      from,
      groupId,
      message,
      chunks: (async function* () {
        yield* collected;
      })(),
    });
  }
}
