import type { NodeId, RaftStatus } from "../../framework/raft/index.js";
import { Role } from "../../framework/raft/index.js";

/**
 * Recognizes the one liveness stall this simulator knows to be a limitation
 * of apply-time membership changes (as in etcd's raft; see etcd-io/etcd#12359),
 * not a bug: a voter was demoted to learner by a joint change; it has applied
 * the final configuration (so it will not campaign), while others still sit in
 * the joint one and need its vote; it refuses, because its log is longer than
 * theirs. Nobody can win, and no leader exists to tell the others that the
 * final configuration is committed.
 *
 * The match is strict, so nothing else is excused: no leader at all, and the
 * node with the longest log is a non-voter in its own view but a voter in the
 * configuration of some other running node.
 */
export function isDemotedVoterStall(statuses: ReadonlyMap<NodeId, RaftStatus>): boolean {
  const all = [...statuses.values()];
  if (all.some((status) => status.role === Role.Leader)) return false;
  const votesIn = (status: RaftStatus, id: NodeId): boolean =>
    status.confState.voters.includes(id) || status.confState.votersOutgoing.includes(id);
  for (const candidate of all) {
    if (votesIn(candidate, candidate.id)) continue;
    const neededByOthers = all.some(
      (other) => other.id !== candidate.id && votesIn(other, candidate.id),
    );
    if (!neededByOthers) continue;
    const selfVoters = all.filter((other) => votesIn(other, other.id));
    if (selfVoters.length > 0 && selfVoters.every((other) => other.lastIndex < candidate.lastIndex))
      return true;
  }
  return false;
}
