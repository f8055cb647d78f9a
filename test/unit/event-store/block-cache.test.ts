import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, createNodeFileSystem, EventStoreErrorCode, importEventStore,
  isEventStoreError, openEventStore, type EventStore, type EventStoreOptions, type MemoryFileSystem,
} from "../../../examples/event-store/engine/index.js";
import { expectedScan, insertOf, SCHEMAS } from "./harness.js";
import type { ModelEvent } from "./model.js";

/**
 * The block cache (docs/event-store.md "Block cache"): a store with a tiny
 * budget — every clean block evicted after each call, read back from its
 * slot when needed — answers every query, and exports every snapshot, bit
 * for bit like a store that keeps everything in memory; its resident bytes
 * stay within the budget; a damaged evicted block is reported when read.
 */
const UNLIMITED = Number.MAX_SAFE_INTEGER;
const NARROW = { kind: "createStream" as const, stream: "narrow", schema: SCHEMAS.narrow! };

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  const result = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    result.set(part, at);
    at += part.byteLength;
  }
  return result;
}

async function* chunksOf(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.byteLength; at += 5000) yield bytes.subarray(at, at + 5000);
}

/** One store of a pair: its file system, directory and options, so it can be reopened. */
interface Side {
  fileSystem: MemoryFileSystem;
  directory: string;
  store: EventStore;
  readonly cacheBytes: number;
  readonly blockBytes: number;
}

function optionsOf(side: Omit<Side, "store">): EventStoreOptions {
  return { fileSystem: side.fileSystem, directory: side.directory, blockBytes: side.blockBytes,
    cacheBytes: side.cacheBytes, walCheckpointBytes: 8192 };
}

async function openSide(cacheBytes: number, blockBytes: number): Promise<Side> {
  const location = { fileSystem: createMemoryFileSystem(), directory: "/store", cacheBytes,
    blockBytes };
  return { ...location, store: await openEventStore(optionsOf(location)) };
}

/** The tiny-budget store stays within its budget after every call. */
function expectWithinBudget(side: Side): void {
  const statistics = side.store.cacheStatistics();
  expect(statistics.residentBytes).toBeLessThanOrEqual(side.cacheBytes);
  expect(statistics.budgetBytes).toBe(side.cacheBytes);
}

function sameAnswers(small: EventStore, large: EventStore, stream: string, from: number,
  to: number, limit: number, width: number): void {
  expect(small.aggregate(stream, { from, to })).toEqual(large.aggregate(stream, { from, to }));
  expect(small.aggregate(stream)).toEqual(large.aggregate(stream));
  for (const descending of [false, true]) {
    expect(expectedScan(small, stream, from, to, limit, descending))
      .toEqual(expectedScan(large, stream, from, to, limit, descending));
  }
  expect(small.windows(stream, { from, to, width }))
    .toEqual(large.windows(stream, { from, to, width }));
  expect(small.latest(stream)).toEqual(large.latest(stream));
  expect(small.statistics(stream)).toEqual(large.statistics(stream));
}

const eventSpec = fc.record({
  late: fc.boolean(),
  offset: fc.nat({ max: 300 }),
  price: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  quantity: fc.integer({ min: -1000, max: 1000 }),
  flag: fc.boolean(),
  label: fc.string({ maxLength: 8 }),
});

const command = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("insert" as const),
    stream: fc.constantFrom("wide", "narrow"),
    events: fc.array(eventSpec, { minLength: 1, maxLength: 150 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("query" as const),
    stream: fc.constantFrom("wide", "narrow"), from: fc.nat(), width: fc.nat(),
    limit: fc.integer({ min: 1, max: 80 }), window: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("checkpoint" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reopen" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const) }) },
  // An export taken now, iterated after more late inserts and a checkpoint (copy-on-write
  // of evicted blocks, slots the export still reads); then the stores are rebuilt from it.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("export" as const),
    events: fc.array(eventSpec, { minLength: 1, maxLength: 60 }) }) },
);

type EventSpec = typeof eventSpec extends fc.Arbitrary<infer T> ? T : never;
type Command = typeof command extends fc.Arbitrary<infer T> ? T : never;

class PairRun {
  newest = 0;
  appliedIndex = 1;
  fresh = 0;

  constructor(readonly small: Side, readonly large: Side) {}

  modelEvents(stream: string, specs: readonly EventSpec[]): ModelEvent[] {
    return specs.map((spec) => {
      const timestamp = spec.late ? Math.max(0, this.newest - spec.offset) :
        this.newest + (spec.offset % 5);
      this.newest = Math.max(this.newest, timestamp);
      const values: ModelEvent["values"] = stream === "wide" ? {
        price: spec.price, quantity: spec.quantity, flag: spec.flag, label: spec.label,
      } : { value: spec.price };
      return { timestamp, values };
    });
  }

  async apply(stream: string, events: readonly ModelEvent[]): Promise<void> {
    const operation = insertOf(stream, SCHEMAS[stream]!, events);
    this.appliedIndex++;
    await this.small.store.applyBatch([operation], this.appliedIndex);
    await this.large.store.applyBatch([operation], this.appliedIndex);
  }

  async reopen(side: Side, crash: boolean): Promise<void> {
    if (crash) side.fileSystem = side.fileSystem.crash();
    else await side.store.close();
    side.store = await openEventStore(optionsOf(side));
  }

  async step(step: Command): Promise<void> {
    const { small, large } = this;
    if (step.kind === "insert") {
      await this.apply(step.stream, this.modelEvents(step.stream, step.events));
    } else if (step.kind === "query") {
      const from = step.from % (this.newest + 10) - 5;
      const to = from + step.width % (this.newest + 20);
      sameAnswers(small.store, large.store, step.stream, from, to, step.limit, step.window);
    } else if (step.kind === "checkpoint") {
      await small.store.checkpoint();
      await large.store.checkpoint();
    } else if (step.kind === "reopen" || step.kind === "crash") {
      await this.reopen(small, step.kind === "crash");
      await this.reopen(large, step.kind === "crash");
    } else {
      const pending = small.store.exportSnapshot();
      const now = await collect(large.store.exportSnapshot());
      // Held blocks read back by a query stay until the export has passed them.
      sameAnswers(small.store, large.store, "wide", -5, this.newest + 10, 1000, 100);
      const late = step.events.map((spec) => ({ ...spec, late: true }));
      await this.apply("wide", this.modelEvents("wide", late));
      await small.store.checkpoint();
      expect(await collect(pending)).toEqual(now);
      // Both stores rebuilt from the current content: the import path with a small budget.
      const current = await collect(large.store.exportSnapshot());
      expect(await collect(small.store.exportSnapshot())).toEqual(current);
      for (const side of [small, large]) {
        await side.store.close();
        side.directory = `/imported-${++this.fresh}`;
        side.store = await importEventStore(optionsOf(side), chunksOf(current));
        expect(side.store.appliedIndex()).toBe(this.appliedIndex);
      }
    }
    expectWithinBudget(small);
  }
}

describe("block cache", () => {
  it.each([
    { cacheBytes: 0, blockBytes: 1024 },
    { cacheBytes: 6000, blockBytes: 1024 },
    { cacheBytes: 40_000, blockBytes: 4096 },
  ])("a store with budget $cacheBytes B ($blockBytes-byte blocks) answers and exports like one " +
    "that keeps every block", async ({ cacheBytes, blockBytes }) => {
    await fc.assert(fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }),
      async (commands) => {
        const small = await openSide(cacheBytes, blockBytes);
        const large = await openSide(UNLIMITED, blockBytes);
        const run = new PairRun(small, large);
        for (const side of [small, large]) {
          await side.store.applyBatch(Object.entries(SCHEMAS).map(([stream, schema]) =>
            ({ kind: "createStream" as const, stream, schema })), 1);
        }
        for (const step of commands) await run.step(step);
        for (const stream of Object.keys(SCHEMAS)) {
          sameAnswers(small.store, large.store, stream, -5, run.newest + 10, 37, 50);
        }
        small.store.checkIntegrity();
        expectWithinBudget(small);
        expect(await collect(small.store.exportSnapshot()))
          .toEqual(await collect(large.store.exportSnapshot()));
        await small.store.close();
        await large.store.close();
      }), { numRuns: 25 });
  });

  it("keeps resident bytes within the budget while the stored blocks grow far past it",
    async () => {
      const budget = 8 * 4096;
      const side = await openSide(budget, 4096);
      await side.store.applyBatch([NARROW], 1);
      let index = 1;
      for (let batch = 0; batch < 100; batch++) {
        const timestamps = Float64Array.from({ length: 500 }, (_, row) => batch * 500 + row);
        await side.store.applyBatch([{ kind: "insert", stream: "narrow", timestamps,
          columns: { value: Float64Array.from(timestamps, (t) => t % 97) } }], ++index);
        expectWithinBudget(side);
      }
      await side.store.checkpoint();
      const filled = side.store.cacheStatistics();
      expect(filled.storedBlocks).toBeGreaterThan(150);
      expect(filled.residentBytes).toBeLessThanOrEqual(budget);
      expect(filled.residentBlocks).toBeLessThan(filled.storedBlocks / 10);
      // A whole-range aggregate reads no block (index summaries); a range opens its two edges.
      const before = side.store.cacheStatistics().loads;
      expect(side.store.aggregate("narrow").count).toBe(50_000);
      expect(side.store.cacheStatistics().loads).toBe(before);
      expect(side.store.aggregate("narrow", { from: 10_001, to: 39_999 }).count).toBe(29_998);
      expect(side.store.cacheStatistics().loads - before).toBeLessThanOrEqual(2);
      // A scan of everything reads every block back, and the cache ends within budget.
      const rows = expectedScan(side.store, "narrow", 0, 50_000, 10_000, false);
      expect(rows.map((row) => row.timestamp)).toEqual(Array.from({ length: 50_000 }, (_, t) => t));
      expect(side.store.cacheStatistics().loads - before)
        .toBeGreaterThanOrEqual(filled.storedBlocks - 8);
      expectWithinBudget(side);
      // Late events into old, evicted blocks: read back, changed, checkpointed, evicted again.
      const late = Float64Array.from({ length: 300 }, (_, row) => row * 160 + 7);
      await side.store.applyBatch([{ kind: "insert", stream: "narrow", timestamps: late,
        columns: { value: Float64Array.from(late, () => 1) } }], ++index);
      expectWithinBudget(side);
      expect(side.store.aggregate("narrow").count).toBe(50_300);
      side.store.checkIntegrity();
      expectWithinBudget(side);
      await side.store.close();
      side.store = await openEventStore(optionsOf(side));
      expectWithinBudget(side);
      expect(side.store.aggregate("narrow", { from: 0, to: 16_000 }).count).toBe(16_100);
      side.store.checkIntegrity();
      await side.store.close();
    });

  it("reports a damaged evicted block when a query or an export reads it back", async () => {
    const side = await openSide(0, 1024);
    await side.store.applyBatch([NARROW], 1);
    const timestamps = Float64Array.from({ length: 2000 }, (_, row) => row);
    await side.store.applyBatch([{ kind: "insert", stream: "narrow", timestamps,
      columns: { value: Float64Array.from(timestamps) } }], 2);
    await side.store.checkpoint();
    expect(side.store.cacheStatistics().residentBlocks).toBe(0);
    const blocks = side.fileSystem.readFile("/store/blocks");
    const slots = blocks.byteLength / 1024;
    expect(slots).toBeGreaterThan(10);
    const slot = 5;
    side.fileSystem.damage("/store/blocks", slot * 1024 + 100, new Uint8Array([0xff, 0xee]));
    const failure = (run: () => unknown): unknown => {
      try {
        run();
      } catch (error) {
        return error;
      }
      throw new Error("no error");
    };
    const error = failure(() => expectedScan(side.store, "narrow", 0, 2000, 5000, false));
    expect(isEventStoreError(error) && error.code).toBe(EventStoreErrorCode.Corrupt);
    expect(String(error))
      .toContain(`block: checksum mismatch (file /store/blocks, offset ${slot * 1024 + 4})`);
    // The index is untouched: summaries answer; the damaged block fails again.
    expect(side.store.aggregate("narrow").count).toBe(2000);
    expect(side.store.cacheStatistics().residentBytes).toBe(0);
    expect(String(failure(() => expectedScan(side.store, "narrow", 0, 2000, 5000, true))))
      .toContain(`offset ${slot * 1024 + 4}`);
    await expect(collect(side.store.exportSnapshot())).rejects.toThrow(
      `block: checksum mismatch (file /store/blocks, offset ${slot * 1024 + 4})`);
    await side.store.close();
  });

  it("applies a batch in slices while queries between the slices evict what they read",
    async () => {
      const stores: EventStore[] = [];
      for (const cacheBytes of [0, UNLIMITED]) {
        let store: EventStore | undefined;
        let queries = 0;
        let seen = 0;
        const yieldNow = async (): Promise<void> => {
          await Promise.resolve();
          // A query between two slices (the host never does this; a direct user may): it sees
          // a growing prefix of the batch, and its end evicts what it read.
          const count = store!.streamNames().length === 0 ? 0 :
            store!.scan("narrow", { from: 0, to: 3000, limit: 1_000_000 }).count;
          expect(count).toBeGreaterThanOrEqual(seen);
          seen = count;
          queries++;
        };
        store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/s",
          blockBytes: 1024, cacheBytes, applySlices: { rows: 50, yieldNow } });
        await store.applyBatch([NARROW], 1);
        const ordered = Float64Array.from({ length: 3000 }, (_, row) => row);
        await store.applyBatch([{ kind: "insert", stream: "narrow", timestamps: ordered,
          columns: { value: Float64Array.from(ordered, (t) => t * 0.5) } }], 2);
        await store.checkpoint();
        // Late rows spread over old (evicted) blocks, one slice of 50 at a time.
        const late = Float64Array.from({ length: 600 }, (_, row) => row * 5 + 1);
        await store.applyBatch([{ kind: "insert", stream: "narrow", timestamps: late,
          columns: { value: Float64Array.from(late, (t) => -t) } }], 3);
        expect(queries).toBeGreaterThan(10);
        expect(seen).toBeGreaterThan(3000);
        store.checkIntegrity();
        stores.push(store);
      }
      const [small, large] = stores as [EventStore, EventStore];
      sameAnswers(small, large, "narrow", 0, 3000, 333, 77);
      expect(small.cacheStatistics().residentBytes).toBe(0);
      expect(await collect(small.exportSnapshot())).toEqual(await collect(large.exportSnapshot()));
      await small.close();
      await large.close();
    });

  it("refuses a budget that is not a non-negative integer", async () => {
    for (const cacheBytes of [-1, 1.5, Number.NaN]) {
      await expect(openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/s",
        cacheBytes })).rejects.toThrow(`[invalid_argument] cacheBytes = ${cacheBytes}`);
    }
  });

  it("reads evicted blocks back from a real file (node file system, synchronous reads)",
    async () => {
      const directory = await mkdtemp(join(tmpdir(), "raftkit-block-cache-"));
      try {
        const options = { fileSystem: createNodeFileSystem(), directory, blockBytes: 1024,
          cacheBytes: 0 };
        let store = await openEventStore(options);
        await store.applyBatch([NARROW], 1);
        const timestamps = Float64Array.from({ length: 3000 }, (_, row) => 3 * row);
        await store.applyBatch([{ kind: "insert", stream: "narrow", timestamps,
          columns: { value: Float64Array.from(timestamps, (t) => t / 3) } }], 2);
        await store.close();
        store = await openEventStore(options);
        expect(store.cacheStatistics().residentBlocks).toBe(0);
        const rows = expectedScan(store, "narrow", 300, 6000, 400, false);
        expect(rows.map((row) => row.values.value))
          .toEqual(Array.from({ length: 1900 }, (_, k) => k + 100));
        expect(store.cacheStatistics().loads).toBeGreaterThan(30);
        expect(store.aggregate("narrow", { from: 1, to: 8000 }).fields.value!.sum)
          .toBe((2666 * 2667) / 2);
        await store.close();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });
});
