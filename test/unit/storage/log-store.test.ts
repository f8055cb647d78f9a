import { readdir } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isRaftError, RaftErrorCode } from "../../../framework/raft/index.js";
import type { LogStore, LogStoreOptions } from "../../../framework/storage/index.js";
import {
  createLogStore,
  isStorageError,
  openLogStore,
  StorageErrorCode,
} from "../../../framework/storage/index.js";
import {
  createFaultyFileSystem,
  makeEntries,
  makeEntry,
  makeTemporaryDirectory,
} from "./helpers.js";

let directory: { path: string; remove: () => Promise<void> };
const open: LogStore[] = [];

beforeEach(async () => {
  directory = await makeTemporaryDirectory();
});
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  await directory.remove();
});

async function openStore(options: Partial<LogStoreOptions> = {}): Promise<LogStore> {
  const store = await openLogStore({ directory: directory.path, ...options });
  open.push(store);
  return store;
}

async function reopen(store: LogStore, options: Partial<LogStoreOptions> = {}): Promise<LogStore> {
  await store.close();
  return openStore(options);
}

function dataOf(store: LogStore, groupId: number, low: number, high: number): number[][] {
  return store
    .storage(groupId)
    .entries(low, high, Number.MAX_SAFE_INTEGER)
    .map((entry) => [entry.index, entry.term, ...entry.data.subarray(0, 8)]);
}

describe("LogStore", () => {
  it("saves entries and hard state and reads them back, also after a restart", async () => {
    let store = await openStore();
    await store.save([
      { groupId: 7, entries: makeEntries(7, 1, 5, 1), hardState: { term: 1, vote: 2, commit: 3 } },
    ]);
    const before = dataOf(store, 7, 1, 6);
    store = await reopen(store);
    const storage = store.storage(7);
    expect(storage.firstIndex()).toBe(1);
    expect(storage.lastIndex()).toBe(5);
    expect(storage.initialState().hardState).toEqual({ term: 1, vote: 2, commit: 3 });
    expect(dataOf(store, 7, 1, 6)).toEqual(before);
    expect(store.groupIds()).toEqual([7]);
  });

  it("throws RaftStorage's errors: Compacted below first, Unavailable above last", async () => {
    const store = await openStore();
    const storage = store.storage(3);
    expect(() => storage.entries(1, 2, 100)).toThrow(
      expect.objectContaining({ code: RaftErrorCode.Unavailable }),
    );
    await store.save([{ groupId: 3, entries: makeEntries(3, 1, 10, 2) }]);
    await store.compact(3, 4);
    expect(storage.firstIndex()).toBe(5);
    expect(storage.term(4)).toBe(2);
    expect(() => storage.term(3)).toThrow(
      expect.objectContaining({ code: RaftErrorCode.Compacted }),
    );
    expect(() => storage.entries(4, 6, 100)).toThrow(
      expect.objectContaining({ code: RaftErrorCode.Compacted }),
    );
    expect(() => storage.entries(5, 12, 100)).toThrow(
      expect.objectContaining({ code: RaftErrorCode.Unavailable }),
    );
    expect(() => storage.term(11)).toThrow(
      expect.objectContaining({ code: RaftErrorCode.Unavailable }),
    );
    await expect(store.compact(3, 4)).rejects.toSatisfy((e) =>
      isRaftError(e, RaftErrorCode.Compacted),
    );
    await expect(store.compact(3, 11)).rejects.toSatisfy((e) =>
      isStorageError(e, StorageErrorCode.InvalidArgument),
    );
  });

  it("round-trips integers beyond 2^32 (terms, indexes, votes, group ids)", async () => {
    let store = await openStore();
    const big = 2 ** 40 + 3;
    const confState = {
      voters: [big],
      learners: [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: true,
    };
    const snapshot = { metadata: { index: big, term: big, confState }, data: new Uint8Array(0) };
    const groupId = 2 ** 33;
    await store.save([
      {
        groupId,
        snapshot,
        entries: makeEntries(groupId, big + 1, 2, big + 1),
        hardState: { term: big + 1, vote: big, commit: big + 1 },
      },
    ]);
    store = await reopen(store);
    const storage = store.storage(groupId);
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(big + 2)]).toEqual([
      big + 1,
      big + 2,
      big + 1,
    ]);
    expect(storage.initialState()).toEqual({
      hardState: { term: big + 1, vote: big, commit: big + 1 },
      confState,
    });
  });

  it("limits entries() by maxBytes but always returns at least one", async () => {
    const store = await openStore();
    await store.save([{ groupId: 1, entries: makeEntries(1, 1, 10, 1, 100) }]);
    const storage = store.storage(1);
    expect(storage.entries(1, 11, 0)).toHaveLength(1);
    expect(storage.entries(1, 11, 2 * 116)).toHaveLength(2);
    expect(storage.entries(1, 11, 2 * 116 + 115)).toHaveLength(2);
    expect(storage.entries(1, 11, 3 * 116)).toHaveLength(3);
  });

  it("truncates a conflicting suffix, in memory and on disk", async () => {
    let store = await openStore();
    await store.save([{ groupId: 1, entries: makeEntries(1, 1, 10, 1) }]);
    await store.save([{ groupId: 1, entries: makeEntries(1, 6, 2, 2) }]);
    expect(store.storage(1).lastIndex()).toBe(7);
    expect([5, 6, 7].map((i) => store.storage(1).term(i))).toEqual([1, 2, 2]);
    store = await reopen(store);
    expect(store.storage(1).lastIndex()).toBe(7);
    expect(dataOf(store, 1, 1, 8).map((row) => row[1])).toEqual([1, 1, 1, 1, 1, 2, 2]);
  });

  it("drops the already compacted part of an append and rejects a gap", async () => {
    const store = await openStore();
    await store.save([{ groupId: 1, entries: makeEntries(1, 1, 10, 1) }]);
    await store.compact(1, 5);
    await store.save([{ groupId: 1, entries: makeEntries(1, 3, 10, 2) }]);
    expect(store.storage(1).firstIndex()).toBe(6);
    expect(store.storage(1).lastIndex()).toBe(12);
    expect(store.storage(1).term(6)).toBe(2);
    await expect(store.save([{ groupId: 1, entries: makeEntries(1, 14, 1, 2) }])).rejects.toSatisfy(
      (e) =>
        isStorageError(e, StorageErrorCode.InvalidArgument) &&
        /gap after last index 12/.test(e.message),
    );
  });

  it("replaces the log with a snapshot and rejects an older one", async () => {
    let store = await openStore();
    await store.save([{ groupId: 2, entries: makeEntries(2, 1, 5, 1) }]);
    const confState = {
      voters: [1, 2, 3],
      learners: [4],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    };
    const snapshot = { metadata: { index: 20, term: 3, confState }, data: new Uint8Array([9, 9]) };
    await store.save([{ groupId: 2, snapshot, entries: makeEntries(2, 21, 2, 3) }]);
    store = await reopen(store);
    const storage = store.storage(2);
    expect(storage.snapshot()).toEqual(snapshot);
    expect(storage.initialState().confState).toEqual(confState);
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(20)]).toEqual([21, 22, 3]);
    await expect(store.save([{ groupId: 2, snapshot }])).rejects.toSatisfy((e) =>
      isRaftError(e, RaftErrorCode.SnapshotOutOfDate),
    );
  });

  it("compacts across segment boundaries and deletes segments no group needs", async () => {
    let store = await openStore({ segmentBytes: 4096 });
    for (let i = 0; i < 60; i++) {
      await store.save([
        { groupId: 1, entries: [makeEntry(1, i + 1, 1, 200)] },
        { groupId: 2, entries: [makeEntry(2, i + 1, 1, 200)] },
      ]);
    }
    const segmentsBefore = (await readdir(directory.path)).length;
    expect(segmentsBefore).toBeGreaterThan(5);
    await store.compact(1, 55);
    await store.compact(2, 55);
    // Dead segments go at the next roll; force rolls with more writes.
    for (let i = 60; i < 80; i++)
      await store.save([{ groupId: 1, entries: [makeEntry(1, i + 1, 1, 200)] }]);
    const segmentsAfter = await readdir(directory.path);
    expect(segmentsAfter.length).toBeLessThan(segmentsBefore);
    store = await reopen(store, { segmentBytes: 4096 });
    expect([store.storage(1).firstIndex(), store.storage(1).lastIndex()]).toEqual([56, 80]);
    expect([store.storage(2).firstIndex(), store.storage(2).lastIndex()]).toEqual([56, 60]);
    expect(dataOf(store, 2, 56, 61).map((row) => row[0])).toEqual([56, 57, 58, 59, 60]);
    expect(store.storage(2).term(55)).toBe(1);
  });

  it("keeps many groups interleaved apart, through restarts", async () => {
    let store = await openStore({ segmentBytes: 64 * 1024 });
    const lastIndex = new Map<number, number>();
    for (let round = 0; round < 20; round++) {
      const updates = [];
      for (let groupId = 1; groupId <= 200; groupId++) {
        if ((groupId + round) % 3 === 0) continue;
        const next = (lastIndex.get(groupId) ?? 0) + 1;
        updates.push({
          groupId,
          entries: makeEntries(groupId, next, 2, round + 1),
          hardState: { term: round + 1, vote: groupId % 5, commit: next },
        });
        lastIndex.set(groupId, next + 1);
      }
      await store.save(updates);
      if (round === 9) store = await reopen(store, { segmentBytes: 64 * 1024 });
    }
    store = await reopen(store, { segmentBytes: 64 * 1024, cacheBytes: 0 });
    expect(store.groupIds()).toHaveLength(200);
    for (const [groupId, last] of lastIndex) {
      const entries = store.storage(groupId).entries(1, last + 1, Number.MAX_SAFE_INTEGER);
      expect(entries.map((entry) => entry.index)).toEqual(
        Array.from({ length: last }, (_, i) => i + 1),
      );
      for (const entry of entries)
        expect(entry.data).toEqual(makeEntry(groupId, entry.index, entry.term).data);
      expect(store.storage(groupId).initialState().hardState.commit).toBe(last - 1);
    }
  });

  it("reads evicted entries back from disk", async () => {
    const store = await openStore({ cacheBytes: 1000 });
    for (let i = 1; i <= 50; i++)
      await store.save([{ groupId: 1, entries: [makeEntry(1, i, 1, 300)] }]);
    const entries = store.storage(1).entries(1, 51, Number.MAX_SAFE_INTEGER);
    entries.forEach((entry, i) => expect(entry.data).toEqual(makeEntry(1, i + 1, 1, 300).data));
  });

  it("removes a group for good", async () => {
    let store = await openStore();
    await store.save([
      { groupId: 1, entries: makeEntries(1, 1, 3, 1) },
      { groupId: 2, entries: makeEntries(2, 1, 3, 1) },
    ]);
    await store.removeGroup(1);
    expect(store.storage(1).lastIndex()).toBe(0);
    store = await reopen(store);
    expect(store.groupIds()).toEqual([2]);
    await expect(store.removeGroup(1)).rejects.toSatisfy((e) =>
      isStorageError(e, StorageErrorCode.NotFound),
    );
  });

  it("makes one save of many groups durable with one fdatasync (no durable writes)", async () => {
    const fileSystem = createFaultyFileSystem();
    fileSystem.durableWrites = false;
    const store = await openStore({ fileSystem });
    const before = fileSystem.datasyncCount;
    const updates = Array.from({ length: 500 }, (_, i) => ({
      groupId: i + 1,
      entries: makeEntries(i + 1, 1, 3, 1),
    }));
    await store.save(updates);
    expect(fileSystem.datasyncCount - before).toBe(1);
    expect(fileSystem.durableWriteCount).toBe(0);
  });

  it("makes one save of many groups durable with one O_DSYNC write and no fdatasync", async () => {
    const fileSystem = createFaultyFileSystem();
    let store = await openStore({ fileSystem });
    const syncsBefore = fileSystem.datasyncCount;
    const updates = Array.from({ length: 500 }, (_, i) => ({
      groupId: i + 1,
      entries: makeEntries(i + 1, 1, 3, 1),
    }));
    await store.save(updates);
    expect(fileSystem.durableWriteCount).toBe(1);
    expect(fileSystem.datasyncCount - syncsBefore).toBe(0);
    store = await reopen(store);
    for (let group = 1; group <= 500; group++) {
      const expected = makeEntries(group, 1, 3, 1).map((entry) => [entry.index, entry.term, ...entry.data]);
      expect(dataOf(store, group, 1, 4)).toEqual(expected);
    }
  });

  for (const durableWrites of [false, true]) {
    it(`coalesces concurrent saves into few commits (group commit, durable writes ${durableWrites})`, async () => {
      const fileSystem = createFaultyFileSystem();
      fileSystem.durableWrites = durableWrites;
      const store = await openStore({ fileSystem });
      const syncsBefore = fileSystem.datasyncCount;
      const saves = Array.from({ length: 100 }, (_, i) =>
        store.save([{ groupId: i + 1, entries: makeEntries(i + 1, 1, 1, 1) }]),
      );
      await Promise.all(saves);
      // The first save's commit starts alone; all others wait for it and go together.
      const points = fileSystem.datasyncCount - syncsBefore + fileSystem.durableWriteCount;
      expect(points).toBe(2);
      expect(fileSystem.durableWriteCount).toBe(durableWrites ? 2 : 0);
    });
  }

  it("rejects bad input with InvalidArgument and changes nothing", async () => {
    const store = await openStore();
    const bad = [
      [{ groupId: 0, entries: makeEntries(1, 1, 1, 1) }],
      [{ groupId: 1.5 }],
      [{ groupId: 1, entries: makeEntries(1, 1, 1, 1) }, { groupId: 1 }],
      [{ groupId: 1, entries: [makeEntry(1, 1, 1), makeEntry(1, 3, 1)] }],
      [{ groupId: 1, hardState: { term: -1, vote: 0, commit: 0 } }],
      [
        { groupId: 2, entries: makeEntries(2, 1, 1, 1) },
        { groupId: 1, entries: makeEntries(1, 5, 1, 1) },
      ],
    ];
    for (const updates of bad) {
      await expect(store.save(updates)).rejects.toSatisfy((e) =>
        isStorageError(e, StorageErrorCode.InvalidArgument),
      );
    }
    expect(store.groupIds()).toEqual([]);
  });

  it("refuses calls after close, and createLogStore refuses a directory with a log", async () => {
    const store = await openStore();
    await store.close();
    await expect(store.save([])).rejects.toSatisfy((e) =>
      isStorageError(e, StorageErrorCode.Closed),
    );
    await expect(createLogStore({ directory: directory.path })).rejects.toSatisfy((e) =>
      isStorageError(e, StorageErrorCode.InvalidArgument),
    );
  });
});
