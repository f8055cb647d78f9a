import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore, type MemoryFileSystem,
} from "../engine/index.js";

/** The store's annex: opaque bytes durable with the batch that set them. */
const open = (fileSystem: MemoryFileSystem) =>
  openEventStore({ fileSystem, directory: "/store", blockBytes: 1024, walCheckpointBytes: 2000 });
const schema = { fields: [{ name: "value", type: "double" as const, aggregated: true }] };
const insert = (count: number, base: number) => ({
  kind: "insert" as const, stream: "s",
  timestamps: Array.from({ length: count }, (_, row) => base + row),
  columns: { value: Array.from({ length: count }, (_, row) => row / 2) },
});

describe("engine annex", () => {
  it("is empty for a new store and follows the last batch that set it, across reopen and checkpoint", async () => {
    let fileSystem = createMemoryFileSystem();
    let store = await open(fileSystem);
    expect(store.annex()).toEqual(new Uint8Array(0));
    await store.applyBatch([{ kind: "createStream", stream: "s", schema }], 1, Uint8Array.of(1, 2, 3));
    await store.applyBatch([insert(5, 0)], 2); // leaves the annex as it was
    expect(store.annex()).toEqual(Uint8Array.of(1, 2, 3));
    await store.applyBatch([], 3, Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2, 1));
    await store.close();
    store = await open(fileSystem); // close checkpointed: the manifest carries it
    expect(store.annex()).toEqual(Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2, 1));
    for (let index = 4; index < 40; index++) {
      await store.applyBatch([insert(20, index * 100)], index, Uint8Array.of(index));
    }
    // WAL checkpoints happened along the way; the tail is in the WAL.
    fileSystem = fileSystem.crash();
    store = await open(fileSystem);
    expect(store.appliedIndex()).toBe(39);
    expect(store.annex()).toEqual(Uint8Array.of(39));
    expect(store.aggregate("s").count).toBe(5 + 36 * 20);
  });
});

describe("engine annex at the current index", () => {
  it("an empty batch may set the annex without moving the index, and survives a crash", async () => {
    let fileSystem = createMemoryFileSystem();
    let store = await open(fileSystem);
    await store.applyBatch([{ kind: "createStream", stream: "s", schema }], 7);
    await store.applyBatch([], 7, Uint8Array.of(5));
    await expect(store.applyBatch([insert(1, 0)], 7, Uint8Array.of(6))).rejects.toThrow(/stale/);
    await expect(store.applyBatch([], 6, Uint8Array.of(6))).rejects.toThrow(/stale/);
    fileSystem = fileSystem.crash();
    store = await open(fileSystem);
    expect(store.appliedIndex()).toBe(7);
    expect(store.annex()).toEqual(Uint8Array.of(5));
  });
});

describe("engine without WAL sync", () => {
  it("reopens after a crash at some earlier batch, holding exactly the batches up to it", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      let fileSystem = createMemoryFileSystem();
      let store = await openEventStore({ fileSystem, directory: "/store", blockBytes: 1024,
        walCheckpointBytes: 20_000, walSync: false });
      await store.applyBatch([{ kind: "createStream", stream: "s", schema }], 1);
      await store.checkpoint();
      for (let index = 2; index <= 30; index++) {
        await store.applyBatch([insert(10, index * 100)], index, Uint8Array.of(index));
      }
      let state = seed;
      fileSystem = fileSystem.crash(() => {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        return state / 2 ** 32;
      });
      store = await openEventStore({ fileSystem, directory: "/store", walSync: false });
      const applied = store.appliedIndex();
      expect(applied).toBeGreaterThanOrEqual(1);
      expect(applied).toBeLessThanOrEqual(30);
      expect(store.aggregate("s").count).toBe(10 * (applied - 1));
      if (applied > 1) expect(store.annex()).toEqual(Uint8Array.of(applied));
    }
  });
});
