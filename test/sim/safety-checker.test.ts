import { describe, expect, it } from "vitest";
import type { Entry } from "../../framework/raft/index.js";
import { EntryType } from "../../framework/raft/index.js";
import type { LogView } from "./safety-checker.js";
import { createSafetyChecker } from "./safety-checker.js";

const encoder = new TextEncoder();
const entry = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: encoder.encode(text),
});

/** A log given as its entries from index 1. */
function logOf(entries: readonly Entry[]): LogView {
  return {
    term: (index) => (index === 0 ? 0 : entries[index - 1]?.term),
    entry: (index) => entries[index - 1],
  };
}

describe("safety checker", () => {
  it("passes a consistent history of two nodes", () => {
    const checker = createSafetyChecker();
    const log = [entry(1, 1), entry(2, 1), entry(3, 2)];
    checker.observeLeader(1, 1);
    checker.observeNewLeaderLog(1, 1, 0, logOf([]));
    checker.observePersistedEntries(1, log, logOf(log));
    checker.observePersistedEntries(2, log, logOf(log));
    checker.observePersistedHardState(
      1,
      { term: 1, vote: 1, commit: 0 },
      { term: 2, vote: 1, commit: 3 },
      logOf(log),
    );
    checker.observeLeader(2, 2);
    checker.observeNewLeaderLog(2, 2, 3, logOf(log));
    for (const node of [1, 2]) {
      let digest = 0;
      for (const item of log) checker.observeApplied(node, item, (digest += item.index));
    }
    expect(checker.violations()).toEqual([]);
    expect(checker.stats()).toEqual({ leaders: 2, committedMax: 3, appliedMax: 3 });
  });

  it("reports two leaders in one term", () => {
    const checker = createSafetyChecker();
    checker.observeLeader(1, 4);
    checker.observeLeader(1, 4);
    checker.observeLeader(2, 4);
    expect(checker.violations()).toEqual(["election safety: nodes 1 and 2 both led term 4"]);
  });

  it("reports two different entries with the same index and term", () => {
    const checker = createSafetyChecker();
    checker.observePersistedEntries(1, [entry(1, 1, "a")], logOf([entry(1, 1, "a")]));
    checker.observePersistedEntries(2, [entry(1, 1, "b")], logOf([entry(1, 1, "b")]));
    expect(checker.violations()[0]).toMatch(
      /log matching: two different entries at index 1 term 1/,
    );
  });

  it("reports the same entry following different predecessors", () => {
    const checker = createSafetyChecker();
    const first = [entry(1, 1), entry(2, 3)];
    const second = [entry(1, 2), entry(2, 3)];
    checker.observePersistedEntries(1, first, logOf(first));
    checker.observePersistedEntries(2, [second[1]!], logOf(second));
    expect(checker.violations()[0]).toMatch(
      /log matching: entry 2 term 3 follows term 2 on node 2, term 1 elsewhere/,
    );
  });

  it("reports a new leader missing a committed entry", () => {
    const checker = createSafetyChecker();
    const log = [entry(1, 1), entry(2, 1)];
    checker.observePersistedEntries(1, log, logOf(log));
    checker.observePersistedHardState(
      1,
      { term: 1, vote: 1, commit: 0 },
      { term: 1, vote: 1, commit: 2 },
      logOf(log),
    );
    checker.observeNewLeaderLog(3, 2, 1, logOf([entry(1, 1)]));
    expect(checker.violations()[0]).toMatch(
      /leader completeness: node 3 leads term 2 with last index 1 < 2, committed in an earlier/,
    );
  });

  it("reports a new leader whose entry at a committed index differs, seen only on persist", () => {
    const checker = createSafetyChecker();
    const log = [entry(1, 1), entry(2, 1)];
    checker.observePersistedHardState(
      1,
      { term: 1, vote: 1, commit: 0 },
      { term: 1, vote: 1, commit: 2 },
      logOf(log),
    );
    const invisible: LogView = { term: () => undefined, entry: () => undefined };
    checker.observeNewLeaderLog(3, 3, 2, invisible);
    expect(checker.violations()).toEqual([]);
    checker.observePersistedEntries(
      3,
      [entry(1, 1), entry(2, 2, "other")],
      logOf([entry(1, 1), entry(2, 2, "other")]),
    );
    expect(checker.violations()[0]).toMatch(
      /leader completeness \(leader of term 3\): node 3 has entry 2 of term 2/,
    );
  });

  it("does not hold a leader of an older term to an entry committed in a later term", () => {
    // A candidate of term 2 stalls with its votes in flight; meanwhile a leader of term 3
    // commits index 2; the candidate then wins term 2, legitimately, without that entry.
    const checker = createSafetyChecker();
    const log = [entry(1, 1), entry(2, 3)];
    const hard = { term: 3, vote: 1, commit: 2 };
    checker.observePersistedHardState(1, { term: 3, vote: 1, commit: 0 }, hard, logOf(log));
    checker.observeNewLeaderLog(2, 2, 1, logOf([entry(1, 1)]));
    checker.observePersistedEntries(
      2,
      [entry(2, 2, "mine")],
      logOf([entry(1, 1), entry(2, 2, "mine")]),
    );
    expect(checker.violations()).toEqual([]);
    // A leader of term 4 is held to it.
    checker.observeNewLeaderLog(3, 4, 1, logOf([entry(1, 1)]));
    expect(checker.violations()[0]).toMatch(/node 3 leads term 4 with last index 1 < 2/);
  });

  it("reports nodes applying different entries, or reaching different states, at one index", () => {
    const checker = createSafetyChecker();
    checker.observeApplied(1, entry(1, 1, "a"), 10);
    checker.observeApplied(2, entry(1, 1, "b"), 10);
    checker.observeApplied(3, entry(1, 1, "a"), 11);
    const found = checker.violations();
    expect(found[0]).toMatch(/state machine safety: node 2 applied entry 1/);
    expect(found[1]).toMatch(
      /state machine safety: node 3 has digest 11 after index 1, another node 10/,
    );
  });

  it("reports durable hard state going backwards or a changed vote", () => {
    const checker = createSafetyChecker();
    const empty = logOf([]);
    checker.observePersistedHardState(
      1,
      { term: 3, vote: 2, commit: 0 },
      { term: 3, vote: 1, commit: 0 },
      empty,
    );
    checker.observePersistedHardState(
      1,
      { term: 3, vote: 1, commit: 0 },
      { term: 2, vote: 1, commit: 0 },
      empty,
    );
    expect(checker.violations()).toEqual([
      "node 1 changed its durable vote in term 3 from 2 to 1",
      "durable term of node 1 went back from 3 to 2",
    ]);
  });

  it("reports a restored snapshot that disagrees with what was applied", () => {
    const checker = createSafetyChecker();
    checker.observeApplied(1, entry(1, 1), 42);
    checker.observeSnapshotRestored(2, 1, 1, 42);
    expect(checker.violations()).toEqual([]);
    checker.observeSnapshotRestored(2, 1, 1, 43);
    expect(checker.violations()[0]).toMatch(/node 2 restored a snapshot at 1/);
  });
});
