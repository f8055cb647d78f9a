import { describe, expect, it } from "vitest";
import type { Entry, SeededRandom } from "../../../framework/raft/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import type { FileSystem, LogStore, LogUpdate, StorageFile } from "../../../framework/storage/index.js";
import { openLogStore } from "../../../framework/storage/index.js";
import { createSimFileSystemDisk } from "../../sim/host/sim-file-system.js";
import { makeEntry } from "./helpers.js";

/**
 * Pipelined saves over the simulator's file system (test/sim/host): writes
 * land in a page cache, a datasync makes a file durable as of its call, and a
 * crash keeps the durable content plus a random prefix of the unsynced
 * writes. Saves are issued without waiting for the ones before; syncs finish
 * at random moments; the node crashes at a random step. After every crash:
 * every acknowledged save is there, saves resolved in the order they were
 * issued, and each group's log holds only whole entries of its own.
 */
const directory = "/node/log";
const groupCount = 12;
const savesInFlightMax = 6;
const seed = Number(process.env["RAFTKIT_PIPELINE_SEED"] ?? 7);

interface Counters {
  /** writes issued while a datasync of the same file was outstanding */
  writesDuringSync: number;
  syncs: number;
  /** durable (O_DSYNC) writes, and those issued while a plain write of the file was not durable yet */
  durableWrites: number;
  durableWritesOverUnsynced: number;
}

/**
 * Wraps the simulated file system to count writes that overlap a datasync.
 * With `durable` (a seeded random), a file opened for writing offers
 * writeDurable with probability 1/2 (so a store sees segments with and
 * without it): a write and a datasync in one call, which is what an O_DSYNC
 * write is as long as no plain write of the file is waiting for a sync (the
 * simulated datasync makes the whole file durable, O_DSYNC only its own
 * bytes); a durable write issued while one is waiting is counted, and the
 * test requires none.
 */
function countOverlaps(
  fileSystem: FileSystem,
  counters: Counters,
  durable: SeededRandom | undefined,
): FileSystem {
  return {
    ...fileSystem,
    async open(path, mode) {
      const file = await fileSystem.open(path, mode);
      let syncing = 0;
      /** Plain writes issued, and how many of them a finished datasync covers. */
      let plainWrites = 0;
      let plainWritesSynced = 0;
      const sync = async (): Promise<void> => {
        const covers = plainWrites;
        syncing++;
        counters.syncs++;
        try {
          await file.datasync();
          plainWritesSynced = Math.max(plainWritesSynced, covers);
        } finally {
          syncing--;
        }
      };
      const wrapped: StorageFile = {
        ...file,
        path: file.path,
        write(buffers, position) {
          if (syncing > 0) counters.writesDuringSync++;
          plainWrites++;
          return file.write(buffers, position);
        },
        datasync: sync,
      };
      if (durable === undefined || mode === "read" || durable.nextInt(2) === 0) return wrapped;
      return {
        ...wrapped,
        async writeDurable(buffers, position) {
          counters.durableWrites++;
          if (plainWrites > plainWritesSynced) counters.durableWritesOverUnsynced++;
          await file.write(buffers, position);
          await file.datasync();
        },
      };
    },
  };
}

interface Incarnation {
  readonly fileSystem: FileSystem;
  readonly crash: () => void;
  /** Runs one pending fsync, if any; false if none was pending. */
  readonly finishOneSync: () => boolean;
}

function startIncarnation(
  disk: ReturnType<typeof createSimFileSystemDisk>,
  random: SeededRandom,
  counters: Counters,
  durable: SeededRandom | undefined,
): Incarnation {
  const pendingSyncs: (() => void)[] = [];
  const opened = disk.open({
    random,
    afterSync: (run) => pendingSyncs.push(run),
  });
  return {
    fileSystem: countOverlaps(opened.fileSystem, counters, durable),
    crash: () => void opened.crash(),
    finishOneSync: () => {
      if (pendingSyncs.length === 0) return false;
      // Syncs complete in any order a disk might choose.
      const [run] = pendingSyncs.splice(random.nextInt(pendingSyncs.length), 1);
      run!();
      return true;
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Opens the store, letting the simulated syncs of recovery and the first header finish. */
async function openWithSyncs(incarnation: Incarnation): Promise<LogStore> {
  let store: LogStore | undefined;
  let failure: unknown;
  void openLogStore({
    directory,
    fileSystem: incarnation.fileSystem,
    segmentBytes: 16 * 1024,
    cacheBytes: 4 * 1024,
  }).then(
    (opened) => (store = opened),
    (error: unknown) => (failure = error),
  );
  while (store === undefined && failure === undefined) {
    incarnation.finishOneSync();
    await settle();
  }
  if (failure !== undefined) throw failure;
  return store!;
}

/** What the test knows each group must hold: entries of acknowledged saves. */
type Acknowledged = Map<number, Map<number, Entry>>;

/**
 * Per group and index, the save that wrote the entry the store holds now. A
 * save may overwrite entries of saves still in flight (never acknowledged
 * ones); when an older save then resolves, only its entries still standing
 * count as acknowledged (the overwrite may or may not survive a crash).
 */
type Writers = Map<number, Map<number, number>>;

function sameEntry(a: Entry, b: Entry): boolean {
  return (
    a.index === b.index &&
    a.term === b.term &&
    a.type === b.type &&
    Buffer.compare(a.data, b.data) === 0
  );
}

/** Problems found, as text (one expect at the end: thousands of entries are checked). */
function checkRecovered(store: LogStore, acknowledged: Acknowledged, generation: number): void {
  const problems: string[] = [];
  for (let groupId = 1; groupId <= groupCount; groupId++) {
    const storage = store.storage(groupId);
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    const present = last >= first ? storage.entries(first, last + 1, Number.MAX_SAFE_INTEGER) : [];
    for (const [index, entry] of acknowledged.get(groupId) ?? new Map<number, Entry>()) {
      if (index < first) continue; // compacted after it was acknowledged
      const read = present[index - first];
      if (read === undefined || !sameEntry(read, entry)) {
        problems.push(`group ${groupId}: acknowledged entry ${index} lost or changed`);
      }
    }
    // Every entry present is whole and of this group: the data says which group wrote it.
    for (const read of present) {
      if (!sameEntry(read, makeEntry(groupId, read.index, read.term, read.data.byteLength))) {
        problems.push(`group ${groupId}: entry ${read.index} is not one this group wrote`);
      }
    }
  }
  expect(problems, `after crash ${generation - 1}`).toEqual([]);
}

interface Issued {
  readonly number: number;
  readonly updates: LogUpdate[];
}

function nextSave(
  store: LogStore,
  random: SeededRandom,
  generation: number,
  number: number,
  acknowledged: Acknowledged,
): Issued {
  const updates: LogUpdate[] = [];
  for (let groupId = 1; groupId <= groupCount; groupId++) {
    if (random.nextInt(2) === 0) continue;
    // Sometimes overwrite the last entries (a new leader's suffix), as raft may; here only
    // entries not acknowledged yet, so the acknowledged ones must all stay.
    const last = store.storage(groupId).lastIndex();
    const floor = Math.max(
      store.storage(groupId).firstIndex(),
      Math.max(0, ...(acknowledged.get(groupId)?.keys() ?? [])) + 1,
    );
    const back = random.nextInt(3) === 0 ? Math.min(random.nextInt(3), last - floor + 1) : 0;
    const first = last + 1 - Math.max(0, back);
    const count = 1 + random.nextInt(3);
    const size = 8 + random.nextInt(random.nextInt(5) === 0 ? 3000 : 100);
    const entries = Array.from({ length: count }, (_, i) =>
      makeEntry(groupId, first + i, generation, size),
    );
    updates.push({ groupId, entries, hardState: { term: generation, vote: 1, commit: 0 } });
  }
  return { number, updates };
}

/** Notes which save wrote each index now (a shorter overwrite also cuts what followed). */
function noteWriters(writers: Writers, save: Issued): void {
  for (const update of save.updates) {
    let group = writers.get(update.groupId);
    if (group === undefined) writers.set(update.groupId, (group = new Map()));
    const first = update.entries![0]!.index;
    for (const index of [...group.keys()]) if (index >= first) group.delete(index);
    for (const entry of update.entries!) group.set(entry.index, save.number);
  }
}

/** Records a resolved save's entries that no later save has overwritten. */
function acknowledge(acknowledged: Acknowledged, writers: Writers, save: Issued): void {
  for (const update of save.updates) {
    let group = acknowledged.get(update.groupId);
    if (group === undefined) acknowledged.set(update.groupId, (group = new Map()));
    for (const entry of update.entries!) {
      if (writers.get(update.groupId)?.get(entry.index) === save.number) {
        group.set(entry.index, entry);
      }
    }
  }
}

interface RunResult {
  readonly acknowledgedSaves: number;
  readonly issuedSaves: number;
}

/** One incarnation: pipelined saves and random sync completions until a random crash step. */
async function runUntilCrash(
  store: LogStore,
  incarnation: Incarnation,
  random: SeededRandom,
  generation: number,
  acknowledged: Acknowledged,
): Promise<RunResult> {
  const resolvedOrder: number[] = [];
  const writers: Writers = new Map();
  const inFlight = new Set<number>();
  const steps = 20 + random.nextInt(200);
  let issued = 0;
  for (let step = 0; step < steps; step++) {
    if (inFlight.size < savesInFlightMax && random.nextInt(3) !== 0) {
      const save = nextSave(store, random, generation, issued++, acknowledged);
      noteWriters(writers, save);
      const lastBefore = save.updates.map((u) => u.entries!.at(-1)!.index);
      inFlight.add(save.number);
      void store.save(save.updates).then(() => {
        inFlight.delete(save.number);
        resolvedOrder.push(save.number);
        acknowledge(acknowledged, writers, save);
      });
      // Reads see an issued save at once, before it is durable.
      save.updates.forEach((update, i) => {
        expect(store.storage(update.groupId).lastIndex()).toBe(lastBefore[i]);
      });
    }
    if (random.nextInt(2) === 0) incarnation.finishOneSync();
    if (random.nextInt(40) === 0) maybeCompact(store, random);
    await settle();
  }
  incarnation.crash();
  expect(resolvedOrder).toEqual([...resolvedOrder].sort((a, b) => a - b));
  return { acknowledgedSaves: resolvedOrder.length, issuedSaves: issued };
}

/** Compacts a random group behind its last few entries (a compaction in the pipeline). */
function maybeCompact(store: LogStore, random: SeededRandom): void {
  const groupId = 1 + random.nextInt(groupCount);
  const storage = store.storage(groupId);
  const index = storage.lastIndex() - 5;
  if (index >= storage.firstIndex()) void store.compact(groupId, index);
}

describe("LogStore: pipelined saves over a simulated disk with crashes", () => {
  for (const withDurableWrites of [false, true]) {
    const name = withDurableWrites ? ", half the segments with durable (O_DSYNC) writes" : "";
    it(`keeps every acknowledged save, in order, over 25 crashes (seed ${seed}${name})`, async () => {
      const random = createSeededRandom(seed);
      const durable = withDurableWrites ? createSeededRandom(seed + 1) : undefined;
      const disk = createSimFileSystemDisk();
      const counters: Counters = {
        writesDuringSync: 0,
        syncs: 0,
        durableWrites: 0,
        durableWritesOverUnsynced: 0,
      };
      const acknowledged: Acknowledged = new Map();
      let acknowledgedSaves = 0;
      let issuedSaves = 0;
      for (let generation = 1; generation <= 25; generation++) {
        const incarnation = startIncarnation(disk, random, counters, durable);
        const store = await openWithSyncs(incarnation);
        checkRecovered(store, acknowledged, generation);
        const result = await runUntilCrash(store, incarnation, random, generation, acknowledged);
        acknowledgedSaves += result.acknowledgedSaves;
        issuedSaves += result.issuedSaves;
      }
      const last = startIncarnation(disk, random, counters, durable);
      checkRecovered(await openWithSyncs(last), acknowledged, 26);
      // The run must have exercised what it claims: writes overlapping syncs, shared syncs,
      // and saves lost in flight at a crash (issued, never acknowledged).
      expect(counters.writesDuringSync).toBeGreaterThan(20);
      expect(acknowledgedSaves).toBeGreaterThan(200);
      expect(issuedSaves).toBeGreaterThan(acknowledgedSaves);
      if (withDurableWrites) {
        // A durable write makes only its own bytes durable: never one over unsynced writes.
        expect(counters.durableWrites).toBeGreaterThan(50);
        expect(counters.durableWritesOverUnsynced).toBe(0);
      } else {
        expect(counters.durableWrites).toBe(0);
      }
    });
  }
});
