import type { Message, NodeId } from "../raft/index.js";
import { assert } from "./assert.js";
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
  const state: NetworkState = {
    limits: createTransportLimits(overrides),
    nodes: new Map(),
    links: new Map(),
    snapshots: [],
  };
  const network: MemoryNetwork = {
    createTransport: (nodeId, handler) => addNode(state, nodeId, handler),
    pendingMessages: () => [...state.links.values()].reduce((sum, l) => sum + l.queue.length, 0),
    takePending(): MemoryEnvelope[] {
      const taken: MemoryEnvelope[] = [];
      for (const { from, to, queue } of state.links.values()) {
        for (const { groupId, parts } of queue.clear()) {
          taken.push({ from, to, groupId, bytes: contiguous(parts) });
        }
      }
      return taken;
    },
    deliver: (envelope) => deliverEnvelope(state, envelope),
    deliverAll(maxRounds = 1000): number {
      let delivered = 0;
      for (let round = 0; round < maxRounds && network.pendingMessages() > 0; round++) {
        delivered += deliverRound(state);
        for (const node of state.nodes.values()) node.reports.flush();
      }
      for (const node of state.nodes.values()) node.reports.flush();
      return delivered;
    },
    deliverSnapshots: () => runSnapshots(state, state.snapshots.splice(0)),
    setLinkUp(from: NodeId, to: NodeId, up: boolean): void {
      linkOf(state, from, to).up = up;
    },
  };
  return network;
}

interface MemoryLink {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly queue: PeerQueue;
  up: boolean;
}

interface NetworkState {
  readonly limits: TransportLimits;
  readonly nodes: Map<NodeId, MemoryNode>;
  /** Keyed "from->to"; Map order = creation order, which makes delivery deterministic. */
  readonly links: Map<string, MemoryLink>;
  readonly snapshots: PendingSnapshot[];
}

function linkOf(state: NetworkState, from: NodeId, to: NodeId): MemoryLink {
  const key = `${from}->${to}`;
  let found = state.links.get(key);
  if (found === undefined) {
    const { maxQueuedMessagesPerPeer, maxQueuedBytesPerPeer } = state.limits;
    const queue = new PeerQueue(maxQueuedMessagesPerPeer, maxQueuedBytesPerPeer);
    found = { from, to, queue, up: true };
    state.links.set(key, found);
  }
  return found;
}

function addNode(state: NetworkState, nodeId: NodeId, handler: TransportHandler): Transport {
  if (state.nodes.has(nodeId)) {
    const text = `node ${nodeId} already on this network`;
    throw new TransportError(TransportErrorCode.InvalidConfig, text);
  }
  const reports = new UnreachableReports((group, node) => handler.onUnreachable(group, node));
  const node: MemoryNode = { handler, reports, started: false };
  state.nodes.set(nodeId, node);
  return createMemoryTransport(nodeId, node, {
    enqueue: (to, groupId, bytes) => {
      const link = linkOf(state, nodeId, to);
      const accepted = state.nodes.has(to) && link.up && link.queue.tryPush({ groupId, byteLength: bytes.byteLength, parts: [bytes] });
      if (!accepted) node.reports.add(groupId, to);
    },
    enqueueSnapshot: (snapshot) => state.snapshots.push({ ...snapshot, from: nodeId }),
    remove: () => state.nodes.delete(nodeId),
  });
}

function contiguous(parts: readonly Uint8Array[]): Uint8Array {
  assert(parts.length === 1, () => `an encoding in ${parts.length} parts, expected 1`);
  return parts[0]!;
}

function deliverEnvelope(state: NetworkState, envelope: MemoryEnvelope): boolean {
  const destination = state.nodes.get(envelope.to);
  if (destination === undefined || !destination.started) return false;
  if (!linkOf(state, envelope.from, envelope.to).up) return false;
  destination.handler.onMessages(envelope.from, [decodeGroupMessage(envelope.bytes)]);
  return true;
}

/** Each link's whole queue as one batch; what cannot be delivered is reported. */
function deliverRound(state: NetworkState): number {
  let delivered = 0;
  for (const link of [...state.links.values()]) {
    const batch = link.queue.clear();
    if (batch.length === 0) continue;
    const destination = state.nodes.get(link.to);
    if (destination === undefined || !destination.started || !link.up) {
      const source = state.nodes.get(link.from);
      for (const item of batch) source?.reports.add(item.groupId, link.to);
      continue;
    }
    const messages = batch.map((item) => decodeGroupMessage(contiguous(item.parts)));
    destination.handler.onMessages(link.from, messages);
    delivered += batch.length;
  }
  return delivered;
}

async function runSnapshots(state: NetworkState, pending: PendingSnapshot[]): Promise<number> {
  for (const snapshot of pending) {
    const destination = state.nodes.get(snapshot.to);
    const up = linkOf(state, snapshot.from, snapshot.to).up;
    if (destination === undefined || !destination.started || !up) {
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
      // Contiguous encodings (nothing referenced): a delivery decodes views of its own copy.
      for (const { to, groupId, parts } of encodeOutgoing(nodeId, messages, Infinity)) {
        links.enqueue(to, groupId, contiguous(parts));
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
