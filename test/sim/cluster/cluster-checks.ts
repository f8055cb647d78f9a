/**
 * What the cluster simulation requires once faults stop (issue #9): every
 * partition back at its replication factor on running nodes, none on the
 * node removed for good, no learner and no configuration change left, the
 * meta table's replicas equal to each group's real voters, no replica
 * outside its group's configuration, and no node leading more than twice
 * its share. Returns what is not so yet (empty: converged).
 */
import type { MetaPartition } from "../../../framework/cluster/index.js";
import { metaGroupId } from "../../../framework/cluster/index.js";
import type { NodeId } from "../../../framework/raft/index.js";
import type { ClusterWorld } from "./cluster-world.js";

export interface ConvergenceTarget {
  readonly world: ClusterWorld;
  readonly nodeIds: readonly NodeId[];
  /** The node removed for good (crashed, never restarted). */
  readonly gone: NodeId;
  /** A node the operator drains after the faults: it must end with no replica and no leadership. */
  readonly drained: NodeId | undefined;
  readonly partitionIds: readonly number[];
  readonly replicationFactor: number;
}

const same = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((id, index) => id === b[index]);

function partitionProblems(
  target: ConvergenceTarget,
  recorded: MetaPartition | undefined,
  partitionId: number,
  leads: Map<NodeId, number>,
): string[] {
  const { world } = target;
  const leader = world.leader(partitionId);
  if (leader === undefined) return [`p${partitionId}: no leader`];
  leads.set(leader.nodeId, (leads.get(leader.nodeId) ?? 0) + 1);
  const status = leader.host.status(partitionId);
  const voters = [...status.confState.voters].sort((a, b) => a - b);
  const problems: string[] = [];
  const where = `p${partitionId} (voters ${voters.join(",")}, leader ${leader.nodeId})`;
  if (voters.length !== target.replicationFactor) problems.push(`${where}: ${voters.length} voters`);
  if (status.confState.learners.length > 0) problems.push(`${where}: learners ${status.confState.learners.join(",")}`);
  if (status.confState.votersOutgoing.length > 0 || status.confChangePending) {
    problems.push(`${where}: a configuration change under way`);
  }
  const down = voters.filter((id) => !world.isUp(id));
  if (down.length > 0) problems.push(`${where}: voters not running: ${down.join(",")}`);
  const missing = voters.filter((id) => world.isUp(id) && world.host(id)?.groupIds().includes(partitionId) !== true);
  if (missing.length > 0) problems.push(`${where}: voters hosting no replica: ${missing.join(",")}`);
  const following = (id: NodeId): boolean => {
    const host = world.host(id);
    if (host?.groupIds().includes(partitionId) !== true) return false;
    const follower = host.status(partitionId);
    return follower.leader === leader.nodeId && follower.term === status.term;
  };
  const astray = voters.filter((id) => world.isUp(id) && !following(id));
  if (astray.length > 0) problems.push(`${where}: voters not following the leader: ${astray.join(",")}`);
  if (voters.includes(target.gone)) problems.push(`${where}: a replica on removed node ${target.gone}`);
  if (target.drained !== undefined && voters.includes(target.drained)) {
    problems.push(`${where}: a replica on drained node ${target.drained}`);
  }
  if (recorded === undefined) problems.push(`${where}: not in the meta table`);
  else if (!same([...recorded.replicas].sort((a, b) => a - b), voters)) {
    problems.push(`${where}: the meta table records [${recorded.replicas.join(",")}]`);
  }
  return problems;
}

export function convergenceProblems(target: ConvergenceTarget): string[] {
  const { world } = target;
  const metaLeader = world.metaLeader();
  if (metaLeader === undefined) return ["no meta leader"];
  const table = metaLeader.meta.table;
  const problems: string[] = [];
  const goneState = table.nodes().find((node) => node.nodeId === target.gone)?.state;
  if (goneState !== "dead") problems.push(`removed node ${target.gone} is ${goneState ?? "unknown"} in the meta table`);
  const recorded = new Map(table.partitions().map((partition) => [partition.partitionId, partition]));
  const leads = new Map<NodeId, number>();
  for (const partitionId of target.partitionIds) {
    problems.push(...partitionProblems(target, recorded.get(partitionId), partitionId, leads));
  }
  const configured = new Map<number, readonly number[]>();
  for (const partitionId of target.partitionIds) {
    const leader = world.leader(partitionId);
    if (leader !== undefined) configured.set(partitionId, [...leader.host.status(partitionId).confState.voters]);
  }
  const live = target.nodeIds.filter((id) => world.isUp(id));
  if (target.drained !== undefined) {
    const drainedState = table.nodes().find((node) => node.nodeId === target.drained)?.state;
    if (drainedState !== "draining") problems.push(`n${target.drained} is ${drainedState ?? "unknown"}, not draining`);
  }
  for (const nodeId of live) {
    const hosted = world.host(nodeId)?.groupIds().filter((id) => id !== metaGroupId) ?? [];
    const outside = hosted.filter((id) => configured.get(id)?.includes(nodeId) === false);
    if (outside.length > 0) problems.push(`n${nodeId} still hosts ${outside.join(",")} outside their groups`);
  }
  const leading = live.filter((id) => id !== target.drained);
  const share = Math.ceil(target.partitionIds.length / leading.length);
  if (target.drained !== undefined && leads.has(target.drained)) {
    problems.push(`drained n${target.drained} leads ${leads.get(target.drained)} partitions`);
  }
  for (const [nodeId, count] of leads) {
    if (count > 2 * share) problems.push(`n${nodeId} leads ${count} partitions, share ${share}`);
  }
  return problems;
}
