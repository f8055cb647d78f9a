// The cluster manager's view of the cluster (raftkit.v1.ClusterService:
// ListNodes and ListPartitions, answered from the meta group), as plain data
// for the cluster model. Pure: no DOM, no clock.
import type { ClusterNode, ClusterPartition } from "../gen/raftkit/v1/cluster_pb.js";
import { ClusterNodeState } from "../gen/raftkit/v1/cluster_pb.js";

/**
 * A node's state as the page shows it. From the meta group: its failure
 * detector's verdict (alive / suspect / dead) or an operator's step
 * (draining / removed). Without the meta group: the page's own reading of
 * its Status polls (alive / suspect / dead only).
 */
export type NodeState = "alive" | "suspect" | "dead" | "draining" | "removed" | "unknown";

export interface ManagerNode {
  readonly nodeId: number;
  readonly address: string;
  readonly state: NodeState;
}

export interface ManagerPartition {
  readonly partitionId: number;
  readonly stateMachineType: string;
  /** Voters, ascending. */
  readonly replicas: readonly number[];
  /** Replicas being added (not voting yet), ascending. */
  readonly learners: readonly number[];
  /** 0: unknown. */
  readonly leaderHint: number;
  readonly epoch: number;
}

/** One answer of ListNodes and ListPartitions, both from the node `viaNodeId`. */
export interface ManagerTable {
  readonly viaNodeId: number;
  readonly nodes: readonly ManagerNode[];
  readonly partitions: readonly ManagerPartition[];
}

const stateNames: ReadonlyMap<ClusterNodeState, NodeState> = new Map([
  [ClusterNodeState.ALIVE, "alive"],
  [ClusterNodeState.SUSPECT, "suspect"],
  [ClusterNodeState.DEAD, "dead"],
  [ClusterNodeState.DRAINING, "draining"],
  [ClusterNodeState.REMOVED, "removed"],
  [ClusterNodeState.UNSPECIFIED, "unknown"],
]);

export function nodeStateOf(state: ClusterNodeState): NodeState {
  // A state added to the proto after this page was built is shown as unknown, not guessed.
  return stateNames.get(state) ?? "unknown";
}

export function managerTableOf(
  viaNodeId: number,
  nodes: readonly ClusterNode[],
  partitions: readonly ClusterPartition[],
): ManagerTable {
  return {
    viaNodeId,
    nodes: nodes
      .map((node) => ({
        nodeId: Number(node.nodeId),
        address: node.address,
        state: nodeStateOf(node.state),
      }))
      .sort((a, b) => a.nodeId - b.nodeId),
    partitions: partitions
      .map((partition) => ({
        partitionId: Number(partition.partitionId),
        stateMachineType: partition.stateMachineType,
        replicas: partition.replicas.map(Number).sort((a, b) => a - b),
        learners: partition.learners.map(Number).sort((a, b) => a - b),
        leaderHint: Number(partition.leaderHint),
        epoch: Number(partition.epoch),
      }))
      .sort((a, b) => a.partitionId - b.partitionId),
  };
}

export interface ManagerReading {
  /** The last answer, kept while later rounds fail (the model decides how long it counts). */
  readonly table: ManagerTable | undefined;
  readonly answeredAtMs: number | undefined;
  /** Set while the latest round failed: each node's error as the client saw it. */
  readonly error: string | undefined;
  /** The page's node answered `unimplemented`: the nodes do not serve ClusterService. */
  readonly notServed: boolean;
}

/**
 * The table the view uses now: the last answer while rounds succeed, and
 * for `staleAfterMs` after they start failing (a meta group electing a new
 * leader); after that the page falls back to its own polls.
 */
export function tableInUse(
  reading: ManagerReading | undefined,
  nowMs: number,
  staleAfterMs: number,
): ManagerTable | undefined {
  if (reading?.table === undefined || reading.answeredAtMs === undefined) return undefined;
  if (reading.error === undefined) return reading.table;
  return nowMs - reading.answeredAtMs < staleAfterMs ? reading.table : undefined;
}

/** Says which source the node states come from, and why the page fell back when it did. */
export function stateSourceText(
  reading: ManagerReading | undefined,
  used: ManagerTable | undefined,
): string {
  if (used !== undefined) {
    const stale =
      reading?.error === undefined ? "" : ` (its last answer; now failing: ${reading.error})`;
    const via = `ClusterService on n${used.viaNodeId}`;
    return `node states: the cluster manager's meta group, ${via}${stale}`;
  }
  const polls = "node states: this page's own Status polls";
  if (reading === undefined) return `${polls} (asking the cluster manager…)`;
  if (reading.notServed)
    return `${polls} — the nodes do not serve the cluster manager's API (${reading.error ?? ""})`;
  return `${polls} — the cluster manager's API failed: ${reading.error ?? "no answer yet"}`;
}
