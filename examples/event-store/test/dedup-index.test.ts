/**
 * The dedup index against a model of its rule (dedup-index.ts): a row is a
 * duplicate when its id ("" = none) came earlier in the same batch, or is
 * held with a timestamp at or after the horizon (newest timestamp before the
 * batch minus the window); every other row with an id records it. Batches
 * without any id take the index's fast path; the model has none.
 */
import fc from "fast-check";
import { Session } from "node:inspector/promises";
import { describe, expect, it } from "vitest";
import { createDedupIndex } from "../service/dedup-index.js";

interface Batch {
  readonly timestamps: number[];
  readonly ids: string[];
}

function model(windowMicros: number) {
  const seen = new Map<string, number>();
  let newest = -Infinity;
  return (batch: Batch): number[] => {
    const horizon = newest - windowMicros;
    const inBatch = new Set<string>();
    const duplicates: number[] = [];
    batch.timestamps.forEach((timestamp, row) => {
      newest = Math.max(newest, timestamp);
      const id = batch.ids[row] ?? "";
      if (id === "") return;
      const held = seen.get(id);
      if (inBatch.has(id) || (held !== undefined && held >= horizon)) {
        duplicates.push(row);
        return;
      }
      inBatch.add(id);
      seen.set(id, Math.max(held ?? -Infinity, timestamp));
    });
    return duplicates;
  };
}

const batch: fc.Arbitrary<Batch> = fc.array(
  fc.record({ timestamp: fc.integer({ min: 0, max: 5000 }), id: fc.constantFrom("", "", "a", "b", "c", "d") }),
  { maxLength: 40 },
).chain((rows) => fc.boolean().map((withoutIds) => ({
  timestamps: rows.map((row) => row.timestamp),
  // Half the batches carry no id at all (the fast path), as most inserts do.
  ids: withoutIds ? rows.map(() => "") : rows.map((row) => row.id),
})));

describe("dedup index", () => {
  it("finds the model's duplicates, with and without ids, whole or in slices", async () => {
    let withoutIdBatches = 0;
    let duplicatesSeen = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { maxLength: 30 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 7 }),
        async (batches, windowMicros, sliceRows) => {
          const expected = model(windowMicros);
          const whole = createDedupIndex(windowMicros, undefined);
          const sliced = createDedupIndex(windowMicros, undefined);
          for (const each of batches) {
            const duplicates = expected(each);
            if (each.ids.every((id) => id === "")) withoutIdBatches += 1;
            duplicatesSeen += duplicates.length;
            expect(whole.filter(Float64Array.from(each.timestamps), each.ids)).toEqual(duplicates);
            expect(await sliced.filterInSlices(each.timestamps, each.ids, sliceRows, async () => {})).toEqual(duplicates);
          }
        }),
      { numRuns: 300 },
    );
    expect(withoutIdBatches).toBeGreaterThan(100);
    expect(duplicatesSeen).toBeGreaterThan(100);
  });

  it("a batch without ids still moves the window on: an id older than the window is no longer a duplicate", () => {
    const index = createDedupIndex(100, undefined);
    expect(index.filter([10], ["x"])).toEqual([]);
    expect(index.filter([50], ["x"])).toEqual([0]);
    // No ids: nothing recorded, but the newest timestamp moves to 1000 (horizon 900 for the next batch).
    expect(index.filter(Float64Array.from([1000, 20]), ["", ""])).toEqual([]);
    expect(index.filter([60], ["x"])).toEqual([]);
  });

  it("the pass over a batch without ids allocates nothing per row once optimized", async () => {
    // The newest-timestamp loop once boxed every new maximum in a fresh HeapNumber in V8's optimized code:
    // 16 bytes of garbage per event of an in-order batch on every replica. The sampling heap profiler
    // (garbage included) charges the index's code; rounds repeat until the loop is optimized.
    const index = createDedupIndex(60_000_000, undefined);
    const rows = 65_536;
    const timestamps = new Float64Array(rows);
    const ids = new Array<string>(rows).fill("");
    let base = 1_700_000_000_000_000;
    const session = new Session();
    session.connect();
    let charged = Infinity;
    try {
      for (let round = 0; round < 40 && charged >= 1024 * 1024; round++) {
        await session.post("HeapProfiler.startSampling", { samplingInterval: 4096,
          includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        for (let batch = 0; batch < 16; batch++) {
          for (let row = 0; row < rows; row++) timestamps[row] = base + row;
          base += rows;
          expect(index.filter(timestamps, ids)).toEqual([]);
        }
        const { profile } = await session.post("HeapProfiler.stopSampling");
        charged = 0;
        const visit = (node: typeof profile.head): void => {
          if (node.callFrame.url.includes("service/dedup-index")) charged += node.selfSize;
          node.children.forEach(visit);
        };
        visit(profile.head);
      }
    } finally {
      session.disconnect();
    }
    // A round is 1 M events: 16 MB of garbage with the boxing loop, ~0 without.
    expect(charged).toBeLessThan(1024 * 1024);
    // The window moved on to the last batch's newest timestamp: an id 1 µs inside it is a duplicate.
    expect(index.filter([base - 1], ["x"])).toEqual([]);
    expect(index.filter([base - 2], ["x"])).toEqual([0]);
  });
});
