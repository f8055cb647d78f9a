import type { Message, NodeId } from "../raft/index.js";
import type { GroupId, GroupMessage } from "./group-message.js";

/** A snapshot arriving from a peer; `chunks` streams its contents in order. */
export interface IncomingSnapshot {
  readonly from: NodeId;
  readonly groupId: GroupId;
  /** The raft Message of type Snapshot: metadata in snapshot.metadata, snapshot.data empty. */
  readonly message: Message;
  /** Must be consumed to the end for the transfer to succeed. */
  readonly chunks: AsyncIterable<Uint8Array>;
}

/** What a host gives a transport: where incoming traffic and drop reports go. */
export interface TransportHandler {
  /**
   * One batch from one peer, in the order the peer sent it (order between
   * batches of one peer is preserved too). Called synchronously from the
   * receive path: it should hand messages to the groups and return.
   */
  onMessages(from: NodeId, messages: readonly GroupMessage[]): void;
  /** Resolves once the snapshot is stored; a rejection refuses it (the sender's call fails). */
  onSnapshot(snapshot: IncomingSnapshot): Promise<void>;
  /**
   * A message of `groupId` to `nodeId` was dropped (queue full, peer down or
   * unknown). The host calls RaftNode.reportUnreachable; raft retransmits.
   * Never called from inside send().
   */
  onUnreachable(groupId: GroupId, nodeId: NodeId): void;
  /**
   * Optional. The stream on which `nodeId` sent to this node has ended or
   * broken (its process died, it closed its side, the connection reset): a
   * strong hint, not proof, that the peer is gone. It may come back at once.
   */
  onPeerDisconnected?(nodeId: NodeId): void;
}

/**
 * Raft traffic between nodes. Every group's messages to one peer share two
 * ordered channels (lanes, see lane.ts): appends on one, everything else on
 * the other, so heartbeats and votes never wait behind entries; order holds
 * within a lane only (raft tolerates reordering). Messages are
 * fire-and-forget (raft tolerates loss): send() never blocks and never waits
 * for the network.
 */
export interface Transport {
  readonly nodeId: NodeId;
  start(): Promise<void>;
  /**
   * Queues each message for `message.to`. Never blocks: when a peer's bounded
   * queue is full the message is dropped and reported through onUnreachable.
   * Throws TransportError(InvalidMessage) — before queueing any of them — if a
   * message is not from this node, is addressed to it, or cannot be encoded;
   * TransportError(Closed) before start() or after close().
   */
  send(messages: readonly GroupMessage[]): void;
  /**
   * Streams a snapshot to `to`: `message` (type Snapshot, metadata set,
   * snapshot.data empty) first, then `chunks` in order. Resolves when the
   * receiver's handler has stored it; rejects with a TransportError otherwise.
   */
  sendSnapshot(
    to: NodeId,
    groupId: GroupId,
    message: Message,
    chunks: AsyncIterable<Uint8Array>,
  ): Promise<void>;
  /** Stops sending and receiving; queued messages are dropped. Idempotent. */
  close(): Promise<void>;
}
