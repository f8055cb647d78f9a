import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore, type ApplySlices, type EventStore,
} from "../../../examples/event-store/engine/index.js";
import { BLOCK_BYTES, expectedScan, insertOf, SCHEMAS } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

async function exported(store: EventStore): Promise<Uint8Array> {
  return collect(store.exportSnapshot());
}

async function collect(snapshot: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of snapshot) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** In-order runs with every seventh row late (before earlier batches), and a late batch. */
function events(batch: number, count: number): ModelEvent[] {
  return Array.from({ length: count }, (_, row) => ({
    timestamp: row % 7 === 3 ? batch * 100 + row - 250 : batch % 5 === 4 ? 50 + row : batch * 100 + row,
    values: { price: row * 0.25 - batch, quantity: row * batch, flag: row % 2 === 0, label: `r${row}·${batch}` },
  }));
}

async function fill(slices: ApplySlices | undefined): Promise<{ store: EventStore; model: ModelStream }> {
  const store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/s",
    blockBytes: BLOCK_BYTES, ...(slices === undefined ? {} : { applySlices: slices }) });
  await store.applyBatch([{ kind: "createStream", stream: "wide", schema: SCHEMAS.wide! }], 1);
  const model = new ModelStream(SCHEMAS.wide!);
  for (let batch = 1; batch <= 10; batch++) {
    const first = events(batch, 130);
    const second = events(batch + 20, 45);
    // Two inserts in one batch: a slice may end inside either, or between them.
    await store.applyBatch([insertOf("wide", SCHEMAS.wide!, first), insertOf("wide", SCHEMAS.wide!, second)],
      batch + 1);
    for (const row of [...first, ...second]) model.insert(row);
  }
  return { store, model };
}

describe("applying a batch in slices (issue #8: bounded work per event-loop turn)", () => {
  it("builds the same blocks, bit for bit, as one pass, yielding every `rows` rows", async () => {
    const whole = await fill(undefined);
    let yields = 0;
    const sliced = await fill({ rows: 16, yieldNow: async () => { yields++; } });
    // 10 batches of 175 rows in slices of at least 16 (a late run is never cut, so a slice may be
    // longer): at most 10 yields per batch between slices (none before the first), and 2 more per
    // batch (after its check, after its WAL record's encoding).
    expect(yields).toBeLessThanOrEqual(10 * Math.ceil(175 / 16) - 10 + 2 * 10);
    expect(yields).toBeGreaterThan(2 * 10);
    sliced.store.checkIntegrity();
    // Both paths of the insert were taken: in-order runs and late rows that split blocks.
    const statistics = sliced.store.statistics("wide");
    expect(statistics.lateEventCount).toBeGreaterThan(100);
    expect(statistics.blockSplitCount).toBeGreaterThan(0);
    expect(statistics.blockCount).toBeGreaterThan(10);
    expect(await exported(sliced.store)).toEqual(await exported(whole.store));
    expect(expectedScan(sliced.store, "wide", -Infinity, Infinity, 500, false)).toEqual(sliced.model.events);
    await Promise.all([whole.store.close(), sliced.store.close()]);
  });

  it("an export called while a batch applies in slices holds that batch whole and nothing after it", async () => {
    // Before: the export took the tree as it was at the yield — part of the batch's rows under the
    // previous applied index (a snapshot that, restored and replayed, holds those rows twice).
    let store: EventStore | undefined;
    let yields = 0;
    let midApply: AsyncIterable<Uint8Array> | undefined;
    let rowsAtExport = -1;
    store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/m", blockBytes: BLOCK_BYTES,
      applySlices: { rows: 16, yieldNow: async () => {
        yields++;
        if (yields === 5 && midApply === undefined) {
          rowsAtExport = store!.statistics("wide").eventCount;
          midApply = store!.exportSnapshot();
        }
      } } });
    const reference = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/r", blockBytes: BLOCK_BYTES });
    const batches = [
      [{ kind: "createStream" as const, stream: "wide", schema: SCHEMAS.wide! }],
      [insertOf("wide", SCHEMAS.wide!, events(1, 130))],
      [insertOf("wide", SCHEMAS.wide!, events(2, 130))],
    ];
    const [create, during, after] = batches;
    await store.applyBatch(create!, 1);
    await reference.applyBatch(create!, 1);
    await reference.applyBatch(during!, 2);
    const queued = store.applyBatch(during!, 2);
    await store.applyBatch(after!, 3);
    await queued;
    // The export was called inside batch 2's inserts (some of its rows in, not all).
    expect(midApply).toBeDefined();
    expect(rowsAtExport).toBeGreaterThan(0);
    expect(rowsAtExport).toBeLessThan(130);
    expect(Buffer.from(await collect(midApply!))).toEqual(Buffer.from(await exported(reference)));
    store.checkIntegrity();
    expect(store.statistics("wide").eventCount).toBe(260);
    await Promise.all([store.close(), reference.close()]);
  });

  it("refuses a slice size that is not a positive integer, naming it", async () => {
    for (const rows of [0, -3, 2.5, Number.NaN]) {
      await expect(openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/bad",
        applySlices: { rows, yieldNow: async () => {} } })).rejects.toThrow(/applySlices\.rows = /);
    }
  });
});
