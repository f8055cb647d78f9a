/**
 * Empty strings are implicit in a block's string column (issue #8, session
 * 10): the event store's `_id` of events without ids was a JS array of ""
 * per block (8 bytes of pointers per stored event that every full GC marks).
 * A column keeps entries only up to its last non-empty value; every path
 * that writes, moves, encodes, decodes, exports or reads strings must give
 * the same values as the model whatever mix of empty and non-empty strings
 * arrives, in order or late, resident or read back from the blocks file.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { appendRows, blockColumns, createBlock, type Block } from "../../../examples/event-store/engine/block.js";
import { createBlockHome } from "../../../examples/event-store/engine/stream.js";
import { createBlockLayout } from "../../../examples/event-store/engine/block-layout.js";
import {
  createMemoryFileSystem, importEventStore, openEventStore, type EventStore, type MemoryFileSystem, type StreamSchema,
} from "../../../examples/event-store/engine/index.js";
import { expectedScan, insertOf } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

const SCHEMA: StreamSchema = { fields: [
  { name: "value", type: "double", aggregated: true },
  { name: "id", type: "string" },
  { name: "note", type: "string" },
] };

function textsOf(block: Block): number[] {
  return blockColumns(block).map((column) => (column.kind === "string" ? column.texts.length : -1));
}

async function exported(store: EventStore): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.exportSnapshot()) chunks.push(chunk);
  return chunks;
}

async function* replay(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  yield* chunks;
}

function expectLikeModel(store: EventStore, model: ModelStream): void {
  store.checkIntegrity();
  expect(expectedScan(store, "s", -Infinity, Infinity, 10_000, false)).toEqual(model.events);
  const newest = model.events[model.events.length - 1];
  expect(store.latest("s")).toEqual(newest === undefined ? undefined : { timestamp: newest.timestamp, values: newest.values });
}

describe("empty strings in a block's string column", () => {
  it("hold no entries while every value is empty, then as many as up to the last non-empty one", () => {
    const home = createBlockHome(createBlockLayout(SCHEMA, 4096), undefined);
    const block = createBlock(home, 0);
    const source = (ids: string[]) => ({
      count: ids.length,
      timestamps: Float64Array.from(ids, (_, row) => row),
      columns: [
        { kind: "number" as const, values: new Float64Array(ids.length) },
        { kind: "string" as const, values: ids },
        { kind: "string" as const, values: ids.map(() => "") },
      ],
      rowStringBytes: Uint32Array.from(ids, (id) => Buffer.byteLength(id)),
    });
    appendRows(block, source(["", "", "", ""]), 0, 4);
    // Before: a JS array of four "" per string column ([-1, 4, 4]).
    expect(textsOf(block)).toEqual([-1, 0, 0]);
    appendRows(block, source(["", "x", ""]), 0, 3);
    expect(textsOf(block)).toEqual([-1, 6, 0]);
    const column = blockColumns(block)[1]!;
    expect(column.kind === "string" && column.texts).toEqual(["", "", "", "", "", "x"]);
  });

  it("an insert whose strings are all empty still counts the block's string bytes when it fills the block", async () => {
    // The checker leaves rowStringBytes out when every string is empty; appends must then size the
    // block with the strings it already holds (300 bytes here), not as if it held none.
    const store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/f", blockBytes: 1024 });
    await store.applyBatch([{ kind: "createStream", stream: "s", schema: SCHEMA }], 1);
    const model = new ModelStream(SCHEMA);
    const long: ModelEvent[] = [0, 1, 2].map((row) => ({ timestamp: row * 1000, values: { value: row, id: "", note: "n".repeat(100) } }));
    const empty: ModelEvent[] = Array.from({ length: 200 }, (_, row) => ({ timestamp: 3000 + row, values: { value: row, id: "", note: "" } }));
    // And late, between the long ones: a run that overflows their block is spread by bytes.
    const late: ModelEvent[] = Array.from({ length: 120 }, (_, row) => ({ timestamp: 1 + row * 15, values: { value: -row, id: "", note: "" } }));
    for (const [at, batch] of [long, empty, late].entries()) {
      await store.applyBatch([insertOf("s", SCHEMA, batch)], at + 2);
      for (const row of batch) model.insert(row);
    }
    expectLikeModel(store, model);
    expect(store.statistics("s").blockSplitCount).toBeGreaterThan(0);
    await store.close();
  });

  it("read back like the model: in order and late, after a reopen from disk, after a snapshot import", async () => {
    const event = fc.record({
      timestamp: fc.integer({ min: 0, max: 3_000 }),
      values: fc.record({
        value: fc.integer({ min: -50, max: 50 }),
        // Mostly empty, as ids of events without ids; now and then a value.
        id: fc.oneof({ weight: 8, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) }),
        note: fc.oneof({ weight: 20, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }),
      }),
    });
    await fc.assert(fc.asyncProperty(fc.array(fc.array(event, { minLength: 1, maxLength: 150 }), { minLength: 1, maxLength: 6 }),
      fc.boolean(), async (unsorted, sortBatches) => {
        const batches = sortBatches ? unsorted.map((batch) => [...batch].sort((a, b) => a.timestamp - b.timestamp)) : unsorted;
        const fileSystem: MemoryFileSystem = createMemoryFileSystem();
        // A small cache: blocks are evicted at checkpoints and read back (decoded) for later inserts.
        const options = { fileSystem, directory: "/e", blockBytes: 1024, cacheBytes: 4096, walCheckpointBytes: 4096 };
        let store = await openEventStore(options);
        await store.applyBatch([{ kind: "createStream", stream: "s", schema: SCHEMA }], 1);
        const model = new ModelStream(SCHEMA);
        for (const [at, batch] of batches.entries()) {
          await store.applyBatch([insertOf("s", SCHEMA, batch as ModelEvent[])], at + 2);
          for (const row of batch) model.insert(row);
        }
        expectLikeModel(store, model);
        await store.checkpoint();
        await store.close();
        store = await openEventStore(options);
        expectLikeModel(store, model);
        const chunks = await exported(store);
        await store.close();
        const imported = await importEventStore({ fileSystem: createMemoryFileSystem(), directory: "/i", blockBytes: 1024 }, replay(chunks));
        expectLikeModel(imported, model);
        await imported.close();
      }), { numRuns: 50, seed: 11 });
  });
});
