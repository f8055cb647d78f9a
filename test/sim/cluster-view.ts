import type { NodeId, RaftStatus } from "../../framework/raft/index.js";
import { membersOf } from "./membership.js";
import type { SimNode } from "./sim-node.js";

/** Read-only questions about the whole simulated cluster. */

/** The running leader with the highest term, if any; with `now`, paused nodes do not count. */
export function currentLeader(nodes: readonly SimNode[], now = 0): SimNode | undefined {
  let best: SimNode | undefined;
  for (const node of nodes) {
    if (node.raft === undefined || node.leaderTerm === 0 || node.pausedUntil > now) continue;
    if (best === undefined || node.leaderTerm > best.leaderTerm) best = node;
  }
  return best;
}

/**
 * A leader leads, has applied all it committed, and every member of its
 * configuration applied as much.
 */
export function clusterConverged(nodes: readonly SimNode[]): boolean {
  const leader = currentLeader(nodes);
  if (leader?.raft === undefined || leader.machine === undefined) return false;
  const status = leader.raft.status();
  if (status.commit !== leader.machine.applied) return false;
  const byId = new Map(nodes.map((node) => [node.id, node]));
  return membersOf(status.confState).every(
    (id) => byId.get(id)?.machine?.applied === status.commit,
  );
}

export function runningStatuses(nodes: readonly SimNode[]): Map<NodeId, RaftStatus> {
  const statuses = new Map<NodeId, RaftStatus>();
  for (const node of nodes) if (node.raft !== undefined) statuses.set(node.id, node.raft.status());
  return statuses;
}

/** One line per node: role, term, log, commit, applied and configuration, for failure reports. */
export function describeNodes(nodes: readonly SimNode[]): string {
  return nodes
    .map((node) => {
      const status = node.raft?.status();
      if (status === undefined) return `${node.id}: down`;
      const config = status.confState;
      return (
        `${node.id}: ${status.role} t${status.term} last ${status.lastIndex} ` +
        `commit ${status.commit} applied ${node.machine?.applied} voters [${config.voters}] ` +
        `outgoing [${config.votersOutgoing}] ` +
        `learners [${config.learners}] next [${config.learnersNext}]`
      );
    })
    .join("; ");
}
