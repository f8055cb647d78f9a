/**
 * Hosts in one process wired by an in-memory network: messages are delivered
 * on a later macrotask (like a socket would), can be cut per link, and
 * snapshots stream chunk by chunk.
 */
import type {
  HostGroupMessage,
  HostTransport,
  HostTransportHandler,
} from "../../../framework/host/index.js";
import type { Message } from "../../../framework/raft/index.js";

export class MemoryNetwork {
  private readonly handlers = new Map<number, HostTransportHandler>();
  /** Links cut, as "from->to". */
  private readonly cut = new Set<string>();
  delivered = 0;
  snapshotsSent = 0;

  transportFor(nodeId: number): HostTransport {
    return {
      setHandler: (handler) => this.handlers.set(nodeId, handler),
      send: (batch) => this.send(nodeId, batch),
      sendSnapshot: (groupId, message, chunks) => this.sendSnapshot(nodeId, groupId, message, chunks),
    };
  }

  isolate(nodeId: number): void {
    for (const other of this.handlers.keys()) {
      if (other === nodeId) continue;
      this.cut.add(`${nodeId}->${other}`);
      this.cut.add(`${other}->${nodeId}`);
    }
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

  private send(from: number, batch: readonly HostGroupMessage[]): void {
    const byTarget = new Map<number, HostGroupMessage[]>();
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
      setImmediate(() => {
        if (!this.reachable(from, to)) return;
        this.delivered += items.length;
        this.handlers.get(to)?.onMessages(items);
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
    await handler.onSnapshot(
      groupId,
      message,
      (async function* () {
        yield* collected;
      })(),
    );
  }
}
