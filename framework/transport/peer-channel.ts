import type { NodeId, RandomSource } from "../raft/index.js";
import { assert } from "./assert.js";
import { reconnectDelayMs } from "./backoff.js";
import type { Clock, TimerHandle } from "./clock.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import { batchHeaderOverheadBytes, perMessageOverheadBytes } from "./frame-limits.js";
import type { GroupId } from "./group-message.js";
import type { Lane } from "./lane.js";
import { laneHeader } from "./lane.js";
import type { TransportLimits } from "./limits.js";
import type { Logger } from "./logger.js";
import { GrpcStreamCall, streamRequestParts } from "./grpc-stream-call.js";
import { malformed, WireReader, WireTypeVarint } from "./wire-reader.js";
import type { QueuedMessage } from "./peer-queue.js";
import { PeerQueue } from "./peer-queue.js";

export interface PeerChannelOptions {
  readonly nodeId: NodeId;
  readonly clusterId: number;
  readonly peerNodeId: NodeId;
  /** The stream this channel feeds (sent as a header; the receiver tells its streams apart). */
  readonly lane: Lane;
  /** The peer's current address, asked again on every (re)connect; undefined if unknown. */
  readonly resolveBaseUrl: () => string | undefined;
  readonly limits: TransportLimits;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  /** Reports a dropped message of `groupId` to this peer (deferred by the caller). */
  readonly reportUnreachable: (groupId: GroupId) => void;
}

interface InflightBatch {
  readonly sentAt: number;
  readonly groupIds: readonly GroupId[];
  readonly bytes: number;
}

/**
 * idle: no stream; the next message opens one.
 * streaming: a Stream call is open (or being opened) and carries batches.
 * backoff: the last stream failed; messages are dropped and reported until
 *   the reconnect delay has passed (raft retransmits, so queueing for a dead
 *   peer would only deliver stale messages later).
 */
type ChannelState = "idle" | "streaming" | "backoff" | "closed";

const streamPath = "/raftkit.v1.TransportService/Stream";
/** Acknowledgements are tiny; anything larger from a peer is refused. */
const responseMaxBytes = 64 * 1024;

/** StreamResponse.batches_received of an acknowledgement's bytes (unknown fields skipped). */
function decodeBatchesReceived(bytes: Uint8Array): number {
  const reader = new WireReader(bytes);
  let batchesReceived = 0;
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === 1 * 8 + WireTypeVarint) batchesReceived = reader.uint53("StreamResponse.batches_received");
    else if (tag >>> 3 === 1) throw malformed(`field 1 has wire type ${tag & 7}, not the schema's`);
    else reader.skip(tag);
  }
  return batchesReceived;
}

/**
 * Everything this node sends to one peer: a bounded queue, one long-lived
 * bidirectional Stream call carrying batches of all groups, an in-flight
 * window of unacknowledged batches, a liveness watchdog and reconnects with
 * jittered exponential backoff. Nothing here waits on another peer.
 * @internal
 */
export class PeerChannel {
  private state: ChannelState = "idle";
  private readonly queue: PeerQueue;
  private connection: GrpcStreamCall | undefined;
  private wakeWriter: (() => void) | undefined;
  private inflight: InflightBatch[] = [];
  private inflightBytes = 0;
  private batchesSent = 0;
  private batchesAcknowledged = 0;
  /** Since when this channel has had work and seen no acknowledgement. */
  private waitingSince = 0;
  private watchdog: TimerHandle | undefined;
  private backoffTimer: TimerHandle | undefined;
  private attempt = 0;
  private streamDone: Promise<void> = Promise.resolve();
  private readonly batchBudgetBytes: number;

  constructor(private readonly options: PeerChannelOptions) {
    const { limits } = options;
    this.queue = new PeerQueue(limits.maxQueuedMessagesPerPeer, limits.maxQueuedBytesPerPeer);
    this.batchBudgetBytes = limits.maxFrameBytes - batchHeaderOverheadBytes;
    assert(this.batchBudgetBytes > 0, () => `maxFrameBytes = ${limits.maxFrameBytes} too small`);
  }

  get queuedMessages(): number {
    return this.queue.length;
  }

  enqueue(item: QueuedMessage): void {
    if (item.byteLength + perMessageOverheadBytes > this.batchBudgetBytes) {
      this.options.logger.error("transport: message larger than maxFrameBytes dropped", {
        peer: this.options.peerNodeId,
        groupId: item.groupId,
        bytes: item.byteLength,
        maxFrameBytes: this.options.limits.maxFrameBytes,
      });
      this.options.reportUnreachable(item.groupId);
      return;
    }
    if (this.state === "closed" || this.state === "backoff") {
      this.options.reportUnreachable(item.groupId);
      return;
    }
    const baseUrl = this.state === "idle" ? this.options.resolveBaseUrl() : undefined;
    if (this.state === "idle" && baseUrl === undefined) {
      this.options.reportUnreachable(item.groupId);
      return;
    }
    const wasBusy = this.busy();
    if (!this.queue.tryPush(item)) {
      this.options.reportUnreachable(item.groupId);
      return;
    }
    if (!wasBusy) this.waitingSince = this.options.clock.now();
    if (baseUrl !== undefined) this.openStream(baseUrl);
    else this.wake();
    this.armWatchdog();
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    this.backoffTimer?.cancel();
    this.watchdog?.cancel();
    this.queue.clear();
    this.inflight = [];
    this.inflightBytes = 0;
    const connection = this.connection;
    this.connection = undefined;
    connection?.close();
    this.wake();
    await this.streamDone;
  }

  /** The in-flight window is full: wait for acknowledgements (one batch always fits when empty). */
  private windowFull(): boolean {
    const { maxInflightBatches, maxInflightBytes } = this.options.limits;
    if (this.inflight.length === 0) return false;
    return this.inflight.length >= maxInflightBatches || this.inflightBytes >= maxInflightBytes;
  }

  private busy(): boolean {
    return this.queue.length > 0 || this.inflight.length > 0;
  }

  private wake(): void {
    const wake = this.wakeWriter;
    this.wakeWriter = undefined;
    wake?.();
  }

  private openStream(baseUrl: string): void {
    assert(this.state === "idle", () => `openStream in state ${this.state}, allowed idle`);
    assert(this.connection === undefined, "no connection while idle");
    this.state = "streaming";
    this.batchesSent = 0;
    this.batchesAcknowledged = 0;
    this.inflight = [];
    this.inflightBytes = 0;
    const headers = {
      "x-raftkit-node": String(this.options.nodeId),
      [laneHeader]: this.options.lane,
    };
    const connection = new GrpcStreamCall(baseUrl, streamPath, headers, responseMaxBytes);
    this.connection = connection;
    this.streamDone = this.runStream(connection);
  }

  private async runStream(connection: GrpcStreamCall): Promise<void> {
    const ended = "peer ended the stream";
    let reason: unknown = new TransportError(TransportErrorCode.Unreachable, ended);
    // A failed write fails the call, which ends the responses below with its reason.
    const writing = this.writeBatches(connection).catch((error: unknown) => connection.fail(error));
    try {
      for await (const response of connection.responses()) {
        this.onAcknowledged(connection, decodeBatchesReceived(response));
      }
    } catch (error) {
      reason = error;
    }
    connection.close();
    this.wake();
    await writing;
    this.onStreamFailed(connection, reason);
  }

  /** The request side of the Stream call: one frame per wake-up, all that is queued. */
  private async writeBatches(connection: GrpcStreamCall): Promise<void> {
    const { nodeId, clusterId, limits, clock } = this.options;
    while (this.connection === connection && connection.open) {
      if (this.queue.length === 0 || this.windowFull()) {
        await new Promise<void>((resolve) => {
          this.wakeWriter = resolve;
        });
        continue;
      }
      const room = limits.maxInflightBytes - this.inflightBytes;
      const budget = Math.max(1, Math.min(this.batchBudgetBytes, room));
      const batch = this.queue.takeBatch(budget, perMessageOverheadBytes);
      let bytes = 0;
      for (const item of batch) bytes += item.byteLength;
      this.inflight.push({ sentAt: clock.now(), groupIds: batch.map((item) => item.groupId), bytes });
      this.inflightBytes += bytes;
      this.batchesSent++;
      if (!connection.write(streamRequestParts(nodeId, clusterId, batch))) {
        await connection.drained();
      }
    }
  }

  private onAcknowledged(connection: GrpcStreamCall, batchesReceived: number): void {
    if (this.connection !== connection) return;
    if (!(batchesReceived > this.batchesAcknowledged && batchesReceived <= this.batchesSent)) {
      throw new TransportError(
        TransportErrorCode.InvalidMessage,
        `peer acknowledged ${batchesReceived} batches, allowed ` +
          `(${this.batchesAcknowledged}, ${this.batchesSent}]`,
      );
    }
    for (const batch of this.inflight.splice(0, batchesReceived - this.batchesAcknowledged)) {
      this.inflightBytes -= batch.bytes;
    }
    this.batchesAcknowledged = batchesReceived;
    this.attempt = 0;
    this.waitingSince = this.options.clock.now();
    this.wake();
  }

  /** Declares the stream dead when work has waited ackTimeoutMs without an acknowledgement. */
  private armWatchdog(): void {
    if (this.watchdog !== undefined || this.state !== "streaming") return;
    const { clock, limits } = this.options;
    const delay = Math.max(1, this.waitingSince + limits.ackTimeoutMs - clock.now());
    this.watchdog = clock.setTimeout(() => {
      this.watchdog = undefined;
      const connection = this.connection;
      if (this.state !== "streaming" || connection === undefined || !this.busy()) return;
      const waited = clock.now() - this.waitingSince;
      if (waited >= limits.ackTimeoutMs) {
        const text =
          `no acknowledgement for ${Math.round(waited)} ms (ackTimeoutMs ${limits.ackTimeoutMs})`;
        this.onStreamFailed(connection, new TransportError(TransportErrorCode.Unreachable, text));
      } else {
        this.armWatchdog();
      }
    }, delay);
  }

  private onStreamFailed(connection: GrpcStreamCall, reason: unknown): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    connection.close();
    this.wake();
    this.watchdog?.cancel();
    this.watchdog = undefined;
    if (this.state === "closed") return;
    const dropped = new Set<GroupId>();
    for (const batch of this.inflight) for (const groupId of batch.groupIds) dropped.add(groupId);
    for (const item of this.queue.clear()) dropped.add(item.groupId);
    this.inflight = [];
    this.inflightBytes = 0;
    for (const groupId of dropped) this.options.reportUnreachable(groupId);
    const { clock, limits, random, logger, peerNodeId } = this.options;
    const delay = reconnectDelayMs(this.attempt, limits, random);
    logger.warn("transport: stream to peer failed", {
      peer: peerNodeId,
      lane: this.options.lane,
      reason: reason instanceof Error ? reason.message : String(reason),
      attempt: this.attempt,
      reconnectInMs: delay,
      droppedGroups: dropped.size,
    });
    this.attempt++;
    this.state = "backoff";
    this.backoffTimer = clock.setTimeout(() => {
      this.backoffTimer = undefined;
      if (this.state === "backoff") this.state = "idle";
    }, delay);
  }
}
