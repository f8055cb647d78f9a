import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore, type ApplySlices, type EventStore,
} from "../../../examples/event-store/engine/index.js";
import { BLOCK_BYTES, expectedScan, insertOf, SCHEMAS } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

async function exported(store: EventStore): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.exportSnapshot()) chunks.push(chunk);
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
    // 10 batches of 175 rows in slices of 16: 10 yields per batch between slices (none before
    // the first), and 2 more per batch (after its check, after its WAL record's encoding).
    expect(yields).toBe(10 * Math.ceil(175 / 16) - 10 + 2 * 10);
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

  it("refuses a slice size that is not a positive integer, naming it", async () => {
    for (const rows of [0, -3, 2.5, Number.NaN]) {
      await expect(openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/bad",
        applySlices: { rows, yieldNow: async () => {} } })).rejects.toThrow(/applySlices\.rows = /);
    }
  });
});
