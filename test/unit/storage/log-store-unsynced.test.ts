import { describe, expect, it } from "vitest";
import type { HardState, SeededRandom } from "../../../framework/raft/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import type { FileSystem, LogStore, StorageFile } from "../../../framework/storage/index.js";
import { openLogStore } from "../../../framework/storage/index.js";
import { createSimFileSystemDisk } from "../../sim/host/sim-file-system.js";
import type { SimFileSystemDisk } from "../../sim/host/sim-file-system.js";
import { makeEntries } from "./helpers.js";

/**
 * saveUnsynced (a commit index alone, Ready.mustSync false): never a write of
 * its own, durable with the next call that writes, lost in a crash before
 * that, and never a hole in front of a later O_DSYNC write. Over the
 * simulator's file system with durable writes as O_DSYNC makes them: only
 * the write's own bytes are durable when it returns, not earlier plain
 * writes still in the page cache.
 */
const directory = "/node/log";

interface Node {
  readonly store: LogStore;
  /** Plain writes and durable writes issued so far. */
  readonly writes: { plain: number; durable: number };
  crash(): void;
}

/** Counts the writes of every file opened through `fileSystem`. */
function countWrites(fileSystem: FileSystem, writes: { plain: number; durable: number }): FileSystem {
  return {
    ...fileSystem,
    async open(path, mode) {
      const file = await fileSystem.open(path, mode);
      const counted: StorageFile = {
        ...file,
        path: file.path,
        write(buffers, position) {
          writes.plain++;
          return file.write(buffers, position);
        },
      };
      const writeDurable = file.writeDurable;
      if (writeDurable === undefined) return counted;
      return {
        ...counted,
        writeDurable(buffers, position) {
          writes.durable++;
          return writeDurable.call(file, buffers, position);
        },
      };
    },
  };
}

/** Opens the store on `disk`; simulated syncs finish on the next turn of the event loop. */
async function openNode(disk: SimFileSystemDisk, random: SeededRandom): Promise<Node> {
  const opened = disk.open({
    random,
    durableWrites: true,
    afterSync: (run) => void setImmediate(run),
  });
  const writes = { plain: 0, durable: 0 };
  const store = await openLogStore({
    directory,
    fileSystem: countWrites(opened.fileSystem, writes),
    segmentBytes: 16 * 1024,
  });
  return { store, writes, crash: () => void opened.crash() };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Keeps no write that was not durable at a crash (the worst a crash may do). */
const keepNothingUnsynced = (): SeededRandom => ({ ...createSeededRandom(1), nextInt: () => 0 });

const hardState = (commit: number): HardState => ({ term: 1, vote: 1, commit });

describe("LogStore.saveUnsynced", () => {
  it("is read at once, makes no write of its own, and is durable with the next save", async () => {
    const disk = createSimFileSystemDisk();
    const node = await openNode(disk, keepNothingUnsynced());
    await node.store.save([{ groupId: 1, entries: makeEntries(1, 1, 5, 1), hardState: hardState(0) }]);
    const writes = { ...node.writes };
    node.store.saveUnsynced([{ groupId: 1, hardState: hardState(5) }]);
    expect(node.store.storage(1).initialState().hardState.commit).toBe(5);
    for (let i = 0; i < 5; i++) await settle();
    expect(node.writes).toEqual(writes);
    // The next save carries it: one durable write for both.
    await node.store.save([{ groupId: 2, entries: makeEntries(2, 1, 2, 1) }]);
    expect(node.writes).toEqual({ plain: writes.plain, durable: writes.durable + 1 });
    node.crash();
    const reopened = await openNode(disk, keepNothingUnsynced());
    expect(reopened.store.storage(1).initialState().hardState.commit).toBe(5);
    expect(reopened.store.storage(2).lastIndex()).toBe(2);
    await reopened.store.close();
  });

  it("is lost in a crash before a later call writes it; flush and close make it durable", async () => {
    const disk = createSimFileSystemDisk();
    const node = await openNode(disk, keepNothingUnsynced());
    await node.store.save([{ groupId: 1, entries: makeEntries(1, 1, 5, 1), hardState: hardState(2) }]);
    node.store.saveUnsynced([{ groupId: 1, hardState: hardState(4) }]);
    node.crash();
    const second = await openNode(disk, keepNothingUnsynced());
    expect(second.store.storage(1).initialState().hardState.commit).toBe(2);
    expect(second.store.storage(1).lastIndex()).toBe(5);
    second.store.saveUnsynced([{ groupId: 1, hardState: hardState(3) }]);
    await second.store.flush();
    second.store.saveUnsynced([{ groupId: 1, hardState: hardState(5) }]);
    await second.store.flush();
    await second.store.flush(); // nothing gathered: an empty commit, resolves all the same
    second.crash();
    const third = await openNode(disk, keepNothingUnsynced());
    expect(third.store.storage(1).initialState().hardState.commit).toBe(5);
    third.store.saveUnsynced([{ groupId: 1, hardState: { term: 2, vote: 0, commit: 5 } }]);
    await third.store.close();
    const fourth = await openNode(disk, keepNothingUnsynced());
    expect(fourth.store.storage(1).initialState().hardState).toEqual({ term: 2, vote: 0, commit: 5 });
    await fourth.store.close();
  });

  it("leaves no hole before a later durable write: a crash right after it keeps every acknowledged save", async () => {
    const disk = createSimFileSystemDisk();
    const node = await openNode(disk, keepNothingUnsynced());
    await node.store.save([{ groupId: 1, entries: makeEntries(1, 1, 3, 1), hardState: hardState(0) }]);
    node.store.saveUnsynced([{ groupId: 1, hardState: hardState(3) }]);
    for (let i = 0; i < 5; i++) await settle(); // a write of its own, if there were one, would run now
    const durableBefore = node.writes.durable;
    await node.store.save([{ groupId: 2, entries: makeEntries(2, 1, 4, 1) }]);
    // The acknowledged save went out as one O_DSYNC write: the case where a hole could form.
    expect(node.writes.durable).toBe(durableBefore + 1);
    node.crash(); // keeps only what is durable: no unsynced write survives
    const reopened = await openNode(disk, keepNothingUnsynced());
    const group2 = reopened.store.storage(2);
    expect(group2.lastIndex()).toBe(4);
    expect(group2.entries(1, 5, Number.MAX_SAFE_INTEGER).map((entry) => [...entry.data])).toEqual(
      makeEntries(2, 1, 4, 1).map((entry) => [...entry.data]),
    );
    expect(reopened.store.storage(1).initialState().hardState.commit).toBe(3);
    await reopened.store.close();
  });

  it("after a crash at any step the log is a prefix of the calls made, with every acknowledged one", async () => {
    const seed = Number(process.env["RAFTKIT_UNSYNCED_SEED"] ?? 11);
    const random = createSeededRandom(seed);
    const disk = createSimFileSystemDisk();
    const groups = 4;
    // Call k sets its group's commit to k (and appends an entry when durable); after a crash the
    // recovered commits must be those of the calls 1..p for one p at least the newest acknowledged.
    const calls: { groupId: number; durable: boolean }[] = [];
    let acknowledged = 0;
    for (let crash = 0; crash < 20; crash++) {
      const node = await openNode(disk, random);
      const known = new Map<number, number>(); // the entry count per group in this incarnation
      for (let groupId = 1; groupId <= groups; groupId++) known.set(groupId, node.store.storage(groupId).lastIndex());
      const steps = 1 + random.nextInt(12);
      const inFlight: Promise<void>[] = [];
      for (let step = 0; step < steps; step++) {
        const groupId = 1 + random.nextInt(groups);
        const durable = random.nextInt(3) === 0;
        calls.push({ groupId, durable });
        const number = calls.length;
        const last = known.get(groupId)!;
        const commit = { term: 1, vote: 1, commit: number };
        if (durable) {
          known.set(groupId, last + 1);
          const saved = node.store.save([{ groupId, entries: makeEntries(groupId, last + 1, 1, 1), hardState: commit }]);
          inFlight.push(saved.then(() => void (acknowledged = Math.max(acknowledged, number))));
        } else {
          node.store.saveUnsynced([{ groupId, hardState: commit }]);
        }
        if (random.nextInt(2) === 0) await settle();
      }
      for (let i = random.nextInt(4); i > 0; i--) await settle();
      node.crash();
      const reopened = await openNode(disk, random);
      const recovered = new Map<number, number>();
      for (let groupId = 1; groupId <= groups; groupId++) {
        recovered.set(groupId, reopened.store.storage(groupId).initialState().hardState.commit);
      }
      // The longest prefix the recovered commits agree with.
      const prefix = longestPrefix(calls, recovered, groups);
      expect(prefix, `crash ${crash}: recovered commits ${JSON.stringify([...recovered])}`).toBeGreaterThanOrEqual(acknowledged);
      calls.length = prefix; // what the next incarnation continues from
      await reopened.store.close();
    }
  });
});

/** The largest p such that each group's recovered commit is the number of its last call among 1..p, or -1. */
function longestPrefix(
  calls: readonly { groupId: number }[],
  recovered: ReadonlyMap<number, number>,
  groups: number,
): number {
  let best = -1;
  const lastCall = new Map<number, number>();
  for (let p = 0; p <= calls.length; p++) {
    if (p > 0) lastCall.set(calls[p - 1]!.groupId, p);
    let matches = true;
    for (let groupId = 1; groupId <= groups; groupId++) {
      if ((lastCall.get(groupId) ?? 0) !== recovered.get(groupId)) matches = false;
    }
    if (matches) best = p;
  }
  return best;
}
