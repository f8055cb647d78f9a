/**
 * EventStore.applyBatch's contract (LEADER's request, session 10): the
 * operations' arrays are read only until the returned promise settles, so a
 * caller may overwrite them afterwards (the event store's apply decodes each
 * Insert into reused memory). Every batch's arrays are overwritten with other
 * values right after it settles — in order and late rows, spread blocks, apply
 * slices, background checkpoints, evictions and a reopen — and the store must
 * answer like the model of the values it was given.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createMemoryFileSystem, openEventStore, type EventStoreOptions, type InsertOperation } from "../../../examples/event-store/engine/index.js";
import { BLOCK_BYTES, expectedScan, insertOf, SCHEMAS } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

/** Overwrites every array of `operation` in place with values of the right types. */
function scribble(operation: InsertOperation): void {
  (operation.timestamps as Float64Array).fill(7);
  for (const values of Object.values(operation.columns) as unknown[][]) {
    for (let row = 0; row < values.length; row++) {
      const value = values[row];
      values[row] = typeof value === "string" ? "scribbled" : typeof value === "boolean" ? !value : -123.5;
    }
  }
}

describe("applyBatch and the caller's arrays", () => {
  it("keeps nothing of an operation's arrays once the batch has settled", async () => {
    const event = fc.record({
      timestamp: fc.integer({ min: 0, max: 600 }),
      values: fc.record({
        price: fc.integer({ min: -1000, max: 1000 }).map((value) => value / 4),
        quantity: fc.integer({ min: -1000, max: 1000 }),
        flag: fc.boolean(),
        label: fc.oneof(fc.constant(""), fc.string({ maxLength: 12 })),
      }),
    });
    await fc.assert(fc.asyncProperty(fc.array(fc.array(event, { minLength: 1, maxLength: 120 }), { minLength: 1, maxLength: 8 }),
      fc.boolean(), fc.boolean(), async (unsorted, walSync, sliced) => {
        const batches = unsorted.map((batch, at) => (at % 2 === 0 ? [...batch].sort((a, b) => a.timestamp - b.timestamp) : batch));
        const options: EventStoreOptions = { fileSystem: createMemoryFileSystem(), directory: "/a", blockBytes: BLOCK_BYTES, walSync,
          cacheBytes: 8192, walCheckpointBytes: 4096,
          ...(sliced ? { applySlices: { rows: 5, yieldNow: async () => undefined } } : {}) };
        let store = await openEventStore(options);
        await store.applyBatch([{ kind: "createStream", stream: "wide", schema: SCHEMAS.wide! }], 1);
        const model = new ModelStream(SCHEMAS.wide!);
        for (const [at, batch] of batches.entries()) {
          const operation = insertOf("wide", SCHEMAS.wide!, batch);
          await store.applyBatch([operation], at + 2);
          scribble(operation);
          for (const row of batch) model.insert(row);
        }
        store.checkIntegrity();
        expect(expectedScan(store, "wide", -Infinity, Infinity, 10_000, false)).toEqual(model.events);
        expect(store.aggregate("wide", { from: -Infinity, to: Infinity })).toEqual(model.aggregate(-Infinity, Infinity));
        await store.checkpoint();
        await store.close();
        store = await openEventStore(options);
        expect(expectedScan(store, "wide", -Infinity, Infinity, 10_000, false)).toEqual(model.events);
        await store.close();
      }), { numRuns: 40, seed: 12 });
  });
});
