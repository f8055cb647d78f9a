/**
 * Evening out once nothing needs repair (issue #9: "load is moved back
 * gradually, rate-limited"): one replica from the most loaded usable node to
 * the least loaded, as an add_learner whose later shrink step removes the
 * most loaded voter; and leadership transfers from nodes above their share.
 */
import type { NodeInfo, NodeState } from "./cluster-manager.js";
import { isUnusable } from "./membership-safety.js";
import type { NodeLoad } from "./placement.js";
import { capacityOf, compareByLoad, zoneOf } from "./placement.js";
import type { GroupObservation, RebalanceAction, RebalanceLimits } from "./rebalance-types.js";

export interface BalanceContext {
  readonly nodes: readonly NodeInfo[];
  readonly states: ReadonlyMap<number, NodeState>;
  readonly loads: ReadonlyMap<number, NodeLoad>;
  readonly limits: RebalanceLimits;
}

function replicasPerCapacity(node: NodeInfo, loads: ReadonlyMap<number, NodeLoad>): number {
  return (loads.get(node.nodeId)?.replicas ?? 0) / capacityOf(node);
}

/** A group on `from`, not on `to`, that `to` may join without sharing a zone. */
function movableGroup(
  groups: readonly GroupObservation[],
  from: NodeInfo,
  to: NodeInfo,
  nodes: ReadonlyMap<number, NodeInfo>,
): GroupObservation | undefined {
  return groups.find((group) => {
    if (group.changing || group.learners.length > 0) return false;
    if (group.barredNodes?.has(to.nodeId) === true) return false;
    if (!group.voters.includes(from.nodeId) || group.voters.includes(to.nodeId)) return false;
    const zones = group.voters
      .filter((id) => id !== from.nodeId)
      .map((id) => nodes.get(id))
      .filter((node): node is NodeInfo => node !== undefined)
      .map(zoneOf);
    return !zones.includes(zoneOf(to));
  });
}

/**
 * Up to `count` replica moves, each from the most loaded alive node to the
 * least loaded (loads counted as if the earlier moves were done), never two
 * in one group, never one in a group of `skip`.
 */
export function planReplicaMoves(
  groups: readonly GroupObservation[],
  context: BalanceContext,
  count: number,
  skip: ReadonlySet<number>,
): RebalanceAction[] {
  const loads = new Map(context.loads);
  const busy = new Set(skip);
  const byId = new Map(context.nodes.map((node) => [node.nodeId, node]));
  const alive = context.nodes.filter((node) => node.state === "alive");
  const shift = (nodeId: number, delta: number): void => {
    const load = loads.get(nodeId) ?? { replicas: 0, leaders: 0 };
    loads.set(nodeId, { ...load, replicas: load.replicas + delta });
  };
  const actions: RebalanceAction[] = [];
  while (actions.length < count) {
    const sorted = [...alive].sort((a, b) => compareByLoad(a, b, loads));
    const least = sorted[0];
    const most = sorted[sorted.length - 1];
    if (least === undefined || most === undefined || least.nodeId === most.nodeId) break;
    const gap = replicasPerCapacity(most, loads) - replicasPerCapacity(least, loads);
    if (gap <= context.limits.replicaSlack) break;
    const free = groups.filter((group) => !busy.has(group.partitionId));
    const group = movableGroup(free, most, least, byId);
    if (group === undefined) break;
    busy.add(group.partitionId);
    shift(most.nodeId, -1);
    shift(least.nodeId, +1);
    const reason = `evens load: node ${most.nodeId} → node ${least.nodeId}`;
    const { partitionId } = group;
    actions.push({ kind: "add_learner", partitionId, nodeId: least.nodeId, reason });
  }
  return actions;
}

/** Leaders per node from the groups' reports. */
function leadersPerNode(groups: readonly GroupObservation[]): Map<number, number> {
  const leaders = new Map<number, number>();
  for (const group of groups) leaders.set(group.leader, (leaders.get(group.leader) ?? 0) + 1);
  return leaders;
}

/**
 * Transfers from nodes leading more than their share (ceil of groups per
 * usable node, plus slack) — or from an unusable (draining) node at all —
 * to a live voter of the same group below its share; while `spread` is
 * false (the cluster is settling) only the unusable node's. Groups in `skip`
 * (already acted on this round) are counted but not moved.
 */
export function planLeaderTransfers(
  groups: readonly GroupObservation[],
  context: BalanceContext,
  budget: number,
  skip: ReadonlySet<number>,
  /** False: only leaderships on unusable (draining) nodes move. */
  spread = true,
): RebalanceAction[] {
  const usable = context.nodes.filter((node) => !isUnusable(node.state));
  if (usable.length === 0 || budget <= 0) return [];
  const leaders = leadersPerNode(groups);
  const share = Math.ceil(groups.length / usable.length);
  const count = (nodeId: number): number => leaders.get(nodeId) ?? 0;
  const actions: RebalanceAction[] = [];
  for (const group of groups) {
    if (actions.length >= budget) break;
    if (group.changing || skip.has(group.partitionId)) continue;
    const from = group.leader;
    const leaving = isUnusable(context.states.get(from));
    if (!leaving && (!spread || count(from) <= share + context.limits.leaderSlack)) continue;
    const to = group.voters
      .filter((id) => id !== from && context.states.get(id) === "alive")
      .sort((a, b) => count(a) - count(b) || a - b)[0];
    if (to === undefined || (!leaving && count(to) + 1 > share)) continue;
    leaders.set(from, count(from) - 1);
    leaders.set(to, count(to) + 1);
    const reason = leaving
      ? `leader's node is ${context.states.get(from)}`
      : `spreads leaders (share ${share})`;
    actions.push({ kind: "transfer_leadership", partitionId: group.partitionId, from, to, reason });
  }
  return actions;
}
