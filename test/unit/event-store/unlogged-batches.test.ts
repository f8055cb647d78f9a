/**
 * walSync false (the replicated store's setting): batches are not written to
 * the WAL at all — the raft log holds them — and are durable only at
 * checkpoints, which still run every walCheckpointBytes of would-be records.
 * After a crash (unsynced writes lost, or kept in part) the store reopens at
 * a checkpoint holding exactly the batches up to it; replaying the batches
 * above it, as raft does, gives the same store as no crash at all. An annex
 * alone at the current index (the framework state after a snapshot restore:
 * no log replays it) is still written and synced. A checkpoint's writes run
 * in the background: batches apply meanwhile, and the checkpoint holds the
 * content of the moment it started.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore, type EngineFileSystem, type EventStore, type MemoryFileSystem,
  type Operation,
} from "../../../examples/event-store/engine/index.js";
import { insertOf, SCHEMAS } from "./harness.js";
import type { ModelEvent } from "./model.js";

const eventArbitrary: fc.Arbitrary<ModelEvent> = fc.record({
  timestamp: fc.integer({ min: 0, max: 2000 }),
  values: fc.record({
    price: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    quantity: fc.integer({ min: -1000, max: 1000 }),
    flag: fc.boolean(),
    label: fc.string({ maxLength: 20 }),
  }),
});

/** The "raft log": batch k (applied index k + 2) and its annex. */
const logArbitrary = fc.array(fc.array(eventArbitrary, { minLength: 1, maxLength: 60 }),
  { minLength: 5, maxLength: 40 });

const open = (fileSystem: MemoryFileSystem, walSync: boolean): Promise<EventStore> =>
  openEventStore({ fileSystem, directory: "/s", blockBytes: 1024, walCheckpointBytes: 6000, walSync });

const batchAt = (log: readonly ModelEvent[][], index: number): Operation[] =>
  [insertOf("wide", SCHEMAS.wide!, log[index - 2]!)];
const annexAt = (index: number): Uint8Array => Uint8Array.of(index & 255, index >> 8);

async function walBytes(fileSystem: MemoryFileSystem): Promise<number> {
  let bytes = 0;
  for (const name of await fileSystem.readdir("/s")) {
    if (!name.startsWith("wal-")) continue;
    const file = await fileSystem.open(`/s/${name}`, "read");
    bytes += await file.size();
    await file.close();
  }
  return bytes;
}

async function exported(store: EventStore): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.exportSnapshot()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe("engine with walSync false", () => {
  it("writes no WAL record; after a crash reopens at a checkpoint, and a replay of the log above it gives the same store", async () => {
    await fc.assert(fc.asyncProperty(logArbitrary, fc.integer({ min: 0, max: 2 ** 31 }), async (log, seed) => {
      const last = log.length + 1;
      let fileSystem = createMemoryFileSystem();
      let store = await open(fileSystem, false);
      await store.applyBatch([{ kind: "createStream", stream: "wide", schema: SCHEMAS.wide! }], 1, annexAt(1));
      const middle = 2 + (seed % log.length);
      for (let index = 2; index <= last; index++) {
        await store.applyBatch(batchAt(log, index), index, annexAt(index));
        if (index === middle) await store.checkpoint();
      }
      expect(await walBytes(fileSystem)).toBe(0);
      let state = seed >>> 0;
      fileSystem = fileSystem.crash(() => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return state / 2 ** 32;
      });
      store = await open(fileSystem, false);
      const reopened = store.appliedIndex();
      // At a checkpoint: the explicit one or a later one; the batches up to it, exactly.
      expect(reopened).toBeGreaterThanOrEqual(middle);
      expect(reopened).toBeLessThanOrEqual(last);
      expect(store.annex()).toEqual(annexAt(reopened));
      expect(store.aggregate("wide").count).toBe(log.slice(0, reopened - 1).flat().length);
      store.checkIntegrity();
      for (let index = reopened + 1; index <= last; index++) {
        await store.applyBatch(batchAt(log, index), index, annexAt(index));
      }
      // The same log applied once, without a crash, with a synced WAL.
      const reference = await open(createMemoryFileSystem(), true);
      await reference.applyBatch([{ kind: "createStream", stream: "wide", schema: SCHEMAS.wide! }], 1, annexAt(1));
      for (let index = 2; index <= last; index++) {
        await reference.applyBatch(batchAt(log, index), index, annexAt(index));
      }
      expect(store.aggregate("wide")).toEqual(reference.aggregate("wide"));
      expect(store.scan("wide", { limit: 100_000 })).toEqual(reference.scan("wide", { limit: 100_000 }));
      expect(store.statistics("wide")).toEqual(reference.statistics("wide"));
      expect(await exported(store)).toEqual(await exported(reference));
      await store.close();
      await reference.close();
    }), { numRuns: 40 });
  });

  it("reopens at its last checkpoint exactly when nothing of an unsynced write survives", async () => {
    let fileSystem = createMemoryFileSystem();
    let store = await open(fileSystem, false);
    await store.applyBatch([{ kind: "createStream", stream: "narrow", schema: SCHEMAS.narrow! }], 1);
    const insert = (index: number): Operation[] => [{ kind: "insert", stream: "narrow",
      timestamps: [index * 10, index * 10 + 1], columns: { value: [index, -index] } }];
    for (let index = 2; index <= 9; index++) await store.applyBatch(insert(index), index);
    await store.checkpoint();
    for (let index = 10; index <= 14; index++) await store.applyBatch(insert(index), index);
    expect(await walBytes(fileSystem)).toBe(0);
    fileSystem = fileSystem.crash();
    store = await open(fileSystem, false);
    expect(store.appliedIndex()).toBe(9);
    expect(store.aggregate("narrow").count).toBe(16);
    await store.close();
  });

  it("makes an annex alone at the current index durable at once, with the unlogged batches below it", async () => {
    let fileSystem = createMemoryFileSystem();
    let store = await open(fileSystem, false);
    await store.applyBatch([{ kind: "createStream", stream: "narrow", schema: SCHEMAS.narrow! }], 1);
    await store.checkpoint();
    await store.applyBatch([], 1, Uint8Array.of(4, 2));
    // Unlogged batches, then an annex alone at their index: it must not claim them without them.
    await store.applyBatch([{ kind: "insert", stream: "narrow", timestamps: [5, 6], columns: { value: [1, 2] } }], 2);
    await store.applyBatch([{ kind: "insert", stream: "narrow", timestamps: [7], columns: { value: [3] } }], 3);
    await store.applyBatch([], 3, Uint8Array.of(9));
    expect(await walBytes(fileSystem)).toBe(0);
    fileSystem = fileSystem.crash();
    store = await open(fileSystem, false);
    expect(store.appliedIndex()).toBe(3);
    expect(store.annex()).toEqual(Uint8Array.of(9));
    expect(store.aggregate("narrow").count).toBe(3);
    store.checkIntegrity();
    await store.close();
  });

  it("replays the WAL a store with walSync true wrote", async () => {
    let fileSystem = createMemoryFileSystem();
    let store = await open(fileSystem, true);
    await store.applyBatch([{ kind: "createStream", stream: "narrow", schema: SCHEMAS.narrow! }], 1);
    await store.applyBatch([{ kind: "insert", stream: "narrow", timestamps: [5, 6, 7], columns: { value: [1, 2, 3] } }], 2, Uint8Array.of(2));
    expect(await walBytes(fileSystem)).toBeGreaterThan(0);
    fileSystem = fileSystem.crash();
    store = await open(fileSystem, false);
    expect(store.appliedIndex()).toBe(2);
    expect(store.annex()).toEqual(Uint8Array.of(2));
    expect(store.aggregate("narrow").count).toBe(3);
    await store.close();
  });

  it("background checkpoints with a small cache budget and exports running meanwhile: the same store as a synced one", async () => {
    await fc.assert(fc.asyncProperty(logArbitrary, fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
      async (log, exportPoints) => {
        const last = log.length + 1;
        const options = { directory: "/s", blockBytes: 1024, walCheckpointBytes: 4000, cacheBytes: 8 * 1024 };
        const store = await openEventStore({ ...options, fileSystem: createMemoryFileSystem(), walSync: false });
        const reference = await openEventStore({ ...options, fileSystem: createMemoryFileSystem(), walSync: true });
        const create: Operation[] = [{ kind: "createStream", stream: "wide", schema: SCHEMAS.wide! }];
        await store.applyBatch(create, 1);
        await reference.applyBatch(create, 1);
        // Exports started at some batches, read to the end a few batches later (their pins overlap checkpoints).
        const pending: { at: number; expected: Promise<Buffer>; actual: AsyncIterable<Uint8Array> }[] = [];
        const readAll = async (chunks: AsyncIterable<Uint8Array>): Promise<Buffer> => {
          const parts: Uint8Array[] = [];
          for await (const chunk of chunks) parts.push(chunk);
          return Buffer.concat(parts);
        };
        for (let index = 2; index <= last; index++) {
          await store.applyBatch(batchAt(log, index), index);
          await reference.applyBatch(batchAt(log, index), index);
          if (exportPoints.some((point) => 2 + (point % log.length) === index)) {
            pending.push({ at: index, expected: readAll(reference.exportSnapshot()), actual: store.exportSnapshot() });
          }
          for (const started of pending.filter((item) => item.at === index - 2)) {
            expect(await readAll(started.actual)).toEqual(await started.expected);
          }
          expect(store.aggregate("wide", { from: 500, to: 1500 })).toEqual(reference.aggregate("wide", { from: 500, to: 1500 }));
        }
        for (const started of pending.filter((item) => item.at > last - 2)) {
          expect(await readAll(started.actual)).toEqual(await started.expected);
        }
        store.checkIntegrity();
        expect(store.scan("wide", { limit: 100_000 })).toEqual(reference.scan("wide", { limit: 100_000 }));
        expect(await exported(store)).toEqual(await exported(reference));
        await store.close();
        await reference.close();
      }), { numRuns: 40 });
  });

  it("an export starts a checkpoint in the background (a raft host compacts its log after saving one)", async () => {
    const fileSystem = createMemoryFileSystem();
    const counted = holdBlocksSync(fileSystem);
    const store = await openEventStore({ fileSystem: counted.fileSystem, directory: "/s", blockBytes: 1024, walSync: false });
    await store.applyBatch([{ kind: "createStream", stream: "narrow", schema: SCHEMAS.narrow! }], 1);
    for (let index = 2; index <= 6; index++) {
      await store.applyBatch([{ kind: "insert", stream: "narrow", timestamps: [index * 10, index * 10 + 1],
        columns: { value: [index, -index] } }], index);
    }
    const commits = counted.commits();
    await exported(store);
    for (let turn = 0; turn < 2000 && counted.commits() === commits; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(counted.commits()).toBe(commits + 1);
    const reopened = await open(fileSystem.crash(), false);
    expect(reopened.appliedIndex()).toBe(6);
    expect(reopened.aggregate("narrow").count).toBe(10);
    await reopened.close();
    await store.close().catch(() => undefined); // its file system view died in the crash
  });

  it("applies batches while a checkpoint's writes are held, and the checkpoint holds the content of its start", async () => {
    let fileSystem = createMemoryFileSystem();
    const gate = holdBlocksSync(fileSystem);
    const store = await openEventStore({ fileSystem: gate.fileSystem, directory: "/s", blockBytes: 1024,
      walCheckpointBytes: 3000, walSync: false });
    await store.applyBatch([{ kind: "createStream", stream: "narrow", schema: SCHEMAS.narrow! }], 1);
    await store.checkpoint();
    gate.hold();
    // In order, then late events into the blocks the held checkpoint is writing (copied first).
    const insert = (index: number): Operation[] => [{ kind: "insert", stream: "narrow",
      timestamps: Array.from({ length: 40 }, (_, row) => (index % 2 === 0 ? index * 100 : 150) + row),
      columns: { value: Array.from({ length: 40 }, (_, row) => index + row / 4) } }];
    let index = 1;
    while (gate.waiting() === 0) {
      index++;
      await store.applyBatch(insert(index), index);
    }
    const captured = index;
    // Fewer than a checkpoint's worth of records: the next checkpoint would wait for this one.
    for (let more = 0; more < 3; more++) {
      index++;
      await store.applyBatch(insert(index), index);
    }
    expect(gate.waiting()).toBe(1);
    expect(store.aggregate("narrow").count).toBe(40 * (index - 1));
    store.checkIntegrity();
    // A crash now: the held checkpoint never committed; the store reopens at the one before.
    const crashed = fileSystem.crash();
    gate.release(); // the held checkpoint goes on against the dead view and fails, recorded
    let reopened = await open(crashed, false);
    expect(reopened.appliedIndex()).toBe(1);
    await reopened.close();
    await expect(store.applyBatch(insert(index + 1), index + 1)).rejects.toThrow();
    // The same again, released: the checkpoint commits exactly the batches up to its start.
    fileSystem = createMemoryFileSystem();
    const second = holdBlocksSync(fileSystem);
    const again = await openEventStore({ fileSystem: second.fileSystem, directory: "/s", blockBytes: 1024,
      walCheckpointBytes: 3000, walSync: false });
    await again.applyBatch([{ kind: "createStream", stream: "narrow", schema: SCHEMAS.narrow! }], 1);
    await again.checkpoint();
    second.hold();
    const commitsBefore = second.commits();
    for (let at = 2; at <= index; at++) await again.applyBatch(insert(at), at);
    expect(second.waiting()).toBe(1);
    second.release();
    for (let turn = 0; turn < 2000 && second.commits() === commitsBefore; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(second.commits()).toBe(commitsBefore + 1);
    reopened = await open(fileSystem.crash(), false);
    expect(reopened.appliedIndex()).toBe(captured);
    expect(reopened.aggregate("narrow").count).toBe(40 * (captured - 1));
    reopened.checkIntegrity();
    await reopened.close();
    await again.close().catch(() => undefined); // its file system view died in the crash
  });
});

/** Wraps `fileSystem`: while held, datasync of the blocks file waits until release. */
function holdBlocksSync(fileSystem: MemoryFileSystem): { fileSystem: EngineFileSystem; hold(): void;
  release(): void; waiting(): number; commits(): number } {
  let held = false;
  let commits = 0;
  let waiters: (() => void)[] = [];
  const wrapped: EngineFileSystem = {
    open: async (path, mode) => {
      const file = await fileSystem.open(path, mode);
      if (!path.endsWith("/blocks")) return file;
      return {
        path: file.path,
        write: (buffers, position) => file.write(buffers, position),
        datasync: async () => {
          if (held) await new Promise<void>((resolve) => waiters.push(resolve));
          await file.datasync();
        },
        read: (buffer, position) => file.read(buffer, position),
        readSync: (buffer, position) => file.readSync(buffer, position),
        size: () => file.size(),
        truncate: (size) => file.truncate(size),
        close: () => file.close(),
      };
    },
    readdir: (directory) => fileSystem.readdir(directory),
    mkdir: (directory) => fileSystem.mkdir(directory),
    rename: async (from, to) => {
      await fileSystem.rename(from, to);
      if (to.endsWith("/manifest")) commits++;
    },
    unlink: (path) => fileSystem.unlink(path),
    syncDirectory: (directory) => fileSystem.syncDirectory(directory),
  };
  return {
    fileSystem: wrapped,
    hold: () => { held = true; },
    release: () => {
      held = false;
      for (const resolve of waiters) resolve();
      waiters = [];
    },
    waiting: () => waiters.length,
    commits: () => commits,
  };
}
