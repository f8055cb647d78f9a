import type { Message, NodeId, RandomSource } from "../raft/index.js";
import type { Clock } from "./clock.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import type { GroupId, GroupMessage } from "./group-message.js";
import type { TransportLimits } from "./limits.js";
import { createTransportLimits } from "./limits.js";
import type { Lane } from "./lane.js";
import { lanes } from "./lane.js";
import type { Logger } from "./logger.js";
import { checkSnapshotMessage, encodeOutgoing } from "./outgoing.js";
import { PeerChannel } from "./peer-channel.js";
import { sendSnapshotOverConnect } from "./snapshot-sender.js";
import type { Transport, TransportHandler } from "./transport.js";
import { UnreachableReports } from "./unreachable-reports.js";

/**
 * Bytes values (entry data) of at least this size go to the HTTP/2 stream
 * by reference, not copied into the message's encoding: one copy less of
 * every proposal per follower; below it one buffer is cheaper than a part.
 */
const referencedBytesMin = 4096;

export interface ConnectTransportOptions {
  readonly nodeId: NodeId;
  /** Sent with every batch; a peer of another cluster refuses the stream. */
  readonly clusterId: number;
  /** Base URL (http://host:port, h2c) of a peer's server; undefined if unknown. */
  readonly resolvePeer: (nodeId: NodeId) => string | undefined;
  /** Receives onUnreachable; incoming traffic goes to the handler of registerTransportService. */
  readonly handler: Pick<TransportHandler, "onUnreachable">;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly limits?: Partial<TransportLimits>;
}

/**
 * The sending side of the transport over Connect (gRPC protocol, HTTP/2
 * without TLS): one PeerChannel — one long-lived Stream call — per peer,
 * created on first use. The receiving side is registerTransportService on
 * the node's server. See docs/transport.md.
 */
export function createConnectTransport(options: ConnectTransportOptions): Transport {
  const limits = createTransportLimits(options.limits);
  checkIdentity(options.nodeId, options.clusterId);
  const { nodeId, clusterId, clock, random, logger } = options;
  const reports = new UnreachableReports((groupId, peer) =>
    options.handler.onUnreachable(groupId, peer),
  );
  const reportUnreachable = (groupId: GroupId, peer: NodeId): void =>
    reports.addDeferred(groupId, peer);
  /** Per peer, one channel per lane: control traffic never queues behind appends. */
  const channels = new Map<NodeId, Record<Lane, PeerChannel>>();
  let state: "new" | "running" | "closed" = "new";
  const closing = new AbortController();

  const channelFor = (peer: NodeId, lane: Lane): PeerChannel | undefined => {
    let pair = channels.get(peer);
    if (pair === undefined) {
      if (options.resolvePeer(peer) === undefined) return undefined;
      const open = (laneOfChannel: Lane): PeerChannel =>
        new PeerChannel({
          nodeId, clusterId, peerNodeId: peer, lane: laneOfChannel, limits, clock, random, logger,
          resolveBaseUrl: () => options.resolvePeer(peer),
          reportUnreachable: (groupId) => reportUnreachable(groupId, peer),
        });
      pair = { control: open("control"), data: open("data") };
      channels.set(peer, pair);
    }
    return pair[lane];
  };
  const checkRunning = (): void => {
    if (state !== "running") {
      const text = `transport of node ${nodeId} is ${state}`;
      throw new TransportError(TransportErrorCode.Closed, text);
    }
  };

  return {
    nodeId,
    start: async () => {
      if (state === "closed") {
        throw new TransportError(TransportErrorCode.Closed, "transport was closed");
      }
      state = "running";
    },
    send(messages: readonly GroupMessage[]): void {
      checkRunning();
      for (const item of encodeOutgoing(nodeId, messages, referencedBytesMin)) {
        const channel = channelFor(item.to, item.lane);
        if (channel === undefined) reportUnreachable(item.groupId, item.to);
        else channel.enqueue(item);
      }
    },
    async sendSnapshot(to: NodeId, groupId: GroupId, message: Message, chunks): Promise<void> {
      checkRunning();
      checkSnapshotMessage(nodeId, to, message);
      const baseUrl = options.resolvePeer(to);
      if (baseUrl === undefined) {
        throw new TransportError(TransportErrorCode.Unreachable, `no address for node ${to}`);
      }
      const transfer = { nodeId, clusterId, to, baseUrl, groupId, message, chunks };
      await sendSnapshotOverConnect({ ...transfer, limits, clock, logger, signal: closing.signal });
    },
    close: async () => {
      if (state === "closed") return;
      state = "closed";
      const text = `transport of node ${nodeId} closed`;
      closing.abort(new TransportError(TransportErrorCode.Closed, text));
      const all = [...channels.values()].flatMap((pair) => lanes.map((lane) => pair[lane]));
      await Promise.all(all.map((channel) => channel.close()));
      channels.clear();
    },
  };
}

function checkIdentity(nodeId: NodeId, clusterId: number): void {
  if (!(Number.isSafeInteger(nodeId) && nodeId > 0)) {
    throw new TransportError(TransportErrorCode.InvalidConfig, `nodeId = ${nodeId}, allowed ≥ 1`);
  }
  if (!(Number.isSafeInteger(clusterId) && clusterId >= 0)) {
    const text = `clusterId = ${clusterId}, allowed integer ≥ 0`;
    throw new TransportError(TransportErrorCode.InvalidConfig, text);
  }
}
