// What the cluster view shows, derived from the NodeService.Status answers of
// every node (and their failures) and, where the nodes serve it, from the
// cluster manager's table (ClusterService: node states, partitions'
// replicas and state machine types). Pure: no DOM, no clock — `nowMs` comes in.
import type { StatusResponse } from "../gen/raftkit/v1/node_pb.js";
import type { GroupRole } from "../gen/raftkit/v1/node_pb.js";
import type { ManagerTable, NodeState } from "./manager-table.js";
import { buildPartitions, mergeManagerPartitions } from "./partition-rows.js";

/**
 * The page's own reading of its Status polls. alive: its last Status call
 * answered. suspect: calls fail, but it answered within `deadAfterMs`. dead:
 * no answer for `deadAfterMs` (or never). Shown when the cluster manager's
 * table is not available; always used to drop a silent node's stale reports.
 */
export type NodeHealth = "alive" | "suspect" | "dead";

/** One node's latest poll outcome. */
export interface NodeObservation {
  readonly nodeId: number;
  readonly address: string;
  /** The last successful answer (kept while the node fails, for its last known state). */
  readonly status: StatusResponse | undefined;
  readonly lastAnswerAtMs: number | undefined;
  /** Set while the latest call failed: the error as the client saw it. */
  readonly error: string | undefined;
}

export interface NodeRow {
  readonly nodeId: number;
  readonly address: string;
  /** What the page shows: the meta group's state when its table is used, else `health`. */
  readonly state: NodeState;
  /** The page's own reading of its polls. */
  readonly health: NodeHealth;
  /** Partitions with a replica here: from the manager's table, else the groups it reports. */
  readonly partitionCount: number;
  readonly leaderCount: number;
  readonly quiescedCount: number;
  readonly rssBytes: number;
  readonly uptimeMs: number;
  readonly error: string | undefined;
}

export interface ReplicaRow {
  readonly nodeId: number;
  readonly state: NodeState;
  /** A replica being added, not voting yet (from the manager's table). */
  readonly learner: boolean;
  /** Undefined when the node did not report the group (down, or not started there). */
  readonly role: GroupRole | undefined;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  /** Committed entries it has yet to apply: the leader's commit − its applied (0: no leader). */
  readonly lag: number;
}

export interface PartitionRow {
  readonly groupId: number;
  /** From the manager's table; undefined without it (or for a group it does not list). */
  readonly stateMachineType: string | undefined;
  /** 0: no leader known among the nodes that answered. */
  readonly leaderNodeId: number;
  readonly term: number;
  readonly commitIndex: number;
  readonly replicas: readonly ReplicaRow[];
}

/** Where the node states come from. */
export type StateSource =
  | { readonly kind: "manager"; readonly viaNodeId: number }
  | { readonly kind: "polls" };

export interface ClusterModel {
  readonly source: StateSource;
  readonly nodes: readonly NodeRow[];
  readonly partitions: readonly PartitionRow[];
}

export function healthOf(
  observation: NodeObservation,
  nowMs: number,
  deadAfterMs: number,
): NodeHealth {
  if (observation.error === undefined && observation.status !== undefined) return "alive";
  if (observation.lastAnswerAtMs === undefined) return "dead";
  return nowMs - observation.lastAnswerAtMs < deadAfterMs ? "suspect" : "dead";
}

export function buildClusterModel(
  observations: readonly NodeObservation[],
  nowMs: number,
  deadAfterMs: number,
  table: ManagerTable | undefined = undefined,
): ClusterModel {
  const health = new Map(
    observations.map((observation) => [
      observation.nodeId,
      healthOf(observation, nowMs, deadAfterMs),
    ]),
  );
  const managed = new Map(table?.nodes.map((node) => [node.nodeId, node]) ?? []);
  const stateOf = (nodeId: number): NodeState =>
    managed.get(nodeId)?.state ?? health.get(nodeId) ?? "unknown";
  // A silent node's last known groups are history, not state: they do not vote here.
  const reporting = observations.filter((observation) => health.get(observation.nodeId) !== "dead");
  const fromStatus = buildPartitions(reporting, stateOf);
  const partitions =
    table === undefined ? fromStatus : mergeManagerPartitions(fromStatus, table, stateOf);
  const leaderCount = countBy(partitions.map((partition) => partition.leaderNodeId));
  const replicaCount = countBy(
    partitions.flatMap((partition) => partition.replicas.map((replica) => replica.nodeId)),
  );
  const observed = new Map(observations.map((observation) => [observation.nodeId, observation]));
  const nodeIds = [...new Set([...observed.keys(), ...managed.keys()])].sort((a, b) => a - b);
  const nodes = nodeIds.map((nodeId): NodeRow => {
    const observation = observed.get(nodeId);
    const node = observation?.status?.node;
    const nodeHealth = health.get(nodeId) ?? "dead";
    return {
      nodeId,
      address: managed.get(nodeId)?.address || (observation?.address ?? ""),
      state: stateOf(nodeId),
      health: nodeHealth,
      partitionCount:
        table === undefined ? (node?.groupCount ?? 0) : (replicaCount.get(nodeId) ?? 0),
      leaderCount: leaderCount.get(nodeId) ?? 0,
      quiescedCount: node?.quiescedGroupCount ?? 0,
      rssBytes: Number(node?.rssBytes ?? 0n),
      uptimeMs: Number(node?.uptimeMs ?? 0n),
      error: observation === undefined ? "not among this node's peers" : observation.error,
    };
  });
  const source: StateSource =
    table === undefined ? { kind: "polls" } : { kind: "manager", viaNodeId: table.viaNodeId };
  return { source, nodes, partitions };
}

function countBy(ids: readonly number[]): ReadonlyMap<number, number> {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}
