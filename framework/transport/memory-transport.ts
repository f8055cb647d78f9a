import type { Message, NodeId } from "../raft/index.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import type { GroupId, GroupMessage } from "./group-message.js";
import type { TransportLimits } from "./limits.js";
import { createTransportLimits } from "./limits.js";
import { decodeGroupMessage } from "./message-codec.js";
import { checkSnapshotMessage, encodeOutgoing } from "./outgoing.js";
import { PeerQueue } from "./peer-queue.js";
import type { Transport, TransportHandler } from "./transport.js";
import { UnreachableReports } from "./unreachable-reports.js";

/** One queued message in flight on the memory network (already encoded, as on a wire). */
export interface MemoryEnvelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly groupId: GroupId;
  readonly bytes: Uint8Array;
}

export interface MemoryNetwork {
  /** A transport for `nodeId` on this network; one per node id. */
  createTransport(nodeId: NodeId, handler: TransportHandler): Transport;
  /** Messages queued on all links. */
  pendingMessages(): number;
  /** Removes and returns every queued message, links in creation order, FIFO per link. */
  takePending(): MemoryEnvelope[];
  /**
   * Delivers one envelope to its destination's handler now (decoded afresh),
   * ignoring queues: the simulator's way to reorder, duplicate or delay.
   * Returns false if the destination is not started or the link is down.
   */
  deliver(envelope: MemoryEnvelope): boolean;
  /**
   * Rounds of: take every queued message, deliver each link's messages as one
   * batch. Messages sent by handlers go to the next round. Stops when nothing
   * is queued or after `maxRounds`; returns the number of messages delivered.
   * Unreachable reports are handed out at the end of each round.
   */
  deliverAll(maxRounds?: number): number;
  /** Runs pending snapshot transfers in the order they were sent; returns how many ran. */
  deliverSnapshots(): Promise<number>;
  /** Cuts (up = false) or restores the one-way link from → to. */
  setLinkUp(from: NodeId, to: NodeId, up: boolean): void;
}

interface MemoryNode {
  readonly handler: TransportHandler;
  readonly reports: UnreachableReports;
  started: boolean;
}

interface PendingSnapshot {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly groupId: GroupId;
  readonly message: Message;
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A deterministic in-process network for tests and the simulator: no timers,
 * no promises on the message path; nothing moves until the caller says so.
 * Messages go through the real codec and bounded per-link queues, so limits,
 * drops and unreachable reports behave as with ConnectTransport.
 */
export function createMemoryNetwork(overrides: Partial<TransportLimits> = {}): MemoryNetwork {
  const limits = createTransportLimits(overrides);
  const nodes = new Map<NodeId, MemoryNode>();
  const links = new Map<string, { from: NodeId; to: NodeId; queue: PeerQueue; up: boolean }>();
  const snapshots: PendingSnapshot[] = [];

  const link = (from: NodeId, to: NodeId) => {
    const key = `${from}->${to}`;
    let found = links.get(key);
    if (found === undefined) {
      const queue = new PeerQueue(limits.maxQueuedMessagesPerPeer, limits.maxQueuedBytesPerPeer);
      found = { from, to, queue, up: true };
      links.set(key, found);
    }
    return found;
  };

  const deliver = (envelope: MemoryEnvelope): boolean => {
    const destination = nodes.get(envelope.to);
    if (destination === undefined || !destination.started) return false;
    if (!link(envelope.from, envelope.to).up) return false;
    destination.handler.onMessages(envelope.from, [decodeGroupMessage(envelope.bytes)]);
    return true;
  };

  const flushReports = (): void => {
    for (const node of nodes.values()) node.reports.flush();
  };

  const deliverRound = (): number => {
    let delivered = 0;
    for (const current of [...links.values()]) {
      const batch = current.queue.clear();
      if (batch.length === 0) continue;
      const destination = nodes.get(current.to);
      const source = nodes.get(current.from);
      if (destination === undefined || !destination.started || !current.up) {
        for (const item of batch) source?.reports.add(item.groupId, current.to);
        continue;
      }
      const messages = batch.map((item) => decodeGroupMessage(item.bytes));
      destination.handler.onMessages(current.from, messages);
      delivered += batch.length;
    }
    return delivered;
  };

  const network: MemoryNetwork = {
    createTransport(nodeId: NodeId, handler: TransportHandler): Transport {
      if (nodes.has(nodeId)) {
        const text = `node ${nodeId} already on this network`;
        throw new TransportError(TransportErrorCode.InvalidConfig, text);
      }
      const reports = new UnreachableReports((group, node) => handler.onUnreachable(group, node));
      const node: MemoryNode = { handler, reports, started: false };
      nodes.set(nodeId, node);
      return createMemoryTransport(nodeId, node, {
        enqueue: (to, groupId, bytes) => {
          const target = link(nodeId, to);
          const accepted = nodes.has(to) && target.up && target.queue.tryPush({ groupId, bytes });
          if (!accepted) node.reports.add(groupId, to);
        },
        enqueueSnapshot: (snapshot) => snapshots.push({ ...snapshot, from: nodeId }),
        remove: () => nodes.delete(nodeId),
      });
    },
    pendingMessages: () => [...links.values()].reduce((sum, item) => sum + item.queue.length, 0),
    takePending(): MemoryEnvelope[] {
      const taken: MemoryEnvelope[] = [];
      for (const { from, to, queue } of links.values()) {
        for (const { groupId, bytes } of queue.clear()) taken.push({ from, to, groupId, bytes });
      }
      return taken;
    },
    deliver,
    deliverAll(maxRounds = 1000): number {
      let delivered = 0;
      for (let round = 0; round < maxRounds && network.pendingMessages() > 0; round++) {
        delivered += deliverRound();
        flushReports();
      }
      flushReports();
      return delivered;
    },
    deliverSnapshots: () => runSnapshots(snapshots.splice(0), nodes, link),
    setLinkUp(from: NodeId, to: NodeId, up: boolean): void {
      link(from, to).up = up;
    },
  };
  return network;
}

async function runSnapshots(
  pending: PendingSnapshot[],
  nodes: ReadonlyMap<NodeId, MemoryNode>,
  link: (from: NodeId, to: NodeId) => { up: boolean },
): Promise<number> {
  for (const snapshot of pending) {
    const destination = nodes.get(snapshot.to);
    if (destination === undefined || !destination.started || !link(snapshot.from, snapshot.to).up) {
      const text = `node ${snapshot.to} unreachable`;
      snapshot.reject(new TransportError(TransportErrorCode.Unreachable, text));
      continue;
    }
    try {
      const { from, groupId, message, chunks } = snapshot;
      await destination.handler.onSnapshot({ from, groupId, message, chunks });
      snapshot.resolve();
    } catch (error) {
      snapshot.reject(TransportError.from(error, TransportErrorCode.SnapshotFailed));
    }
  }
  return pending.length;
}

interface MemoryLinks {
  enqueue(to: NodeId, groupId: GroupId, bytes: Uint8Array): void;
  enqueueSnapshot(snapshot: Omit<PendingSnapshot, "from">): void;
  remove(): void;
}

function createMemoryTransport(nodeId: NodeId, node: MemoryNode, links: MemoryLinks): Transport {
  let closed = false;
  const checkOpen = (): void => {
    if (!node.started || closed) {
      const text = `memory transport of node ${nodeId} is not running`;
      throw new TransportError(TransportErrorCode.Closed, text);
    }
  };
  return {
    nodeId,
    start: async () => {
      if (closed) throw new TransportError(TransportErrorCode.Closed, `node ${nodeId} was closed`);
      node.started = true;
    },
    send(messages: readonly GroupMessage[]): void {
      checkOpen();
      for (const { to, groupId, bytes } of encodeOutgoing(nodeId, messages)) {
        links.enqueue(to, groupId, bytes);
      }
    },
    sendSnapshot(to, groupId, message, chunks): Promise<void> {
      checkOpen();
      checkSnapshotMessage(nodeId, to, message);
      return new Promise((resolve, reject) => {
        links.enqueueSnapshot({ to, groupId, message, chunks, resolve, reject });
      });
    },
    close: async () => {
      if (closed) return;
      closed = true;
      node.started = false;
      links.remove();
    },
  };
}
