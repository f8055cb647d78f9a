/**
 * Late events go into their block as a run (one move of the block's rows per
 * run, not per event; a run that overflows the block is spread over it and
 * new blocks): an apply in slices of one row (which cuts in-order runs
 * everywhere but never a late run) builds the same blocks, splits and
 * summaries, bit for bit, and queries answer like the model.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createMemoryFileSystem, openEventStore, type ApplySlices, type EventStore } from "../../../examples/event-store/engine/index.js";
import { BLOCK_BYTES, expectedScan, insertOf, SCHEMAS } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

async function exported(store: EventStore): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.exportSnapshot()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const eventArbitrary: fc.Arbitrary<ModelEvent> = fc.record({
  timestamp: fc.integer({ min: 0, max: 400 }),
  values: fc.record({
    price: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    quantity: fc.integer({ min: -1000, max: 1000 }),
    flag: fc.boolean(),
    label: fc.string({ maxLength: 40 }),
  }),
});

/** Batches, most of them time-ordered (as the leader's flushes are), some not. */
const batchesArbitrary = fc.array(fc.record({ sorted: fc.boolean(), events: fc.array(eventArbitrary, { minLength: 1, maxLength: 120 }) }),
  { minLength: 1, maxLength: 8 }).map((batches) => batches.map(({ sorted, events }) =>
  (sorted ? [...events].sort((left, right) => left.timestamp - right.timestamp) : events)));

async function fill(batches: readonly ModelEvent[][], slices: ApplySlices | undefined): Promise<EventStore> {
  const store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/s",
    blockBytes: BLOCK_BYTES, ...(slices === undefined ? {} : { applySlices: slices }) });
  await store.applyBatch([{ kind: "createStream", stream: "wide", schema: SCHEMAS.wide! }], 1);
  for (const [at, batch] of batches.entries()) await store.applyBatch([insertOf("wide", SCHEMAS.wide!, batch)], at + 2);
  return store;
}

describe("late events inserted as runs", () => {
  it("builds the blocks, splits and summaries of an apply in slices of one row, bit for bit", async () => {
    let lateSeen = 0;
    let splitsSeen = 0;
    await fc.assert(fc.asyncProperty(batchesArbitrary, async (batches) => {
      const runs = await fill(batches, undefined);
      const alone = await fill(batches, { rows: 1, yieldNow: async () => undefined });
      runs.checkIntegrity();
      expect(await exported(runs)).toEqual(await exported(alone));
      expect(runs.statistics("wide")).toEqual(alone.statistics("wide"));
      for (const [from, to] of [[-Infinity, Infinity], [50, 250], [0, 1], [133, 390]] as const) {
        expect(runs.aggregate("wide", { from, to })).toEqual(alone.aggregate("wide", { from, to }));
      }
      const model = new ModelStream(SCHEMAS.wide!);
      for (const event of batches.flat()) model.insert(event);
      expect(expectedScan(runs, "wide", -Infinity, Infinity, 10_000, false)).toEqual(model.events);
      lateSeen += runs.statistics("wide").lateEventCount;
      splitsSeen += runs.statistics("wide").blockSplitCount;
      await Promise.all([runs.close(), alone.close()]);
    }), { numRuns: 60, seed: 8 });
    // Both the run path and its splits were exercised.
    expect(lateSeen).toBeGreaterThan(1000);
    expect(splitsSeen).toBeGreaterThan(20);
  });
});
