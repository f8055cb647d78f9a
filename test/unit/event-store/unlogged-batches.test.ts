/**
 * walSync false (the replicated store's setting): batches are not written to
 * the WAL at all — the raft log holds them — and are durable only at
 * checkpoints, which still run every walCheckpointBytes of would-be records.
 * After a crash (unsynced writes lost, or kept in part) the store reopens at
 * a checkpoint holding exactly the batches up to it; replaying the batches
 * above it, as raft does, gives the same store as no crash at all. An annex
 * alone at the current index (the framework state after a snapshot restore:
 * no log replays it) is still written and synced.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore, type EventStore, type MemoryFileSystem, type Operation,
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

  it("writes and syncs an annex alone at the current index (no log replays it)", async () => {
    let fileSystem = createMemoryFileSystem();
    let store = await open(fileSystem, false);
    await store.applyBatch([{ kind: "createStream", stream: "narrow", schema: SCHEMAS.narrow! }], 1);
    await store.checkpoint();
    await store.applyBatch([], 1, Uint8Array.of(4, 2));
    expect(await walBytes(fileSystem)).toBeGreaterThan(0);
    fileSystem = fileSystem.crash();
    store = await open(fileSystem, false);
    expect(store.appliedIndex()).toBe(1);
    expect(store.annex()).toEqual(Uint8Array.of(4, 2));
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
});
