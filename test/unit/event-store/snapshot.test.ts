import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, EventStoreErrorCode, importEventStore, isEventStoreError,
  openEventStore, type EventStore,
} from "../../../examples/event-store/engine/index.js";
import { BLOCK_BYTES, expectedScan, insertOf, SCHEMAS } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const result: Uint8Array[] = [];
  for await (const chunk of chunks) result.push(chunk);
  return result;
}

function joined(chunks: readonly Uint8Array[]): Uint8Array {
  const result = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    result.set(chunk, at);
    at += chunk.byteLength;
  }
  return result;
}

/** Re-cuts a byte stream into chunks of `size` (a transport may cut anywhere). */
async function* recut(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.slice(at, at + size);
}

function events(batch: number, count: number): ModelEvent[] {
  return Array.from({ length: count }, (_, row) => ({
    timestamp: row % 7 === 3 ? batch * 100 + row - 250 : batch * 100 + row,
    values: { price: row * 0.25 - batch, quantity: row * batch, flag: row % 2 === 0,
      label: `r${row}é${batch}` },
  }));
}

async function filledStore(batches: number): Promise<{ store: EventStore; model: ModelStream }> {
  const store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/a",
    blockBytes: BLOCK_BYTES, walCheckpointBytes: 5000 });
  await store.applyBatch([{ kind: "createStream", stream: "wide", schema: SCHEMAS.wide! },
    { kind: "createStream", stream: "empty", schema: SCHEMAS.narrow! }], 1);
  const model = new ModelStream(SCHEMAS.wide!);
  for (let batch = 1; batch <= batches; batch++) {
    const rows = events(batch, 150);
    await store.applyBatch([insertOf("wide", SCHEMAS.wide!, rows)], batch + 1);
    for (const row of rows) model.insert(row);
  }
  return { store, model };
}

describe("snapshots", () => {
  it("rebuild a store with the same content, exporting the same bytes", async () => {
    const { store, model } = await filledStore(12);
    const exported = joined(await collect(store.exportSnapshot()));
    const copy = await importEventStore({ fileSystem: createMemoryFileSystem(), directory: "/b" },
      recut(exported, 777));
    copy.checkIntegrity();
    expect(copy.appliedIndex()).toBe(store.appliedIndex());
    expect(copy.streamNames()).toEqual(["wide", "empty"]);
    expect(expectedScan(copy, "wide", -Infinity, Infinity, 500, false)).toEqual(model.events);
    expect(copy.statistics("wide")).toEqual(store.statistics("wide"));
    expect(joined(await collect(copy.exportSnapshot()))).toEqual(exported);
    await copy.applyBatch([insertOf("wide", SCHEMAS.wide!, events(99, 10))], 100);
    expect(copy.statistics("wide").eventCount).toBe(model.events.length + 10);
  });

  it("holds the content of the moment of the call while writes go on", async () => {
    const { store, model } = await filledStore(5);
    const before = model.events.slice();
    const snapshot = store.exportSnapshot();
    const index = store.appliedIndex();
    for (let batch = 6; batch <= 9; batch++) {
      await store.applyBatch([insertOf("wide", SCHEMAS.wide!, events(batch, 150))], batch + 1);
    }
    const copy = await importEventStore({ fileSystem: createMemoryFileSystem(), directory: "/c" },
      snapshot);
    expect(copy.appliedIndex()).toBe(index);
    expect(expectedScan(copy, "wide", -Infinity, Infinity, 1000, false)).toEqual(before);
    store.checkIntegrity();
    expect(store.statistics("wide").eventCount).toBe(before.length + 600);
  });

  it("reports damage with the offset in the snapshot, and leaves no store behind", async () => {
    const { store } = await filledStore(3);
    const exported = joined(await collect(store.exportSnapshot()));
    const fileSystem = createMemoryFileSystem();
    for (const offset of [5, 200, exported.byteLength - 30, exported.byteLength - 4]) {
      const damaged = exported.slice();
      damaged[offset] = damaged[offset]! ^ 0x40;
      const error = await importEventStore({ fileSystem, directory: "/d" },
        recut(damaged, 4096)).catch((reason: unknown) => reason);
      expect(isEventStoreError(error, EventStoreErrorCode.Corrupt)).toBe(true);
      expect(String(error)).toMatch(/file snapshot, offset \d+/);
    }
    const truncated = await importEventStore({ fileSystem, directory: "/d" },
      recut(exported.slice(0, exported.byteLength - 100), 4096)).catch((reason: unknown) => reason);
    expect(String(truncated)).toMatch(/snapshot ends inside/);
    expect(await fileSystem.readdir("/d")).toEqual([]);
    const existing = await importEventStore({ fileSystem: createMemoryFileSystem(),
      directory: "/a" }, recut(exported, 4096));
    const again = await importEventStore({ fileSystem: createMemoryFileSystem(), directory: "/a" },
      recut(exported, 4096));
    expect(again.appliedIndex()).toBe(existing.appliedIndex());
  });
});
