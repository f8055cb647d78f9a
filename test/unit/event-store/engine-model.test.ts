import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openEventStore } from "../../../examples/event-store/engine/index.js";
import {
  BLOCK_BYTES, createHarness, expectedScan, insertOf, SCHEMAS, type Harness,
} from "./harness.js";
import type { ModelEvent } from "./model.js";

/**
 * Property: under random interleavings of in-order and late inserts (with
 * ties), checkpoints, clean reopens and crashes, every query of the engine
 * equals the naive model's answer exactly, and the index invariants hold.
 */
const eventSpec = fc.record({
  late: fc.boolean(),
  offset: fc.nat({ max: 40 }),
  price: fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }),
    fc.double({ min: -1e15, max: 1e15, noNaN: true }), fc.constant(-0)),
  quantity: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.maxSafeInteger(),
    fc.constant(-Number.MAX_SAFE_INTEGER)),
  flag: fc.boolean(),
  label: fc.string({ maxLength: 6 }),
});

const command = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("insert" as const),
    stream: fc.constantFrom("wide", "narrow"),
    events: fc.array(eventSpec, { minLength: 1, maxLength: 200 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("checkpoint" as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("query" as const),
    stream: fc.constantFrom("wide", "narrow"), from: fc.nat(), width: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const) }) },
);

type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

async function run(harness: Harness, commands: readonly Command[]): Promise<void> {
  let newest = 0;
  for (const step of commands) {
    if (step.kind === "insert") {
      const schema = SCHEMAS[step.stream]!;
      const events: ModelEvent[] = step.events.map((spec) => {
        const timestamp = spec.late ? Math.max(0, newest - spec.offset) :
          newest + (spec.offset % 4);
        newest = Math.max(newest, timestamp);
        const values: ModelEvent["values"] = step.stream === "wide" ? {
          price: spec.price, quantity: spec.quantity, flag: spec.flag, label: spec.label,
        } : { value: spec.price };
        return { timestamp, values };
      });
      await harness.store.applyBatch([insertOf(step.stream, schema, events)],
        ++harness.appliedIndex);
      for (const event of events) harness.models.get(step.stream)!.insert(event);
    } else if (step.kind === "query") {
      // Queries between inserts: cached group summaries must follow every insert.
      const from = step.from % (newest + 10) - 5;
      const to = from + step.width % (newest + 20);
      expect(harness.store.aggregate(step.stream, { from, to }))
        .toEqual(harness.models.get(step.stream)!.aggregate(from, to));
    } else if (step.kind === "checkpoint") {
      await harness.store.checkpoint();
    } else {
      if (step.kind === "reopen") await harness.store.close();
      else harness.fileSystem = harness.fileSystem.crash();
      harness.store = await openEventStore({ fileSystem: harness.fileSystem,
        directory: "/store", blockBytes: harness.blockBytes, walCheckpointBytes: 4096 });
    }
  }
}

function checkQueries(harness: Harness, seed: number): void {
  const { store } = harness;
  store.checkIntegrity();
  expect(store.appliedIndex()).toBe(harness.appliedIndex);
  let state = seed >>> 0;
  const next = (bound: number): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % bound;
  };
  for (const [name, model] of harness.models) {
    const max = model.events.length === 0 ? 10 : model.events[model.events.length - 1]!.timestamp;
    expect(store.statistics(name).eventCount).toBe(model.events.length);
    expect(store.latest(name)).toEqual(model.latest());
    expect(store.aggregate(name)).toEqual(model.aggregate(-Infinity, Infinity));
    for (let query = 0; query < 12; query++) {
      const from = next(max + 10) - 5;
      const to = from + next(max + 10 - from + 5);
      expect(store.aggregate(name, { from, to })).toEqual(model.aggregate(from, to));
      const limit = 1 + next(60);
      const descending = next(2) === 1;
      const expected = model.inRange(from, to);
      expect(expectedScan(store, name, from, to, limit, descending))
        .toEqual(descending ? expected.slice().reverse() : expected);
      const width = 1 + next(50);
      const origin = next(20) - 10;
      expect(store.windows(name, { from, to, width, origin }).windows)
        .toEqual(model.windows(from, to, width, origin));
    }
  }
}

describe("event store engine against a naive model", () => {
  // 1 KiB blocks: many blocks, splits and index levels; 8 KiB blocks: hundreds
  // of rows per block, so range queries use (and inserts invalidate) cached groups.
  it.each([BLOCK_BYTES, 8192])("answers every query exactly like the model (%i-byte blocks)",
    async (blockBytes) => {
    await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }),
      fc.integer(), async (commands, seed) => {
        const harness = await createHarness(4096, blockBytes);
        await run(harness, commands);
        checkQueries(harness, seed);
        harness.store.checkIntegrity();
        await harness.store.close();
      }), { numRuns: 60 });
  });
});
