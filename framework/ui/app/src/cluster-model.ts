// What the cluster view shows, derived from the NodeService.Status answers of
// every node (and their failures). Pure: no DOM, no clock — `nowMs` comes in.
import type { StatusResponse } from "../gen/raftkit/v1/node_pb.js";
import { GroupRole } from "../gen/raftkit/v1/node_pb.js";

/**
 * alive: its last Status call answered. suspect: calls fail, but it answered
 * within `deadAfterMs`. dead: no answer for `deadAfterMs` (or never).
 * (The cluster manager's failure detector will replace this guess.)
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
  readonly health: NodeHealth;
  readonly groupCount: number;
  readonly leaderCount: number;
  readonly quiescedCount: number;
  readonly rssBytes: number;
  readonly uptimeMs: number;
  readonly error: string | undefined;
}

export interface ReplicaRow {
  readonly nodeId: number;
  readonly health: NodeHealth;
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
  /** 0: no leader known among the nodes that answered. */
  readonly leaderNodeId: number;
  readonly term: number;
  readonly commitIndex: number;
  readonly replicas: readonly ReplicaRow[];
}

export interface ClusterModel {
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
): ClusterModel {
  const health = new Map(
    observations.map((observation) => [
      observation.nodeId,
      healthOf(observation, nowMs, deadAfterMs),
    ]),
  );
  // A dead node's last known groups are history, not state: they do not vote here.
  const reporting = observations.filter((observation) => health.get(observation.nodeId) !== "dead");
  const partitions = buildPartitions(reporting, health);
  const leaderCount = new Map<number, number>();
  for (const partition of partitions) {
    leaderCount.set(partition.leaderNodeId, (leaderCount.get(partition.leaderNodeId) ?? 0) + 1);
  }
  const nodes = observations.map((observation): NodeRow => {
    const node = observation.status?.node;
    return {
      nodeId: observation.nodeId,
      address: observation.address,
      health: health.get(observation.nodeId) ?? "dead",
      groupCount: node?.groupCount ?? 0,
      leaderCount: leaderCount.get(observation.nodeId) ?? 0,
      quiescedCount: node?.quiescedGroupCount ?? 0,
      rssBytes: Number(node?.rssBytes ?? 0n),
      uptimeMs: Number(node?.uptimeMs ?? 0n),
      error: observation.error,
    };
  });
  return { nodes, partitions };
}

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

function buildPartitions(
  reporting: readonly NodeObservation[],
  health: ReadonlyMap<number, NodeHealth>,
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
    .map(([groupId, reports]) => buildPartition(groupId, reports, health));
}

function buildPartition(
  groupId: number,
  reports: readonly Report[],
  health: ReadonlyMap<number, NodeHealth>,
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
      health: health.get(nodeId) ?? "dead",
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
  return { groupId, leaderNodeId, term, commitIndex, replicas };
}
