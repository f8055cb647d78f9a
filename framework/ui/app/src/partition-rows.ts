// The partitions' rows of the cluster view: from the Status reports of the
// nodes that answer (leader, term, indexes per replica), joined with the
// cluster manager's table where there is one (replicas, learners, state
// machine type). Pure.
import { GroupRole } from "../gen/raftkit/v1/node_pb.js";
import type { NodeObservation, PartitionRow, ReplicaRow } from "./cluster-model.js";
import type { ManagerPartition, ManagerTable, NodeState } from "./manager-table.js";

interface Report {
  readonly nodeId: number;
  readonly role: GroupRole;
  readonly leaderNodeId: number;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly voters: readonly number[];
}

/** Partitions as the reporting nodes' Status answers describe them, by group id. */
export function buildPartitions(
  reporting: readonly NodeObservation[],
  stateOf: (nodeId: number) => NodeState,
): PartitionRow[] {
  const reportsByGroup = new Map<number, Report[]>();
  for (const observation of reporting) {
    for (const group of observation.status?.groups ?? []) {
      const groupId = Number(group.groupId);
      const reports = reportsByGroup.get(groupId) ?? [];
      reports.push({
        nodeId: observation.nodeId,
        role: group.role,
        leaderNodeId: Number(group.leaderNodeId),
        term: Number(group.term),
        commitIndex: Number(group.commitIndex),
        appliedIndex: Number(group.appliedIndex),
        lastIndex: Number(group.lastIndex),
        snapshotIndex: Number(group.snapshotIndex),
        voters: group.voters.map(Number),
      });
      reportsByGroup.set(groupId, reports);
    }
  }
  return [...reportsByGroup]
    .sort(([a], [b]) => a - b)
    .map(([groupId, reports]) => buildPartition(groupId, reports, stateOf));
}

function buildPartition(
  groupId: number,
  reports: readonly Report[],
  stateOf: (nodeId: number) => NodeState,
): PartitionRow {
  const term = Math.max(...reports.map((report) => report.term));
  // Election safety (Raft §5.2): at most one leader per term, so the highest term's leader is it.
  const leader = reports.find((report) => report.role === GroupRole.LEADER && report.term === term);
  const newest = reports.find((report) => report.term === term);
  const leaderNodeId = leader?.nodeId ?? newest?.leaderNodeId ?? 0;
  const commitIndex =
    leader?.commitIndex ?? Math.max(...reports.map((report) => report.commitIndex));
  const voters = (leader ?? newest ?? reports[0])?.voters ?? [];
  const members = [...new Set([...voters, ...reports.map((report) => report.nodeId)])].sort(
    (a, b) => a - b,
  );
  const replicas = members.map((nodeId): ReplicaRow => {
    const report = reports.find((candidate) => candidate.nodeId === nodeId);
    return {
      nodeId,
      state: stateOf(nodeId),
      learner: false,
      role: report?.role,
      appliedIndex: report?.appliedIndex ?? 0,
      lastIndex: report?.lastIndex ?? 0,
      snapshotIndex: report?.snapshotIndex ?? 0,
      lag:
        report === undefined || leader === undefined
          ? 0
          : Math.max(0, leader.commitIndex - report.appliedIndex),
    };
  });
  return { groupId, stateMachineType: undefined, leaderNodeId, term, commitIndex, replicas };
}

/**
 * The manager's partitions with what the reports say of them. Membership is
 * the table's (voters and learners): a node that still reports a group it
 * was removed from is not a replica. Groups the table does not list (the
 * meta group itself, static groups) keep their reported rows.
 */
export function mergeManagerPartitions(
  fromStatus: readonly PartitionRow[],
  table: ManagerTable,
  stateOf: (nodeId: number) => NodeState,
): PartitionRow[] {
  const reported = new Map(fromStatus.map((row) => [row.groupId, row]));
  const listed = new Set(table.partitions.map((partition) => partition.partitionId));
  const merged = table.partitions.map((partition) =>
    mergePartition(partition, reported.get(partition.partitionId), stateOf),
  );
  const unlisted = fromStatus.filter((row) => !listed.has(row.groupId));
  return [...merged, ...unlisted].sort((a, b) => a.groupId - b.groupId);
}

function mergePartition(
  partition: ManagerPartition,
  row: PartitionRow | undefined,
  stateOf: (nodeId: number) => NodeState,
): PartitionRow {
  const learners = new Set(partition.learners);
  const members = [...new Set([...partition.replicas, ...partition.learners])].sort(
    (a, b) => a - b,
  );
  const replicas = members.map((nodeId): ReplicaRow => {
    const reported = row?.replicas.find((replica) => replica.nodeId === nodeId);
    return {
      nodeId,
      state: stateOf(nodeId),
      learner: learners.has(nodeId),
      role: reported?.role,
      appliedIndex: reported?.appliedIndex ?? 0,
      lastIndex: reported?.lastIndex ?? 0,
      snapshotIndex: reported?.snapshotIndex ?? 0,
      lag: reported?.lag ?? 0,
    };
  });
  // Without any report, the table's hint counts only while that node is alive.
  const hinted = stateOf(partition.leaderHint) === "alive" ? partition.leaderHint : 0;
  return {
    groupId: partition.partitionId,
    stateMachineType: partition.stateMachineType,
    leaderNodeId: row === undefined ? hinted : row.leaderNodeId,
    term: row?.term ?? 0,
    commitIndex: row?.commitIndex ?? 0,
    replicas,
  };
}
