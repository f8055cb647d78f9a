/**
 * How a node process takes part in the cluster manager (issue #9): whether
 * it runs at all (on by default when the node has peers or joins), how many
 * boot nodes vote in the meta group, where a joining node registers, and the
 * timings of heartbeats, failure detection and controller rounds.
 */
import type { RebalanceLimits } from "../cluster/index.js";
import {
  defaultLeaderSettleMs,
  defaultLearnerStallMs,
  defaultRebalanceLimits,
  defaultRejoinAfterMs,
  defaultTransferTimeoutMs,
  metaVoterCounts,
} from "../cluster/index.js";
import { ServerError, ServerErrorCode } from "./errors.js";

export interface ClusterManagerSettings {
  /** Run the meta group, agent and controller; false keeps a static table (tests, DI). */
  readonly enabled: boolean;
  /** Meta voters: the lowest ids of the boot cluster (1, 3 or 5). */
  readonly metaVoters: number;
  /** "host:port" of members to register through (a node joining a running cluster). */
  readonly join: readonly string[];
  readonly heartbeatIntervalMs: number;
  /** Silence after which a node is suspect (gets nothing new, moves nothing). */
  readonly suspectAfterMs: number;
  /** Silence after which a node is dead (its replicas are replaced). */
  readonly deadAfterMs: number;
  /** Pause between controller rounds on the meta leader. */
  readonly roundIntervalMs: number;
  /** Deadline of each call the controller and agent make to another node. */
  readonly callTimeoutMs: number;
  /** Replication factor of partitions created without one. */
  readonly defaultReplicationFactor: number;
  readonly limits: RebalanceLimits;
  /** A learner whose lag falls no further for this long is removed and replaced. */
  readonly learnerStallMs: number;
  /**
   * Quiet time (no node state change, no membership step) before the
   * controller spreads leaders: a transfer drops the group's proposals in
   * flight, so right after a start or a move leaders stay where they are.
   */
  readonly leaderSettleMs: number;
  /** A leadership transfer asked for counts as under way this long unless the leader changes. */
  readonly transferTimeoutMs: number;
  /** A node that left a group gets no fresh replica of it for this long (stale messages). */
  readonly rejoinAfterMs: number;
}

export const defaultClusterManagerSettings: Omit<ClusterManagerSettings, "enabled"> = {
  metaVoters: 3,
  join: [],
  heartbeatIntervalMs: 500,
  suspectAfterMs: 3_000,
  deadAfterMs: 10_000,
  roundIntervalMs: 500,
  callTimeoutMs: 5_000,
  defaultReplicationFactor: 3,
  limits: defaultRebalanceLimits,
  learnerStallMs: defaultLearnerStallMs,
  leaderSettleMs: defaultLeaderSettleMs,
  transferTimeoutMs: defaultTransferTimeoutMs,
  rejoinAfterMs: defaultRejoinAfterMs,
};

/** The settings with defaults filled in; every bad value names its setting. */
export function resolveClusterManagerSettings(
  given: Partial<ClusterManagerSettings> | undefined,
  hasPeers: boolean,
): ClusterManagerSettings {
  const join = given?.join ?? [];
  const settings: ClusterManagerSettings = {
    ...defaultClusterManagerSettings,
    ...given,
    enabled: given?.enabled ?? (hasPeers || join.length > 0),
    join,
  };
  const invalid = (setting: string, message: string): ServerError =>
    new ServerError(ServerErrorCode.InvalidConfig, `${setting}: ${message}`, { setting });
  if (!(metaVoterCounts as readonly number[]).includes(settings.metaVoters)) {
    throw invalid("meta_voters", `${settings.metaVoters}, allowed ${metaVoterCounts.join(", ")}`);
  }
  const timings = [
    "heartbeatIntervalMs", "suspectAfterMs", "deadAfterMs", "roundIntervalMs", "callTimeoutMs",
    "learnerStallMs", "transferTimeoutMs",
  ] as const;
  for (const key of timings) {
    const value = settings[key];
    if (!(Number.isSafeInteger(value) && value > 0)) {
      throw invalid(key, `${value}, allowed an integer ≥ 1`);
    }
  }
  for (const key of ["leaderSettleMs", "rejoinAfterMs"] as const) {
    const value = settings[key];
    if (!(Number.isSafeInteger(value) && value >= 0)) {
      throw invalid(key, `${value}, allowed an integer ≥ 0`);
    }
  }
  if (settings.suspectAfterMs <= settings.heartbeatIntervalMs) {
    const message =
      `${settings.suspectAfterMs}, allowed > heartbeatIntervalMs ${settings.heartbeatIntervalMs}`;
    throw invalid("suspectAfterMs", message);
  }
  if (settings.deadAfterMs <= settings.suspectAfterMs) {
    const message = `${settings.deadAfterMs}, allowed > suspectAfterMs ${settings.suspectAfterMs}`;
    throw invalid("deadAfterMs", message);
  }
  const factor = settings.defaultReplicationFactor;
  if (!(Number.isSafeInteger(factor) && factor > 0)) {
    throw invalid("defaultReplicationFactor", `${factor}, allowed an integer ≥ 1`);
  }
  for (const address of join) {
    if (!/^[^\s:/]+:[0-9]{1,5}$/.test(address)) {
      throw invalid("join", `"${address}", allowed host:port`);
    }
  }
  return settings;
}
