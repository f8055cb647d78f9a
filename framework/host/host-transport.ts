import type { Message } from "../raft/index.js";

export interface HostGroupMessage {
  readonly groupId: number;
  readonly message: Message;
}

/** What the host receives from the transport. */
export interface HostTransportHandler {
  onMessages(batch: readonly HostGroupMessage[]): void;
  /** A peer could not be reached for these messages: raft will retry; the leader probes. */
  onUnreachable(groupId: number, nodeId: number): void;
  /**
   * A snapshot arrived from a leader. The host stores the chunks, then steps
   * `message` (whose snapshot data is empty: the contents are the chunks).
   */
  onSnapshot(groupId: number, message: Message, chunks: AsyncIterable<Uint8Array>): Promise<void>;
}

/** The transport as the host uses it (framework/transport implements it). */
export interface HostTransport {
  setHandler(handler: HostTransportHandler): void;
  /** Queues messages; never blocks; drops (and reports unreachable) when a peer's queue is full. */
  send(batch: readonly HostGroupMessage[]): void;
  /** Streams a snapshot to `message.to`; resolves when the receiver has stored it. */
  sendSnapshot(groupId: number, message: Message, chunks: AsyncIterable<Uint8Array>): Promise<void>;
}
