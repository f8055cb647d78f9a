/**
 * Quorum arithmetic: the optimized versions checked against naive ones on
 * random inputs (STYLE rule 12).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  jointCommittedIndex,
  jointVoteResult,
  majorityCommittedIndex,
  majorityVoteResult,
  VoteResult,
} from "../../../framework/raft/quorum.js";

/** Naive: the largest index i such that more than half the voters have match ≥ i. */
function naiveCommitted(voters: number[], match: Map<number, number>): number {
  if (voters.length === 0) return Number.POSITIVE_INFINITY;
  let best = 0;
  for (const candidate of [0, ...match.values()]) {
    const count = voters.filter((id) => (match.get(id) ?? 0) >= candidate).length;
    if (count * 2 > voters.length && candidate > best) best = candidate;
  }
  return best;
}

/** Naive: won if a majority granted, lost if the rest could not make a majority. */
function naiveVote(voters: number[], votes: Map<number, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  const yes = voters.filter((id) => votes.get(id) === true).length;
  const no = voters.filter((id) => votes.get(id) === false).length;
  if (yes * 2 > voters.length) return VoteResult.Won;
  if ((voters.length - no) * 2 > voters.length) return VoteResult.Pending;
  return VoteResult.Lost;
}

const voterSet = fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 7 });

describe("quorum", () => {
  it("majority committed index equals the naive definition", () => {
    fc.assert(
      fc.property(voterSet, fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 9, maxLength: 9 }), (voters, values) => {
        const match = new Map(values.map((value, i) => [i + 1, value]));
        expect(majorityCommittedIndex(new Set(voters), (id) => match.get(id))).toBe(naiveCommitted(voters, match));
      }),
      { numRuns: 2000 },
    );
  });

  it("joint committed index is the minimum over both halves of the naive definition", () => {
    fc.assert(
      fc.property(voterSet, voterSet, fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 9, maxLength: 9 }), (a, b, values) => {
        const match = new Map(values.map((value, i) => [i + 1, value]));
        const expected = Math.min(naiveCommitted(a, match), naiveCommitted(b, match));
        expect(jointCommittedIndex(new Set(a), new Set(b), (id) => match.get(id))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("vote results equal the naive definition, single and joint", () => {
    const voteArb = fc.array(fc.constantFrom<boolean | undefined>(true, false, undefined), { minLength: 9, maxLength: 9 });
    fc.assert(
      fc.property(voterSet, voterSet, voteArb, (a, b, values) => {
        const votes = new Map<number, boolean>();
        values.forEach((value, i) => value !== undefined && votes.set(i + 1, value));
        expect(majorityVoteResult(new Set(a), votes)).toBe(naiveVote(a, votes));
        const first = naiveVote(a, votes);
        const second = naiveVote(b, votes);
        const joint =
          first === VoteResult.Lost || second === VoteResult.Lost
            ? VoteResult.Lost
            : first === VoteResult.Won && second === VoteResult.Won
              ? VoteResult.Won
              : VoteResult.Pending;
        expect(jointVoteResult(new Set(a), new Set(b), votes)).toBe(joint);
      }),
      { numRuns: 2000 },
    );
  });
});
