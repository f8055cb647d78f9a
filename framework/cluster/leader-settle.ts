/**
 * When the controller spreads leaders (issue #9). A leadership transfer
 * drops the group's proposals while it runs (raft refuses proposals with a
 * transfer under way), so leaders are spread only once the cluster has
 * settled: `settleMs` after the controller started (a new meta leader, the
 * boot of a cluster: every group just elected its leader), after any node
 * changed state or joined, and after any membership step or move under way.
 * Transfers that repairs need (a leader to be removed, a draining node's
 * leaderships) are not held back.
 *
 * A transfer the controller asked for is under way until the group's
 * leader changes or `transferTimeoutMs` passes (raft abandons a transfer
 * not done within an election timeout): the group is planned nothing
 * meanwhile — neither the same transfer again nor a membership step, which
 * raft would drop. Time is passed in.
 */
import { assert } from "../raft/index.js";
import type { NodeInfo } from "./cluster-manager.js";
import type { GroupObservation, RebalanceAction } from "./rebalance-types.js";

export interface LeaderSettleConfig {
  /** Quiet time before leaders are spread (ms). */
  readonly settleMs: number;
  /** A transfer counts as under way this long unless the leader changes (ms). */
  readonly transferTimeoutMs: number;
}

export interface LeaderSettle {
  /** This node became the meta leader: the quiet time starts now. */
  onLeadershipStart(nowMs: number): void;
  /**
   * This round's view: node registry and observations. Returns whether
   * leaders may be spread and the groups with a transfer under way.
   */
  observe(
    nodes: readonly NodeInfo[],
    observations: readonly GroupObservation[],
    nowMs: number,
  ): { readonly spreadLeaders: boolean; readonly transferring: ReadonlyMap<number, number> };
  /** An action the controller carried out at `nowMs`. */
  onExecuted(action: RebalanceAction, nowMs: number): void;
}

export function checkLeaderSettleConfig(config: LeaderSettleConfig): void {
  const { settleMs, transferTimeoutMs } = config;
  assert(Number.isSafeInteger(settleMs), `leader settleMs = ${settleMs}, allowed an integer`);
  assert(settleMs >= 0, `leader settleMs = ${settleMs}, allowed ≥ 0`);
  const transferText = `transferTimeoutMs = ${transferTimeoutMs}`;
  assert(Number.isSafeInteger(transferTimeoutMs), `${transferText}, allowed an integer`);
  assert(transferTimeoutMs > 0, `${transferText}, allowed > 0`);
}

/** The node registry as far as settling goes: who exists and in which state. */
function registryOf(nodes: readonly NodeInfo[]): string {
  return [...nodes]
    .sort((a, b) => a.nodeId - b.nodeId)
    .map((node) => `${node.nodeId}:${node.state}`)
    .join(",");
}

/** A transfer the controller asked for: from and to which node, and when. */
interface Transfer {
  readonly from: number;
  readonly to: number;
  readonly atMs: number;
}

export function createLeaderSettle(config: LeaderSettleConfig): LeaderSettle {
  checkLeaderSettleConfig(config);
  let quietSinceMs = Number.NEGATIVE_INFINITY;
  let registry: string | undefined;
  const transfers = new Map<number, Transfer>();
  return {
    onLeadershipStart(nowMs) {
      quietSinceMs = nowMs;
      registry = undefined;
      transfers.clear();
    },
    observe(nodes, observations, nowMs) {
      const current = registryOf(nodes);
      if (registry !== undefined && registry !== current) quietSinceMs = nowMs;
      registry = current;
      const moving = observations.some((group) =>
        group.changing || group.learners.length > 0 ||
        group.voters.length > group.replicationFactor);
      if (moving) quietSinceMs = nowMs;
      const leaders = new Map(observations.map((group) => [group.partitionId, group.leader]));
      for (const [partitionId, transfer] of transfers) {
        const leader = leaders.get(partitionId);
        const moved = leader !== undefined && leader !== transfer.from;
        const expired = nowMs - transfer.atMs >= config.transferTimeoutMs;
        if (moved || expired) transfers.delete(partitionId);
      }
      const spreadLeaders = nowMs - quietSinceMs >= config.settleMs;
      const transferring = new Map(
        [...transfers].map(([partitionId, { to }]) => [partitionId, to]),
      );
      return { spreadLeaders, transferring };
    },
    onExecuted(action, nowMs) {
      if (action.kind === "transfer_leadership") {
        transfers.set(action.partitionId, { from: action.from, to: action.to, atMs: nowMs });
        return;
      }
      quietSinceMs = nowMs;
    },
  };
}
