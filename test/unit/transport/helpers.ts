import type { Message, NodeId } from "../../../framework/raft/index.js";
import { MessageType } from "../../../framework/raft/index.js";
import type {
  GroupId,
  GroupMessage,
  IncomingSnapshot,
  TransportHandler,
} from "../../../framework/transport/index.js";

export function heartbeat(from: NodeId, to: NodeId, term: number): Message {
  return {
    type: MessageType.Heartbeat,
    to,
    from,
    term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: new Uint8Array(0),
  };
}

export function snapshotMessage(from: NodeId, to: NodeId, index: number): Message {
  return {
    ...heartbeat(from, to, 3),
    type: MessageType.Snapshot,
    snapshot: {
      metadata: {
        index,
        term: 3,
        confState: {
          voters: [1, 2, 3],
          learners: [],
          votersOutgoing: [],
          learnersNext: [],
          autoLeave: false,
        },
      },
      data: new Uint8Array(0),
    },
  };
}

export interface Received {
  readonly from: NodeId;
  readonly groupId: GroupId;
  readonly message: Message;
  readonly batch: number;
}

/** A handler that records everything it is handed (a real fake, no mocks). */
export class RecordingHandler implements TransportHandler {
  readonly received: Received[] = [];
  readonly unreachable: Array<{ groupId: GroupId; nodeId: NodeId }> = [];
  readonly snapshots: Array<{ snapshot: IncomingSnapshot; bytes: number; digest: number }> = [];
  batches = 0;
  refuseSnapshots = false;

  onMessages(from: NodeId, messages: readonly GroupMessage[]): void {
    this.batches++;
    for (const { groupId, message } of messages) {
      this.received.push({ from, groupId, message, batch: this.batches });
    }
  }

  async onSnapshot(snapshot: IncomingSnapshot): Promise<void> {
    let bytes = 0;
    let digest = 0;
    for await (const chunk of snapshot.chunks) {
      for (const byte of chunk) digest = (Math.imul(digest, 31) + byte) >>> 0;
      bytes += chunk.length;
    }
    if (this.refuseSnapshots) throw new Error("snapshot refused by test handler");
    this.snapshots.push({ snapshot, bytes, digest });
  }

  onUnreachable(groupId: GroupId, nodeId: NodeId): void {
    this.unreachable.push({ groupId, nodeId });
  }

  /** Peers whose stream to this node ended, in order. */
  readonly disconnected: NodeId[] = [];

  onPeerDisconnected(nodeId: NodeId): void {
    this.disconnected.push(nodeId);
  }
}

export function digestOf(chunks: readonly Uint8Array[]): number {
  let digest = 0;
  for (const chunk of chunks)
    for (const byte of chunk) digest = (Math.imul(digest, 31) + byte) >>> 0;
  return digest;
}

export async function* iterate<T>(items: readonly T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}
