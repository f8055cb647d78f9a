import type { RaftConfig } from "../raft/index.js";

export interface NodeHostConfig {
  /** This node's id; it is also its replica id in every group. */
  readonly nodeId: number;
  /** Milliseconds per raft tick. */
  readonly tickIntervalMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Take a local snapshot (and compact the log) every this many applied entries; 0: never. */
  readonly snapshotEntries?: number;
  /** Entries kept before a snapshot's index, so slightly lagging followers need no snapshot. */
  readonly compactionOverhead?: number;
  /** Proposals waiting for their result per group; more are refused with Overloaded. */
  readonly maxPendingProposals?: number;
  readonly maxPendingReads?: number;
  /** Largest proposal payload in bytes. */
  readonly maxProposalBytes?: number;
  /**
   * Most commands in one log entry, for groups whose state machine declares
   * `packedCommands` (the proposals of a group that arrive within one loop
   * iteration travel as one entry, command-pack.ts). 1: one command per entry.
   */
  readonly maxCommandsPerEntry?: number;
  /**
   * Largest pack of several commands, in bytes (also at most
   * maxProposalBytes); a single larger command travels alone.
   */
  readonly maxPackBytes?: number;
  /** Default deadline of a request, in milliseconds. */
  readonly requestTimeoutMs?: number;
  /** Snapshot streams to followers in flight at once, for the whole node. */
  readonly maxSnapshotSends?: number;
  /** Groups whose Ready is applied concurrently. */
  readonly applyConcurrency?: number;
  /**
   * Loop iterations whose save may be in flight at once (pipelined saves:
   * the next iteration's groups are collected, sent and written while an
   * earlier save syncs; a group may be in several of them, up to
   * `raft.maxReadiesInFlight`, 4 by default). 1: every iteration waits for
   * its own save, apply and advance before the next.
   */
  readonly maxSavesInFlight?: number;
  /**
   * Ticks a group must be idle (nothing pending, everything replicated and
   * applied) before it quiesces: no ticks, no heartbeats, until a request or
   * a message wakes it or a member's node goes silent. 0: never quiesce.
   */
  readonly quiesceAfterTicks?: number;
  /** Raft settings shared by every group (ids, storage and randomness are the host's). */
  readonly raft?: Omit<Partial<RaftConfig>, "id" | "storage" | "random" | "applied">;
}

export type ResolvedNodeHostConfig = Required<NodeHostConfig>;

export function resolveNodeHostConfig(config: NodeHostConfig): ResolvedNodeHostConfig {
  const resolved: ResolvedNodeHostConfig = {
    tickIntervalMs: 100,
    electionTicks: 10,
    heartbeatTicks: 1,
    snapshotEntries: 10_000,
    compactionOverhead: 1_000,
    maxPendingProposals: 50_000,
    maxPendingReads: 50_000,
    maxProposalBytes: 8 << 20,
    maxCommandsPerEntry: 256,
    maxPackBytes: 64 * 1024,
    requestTimeoutMs: 5_000,
    maxSnapshotSends: 4,
    applyConcurrency: 16,
    maxSavesInFlight: 4,
    quiesceAfterTicks: 0,
    raft: {},
    ...config,
  };
  const positive: (keyof ResolvedNodeHostConfig)[] = [
    "nodeId",
    "tickIntervalMs",
    "electionTicks",
    "heartbeatTicks",
    "maxPendingProposals",
    "maxPendingReads",
    "maxProposalBytes",
    "maxCommandsPerEntry",
    "maxPackBytes",
    "requestTimeoutMs",
    "maxSnapshotSends",
    "applyConcurrency",
    "maxSavesInFlight",
  ];
  for (const key of positive) {
    const value = resolved[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`node host config ${key} = ${String(value)}, allowed a positive integer`);
    }
  }
  for (const key of ["snapshotEntries", "compactionOverhead", "quiesceAfterTicks"] as const) {
    if (!Number.isSafeInteger(resolved[key]) || resolved[key] < 0) {
      throw new RangeError(`node host config ${key} = ${resolved[key]}, allowed an integer ≥ 0`);
    }
  }
  if (resolved.electionTicks <= resolved.heartbeatTicks) {
    throw new RangeError(
      `node host config electionTicks = ${resolved.electionTicks}, allowed > heartbeatTicks (${resolved.heartbeatTicks})`,
    );
  }
  return resolved;
}
