import { describe, expect, it } from "vitest";
import { createMemoryStorage, EntryType, isRaftError, RaftErrorCode } from "../../../framework/raft/index.js";
import type { Entry } from "../../../framework/raft/index.js";

const entry = (index: number, term: number): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new Uint8Array(4),
});

function expectCode(fn: () => unknown, code: RaftErrorCode): void {
  try {
    fn();
  } catch (error) {
    expect(isRaftError(error, code), String(error)).toBe(true);
    return;
  }
  expect.fail(`expected RaftError ${code}`);
}

describe("MemoryStorage", () => {
  it("appends, truncates a conflicting suffix, and reads ranges", () => {
    const storage = createMemoryStorage();
    storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    expect(storage.lastIndex()).toBe(3);
    storage.append([entry(2, 2)]);
    expect(storage.lastIndex()).toBe(2);
    expect(storage.term(2)).toBe(2);
    expect(storage.entries(1, 3, Infinity).map((e) => e.term)).toEqual([1, 2]);
  });

  it("limits entries by bytes but returns at least one", () => {
    const storage = createMemoryStorage();
    storage.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    expect(storage.entries(1, 4, 0)).toHaveLength(1);
    expect(storage.entries(1, 4, 40)).toHaveLength(2);
  });

  it("compacts a prefix and reports compacted and unavailable ranges by code", () => {
    const storage = createMemoryStorage();
    storage.append([entry(1, 1), entry(2, 1), entry(3, 2)]);
    storage.compact(2);
    expect(storage.firstIndex()).toBe(3);
    expect(storage.term(2)).toBe(1);
    expectCode(() => storage.entries(2, 3, Infinity), RaftErrorCode.Compacted);
    expectCode(() => storage.term(1), RaftErrorCode.Compacted);
    expectCode(() => storage.entries(3, 5, Infinity), RaftErrorCode.Unavailable);
  });

  it("replaces the log with a newer snapshot and refuses an older one", () => {
    const storage = createMemoryStorage();
    storage.append([entry(1, 1), entry(2, 1)]);
    const confState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    storage.applySnapshot({ metadata: { index: 10, term: 3, confState }, data: new Uint8Array(0) });
    expect(storage.firstIndex()).toBe(11);
    expect(storage.lastIndex()).toBe(10);
    expect(storage.term(10)).toBe(3);
    expectCode(
      () => storage.applySnapshot({ metadata: { index: 5, term: 3, confState }, data: new Uint8Array(0) }),
      RaftErrorCode.SnapshotOutOfDate,
    );
  });
});
