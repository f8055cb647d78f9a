import type { NodeId } from "./types.js";

/** Outcome of counting votes (or acks, or recent activity) against a configuration. */
export enum VoteResult {
  Pending = "pending",
  Lost = "lost",
  Won = "won",
}

export type IndexLookup = (id: NodeId) => number | undefined;

/**
 * The highest index that a majority of `voters` has (Raft §5.3): sort their
 * match indexes descending and take the one at position ⌊n/2⌋. An empty set
 * answers +∞ so that, as the outgoing half of a non-joint config, it never
 * holds a commit back.
 */
export function majorityCommittedIndex(voters: ReadonlySet<NodeId>, matchOf: IndexLookup): number {
  const n = voters.size;
  if (n === 0) return Number.POSITIVE_INFINITY;
  const matches: number[] = [];
  for (const id of voters) matches.push(matchOf(id) ?? 0);
  matches.sort((a, b) => b - a);
  return matches[n >> 1]!;
}

/** Majority vote: won with more than half granted, lost once that is impossible. */
export function majorityVoteResult(
  voters: ReadonlySet<NodeId>,
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  if (voters.size === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const quorum = (voters.size >> 1) + 1;
  if (granted >= quorum) return VoteResult.Won;
  if (granted + missing >= quorum) return VoteResult.Pending;
  return VoteResult.Lost;
}

/** Joint consensus (Raft thesis §4.3): a decision needs a majority of both halves. */
export function jointCommittedIndex(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  matchOf: IndexLookup,
): number {
  return Math.min(
    majorityCommittedIndex(incoming, matchOf),
    majorityCommittedIndex(outgoing, matchOf),
  );
}

export function jointVoteResult(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const first = majorityVoteResult(incoming, votes);
  const second = majorityVoteResult(outgoing, votes);
  if (first === second) return first;
  if (first === VoteResult.Lost || second === VoteResult.Lost) return VoteResult.Lost;
  return VoteResult.Pending;
}
