import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatWithOrder, MergeScratch, mergeSorted, sortedOrder } from "../../../examples/event-store/service/columnar-events.js";
import type { FieldSpec } from "../../../examples/event-store/engine/index.js";

/** The leader's merge against a naive stable sort of the concatenated rows. */
const fields: FieldSpec[] = [
  { name: "price", type: "double", aggregated: true },
  { name: "flag", type: "bool", aggregated: false },
  { name: "venue", type: "string", aggregated: false },
];

const part = fc.array(fc.record({ timestamp: fc.integer({ min: 0, max: 30 }), price: fc.double({ noNaN: true }),
  flag: fc.boolean(), venue: fc.string({ maxLength: 3 }), id: fc.string({ maxLength: 2 }) }), { maxLength: 40 })
  .chain((rows) => fc.boolean().map((sorted) =>
    (sorted ? [...rows].sort((a, b) => a.timestamp - b.timestamp) : rows)));

describe("merge of buffered inserts", () => {
  it("equals a stable sort of the concatenation, numbers as Float64Arrays, and says where each row came from", () => {
    fc.assert(fc.property(fc.array(part, { maxLength: 6 }), fc.boolean(), (parts, typed) => {
      const columnar = parts.map((rows) => ({
        timestamps: typed ? Float64Array.from(rows, (row) => row.timestamp) : rows.map((row) => row.timestamp),
        columns: { price: typed ? Float64Array.from(rows, (row) => row.price) : rows.map((row) => row.price),
          flag: rows.map((row) => row.flag), venue: rows.map((row) => row.venue) },
        ids: rows.map((row) => row.id),
      }));
      const flat = parts.flat();
      const expected = flat.map((row, position) => ({ row, position }))
        .sort((a, b) => a.row.timestamp - b.row.timestamp || a.position - b.position);
      const { events, order } = mergeSorted(columnar, fields);
      expect(events.timestamps).toBeInstanceOf(Float64Array);
      expect(events.columns["price"]).toBeInstanceOf(Float64Array); // so the cast below holds
      expect(Array.from(events.timestamps)).toEqual(expected.map(({ row }) => row.timestamp));
      expect(Array.from(events.columns["price"] as Float64Array)).toEqual(expected.map(({ row }) => row.price));
      expect(events.columns["flag"]).toEqual(expected.map(({ row }) => row.flag));
      expect(events.columns["venue"]).toEqual(expected.map(({ row }) => row.venue));
      expect(events.ids).toEqual(expected.map(({ row }) => row.id));
      const positions = order === undefined ? flat.map((_, position) => position) : Array.from(order);
      expect(positions).toEqual(expected.map(({ position }) => position));
    }), { numRuns: 300 });
  });

  it("merges parts lying back to back in one buffer (the leader's column memory) as it merges separate arrays", () => {
    const numeric: FieldSpec[] = [{ name: "price", type: "double", aggregated: true }];
    const rows = fc.array(fc.record({ timestamp: fc.integer({ min: 0, max: 30 }), price: fc.double({ noNaN: true }) }),
      { minLength: 1, maxLength: 30 }).chain((list) => fc.boolean().map((sorted) =>
      (sorted ? [...list].sort((a, b) => a.timestamp - b.timestamp) : list)));
    fc.assert(fc.property(fc.array(rows, { minLength: 1, maxLength: 6 }), fc.nat({ max: 3 }), fc.boolean(),
      (parts, gap, withScratch) => {
        // Lanes as the arena lays them out: each part's rows right after the previous part's (gap 0), or not.
        const total = parts.reduce((sum, list) => sum + list.length + gap, 0);
        const timestampLane = new Float64Array(total).fill(-1);
        const priceLane = new Float64Array(total).fill(-1);
        let at = 0;
        const inLanes = parts.map((list) => {
          const timestamps = timestampLane.subarray(at, at + list.length);
          const price = priceLane.subarray(at, at + list.length);
          list.forEach((row, index) => { timestamps[index] = row.timestamp; price[index] = row.price; });
          at += list.length + gap;
          return { timestamps, columns: { price }, ids: list.map(() => "") };
        });
        const separate = parts.map((list) => ({ timestamps: Float64Array.from(list, (row) => row.timestamp),
          columns: { price: Float64Array.from(list, (row) => row.price) }, ids: list.map(() => "") }));
        const expected = mergeSorted(separate, numeric);
        const merged = mergeSorted(inLanes, numeric, withScratch ? new MergeScratch() : undefined);
        expect(Array.from(merged.events.timestamps)).toEqual(Array.from(expected.events.timestamps));
        expect(Array.from(merged.events.columns["price"] as Float64Array))
          .toEqual(Array.from(expected.events.columns["price"] as Float64Array));
        expect(merged.order === undefined ? undefined : Array.from(merged.order))
          .toEqual(expected.order === undefined ? undefined : Array.from(expected.order));
        // The parts are not written by the merge.
        at = 0;
        parts.forEach((list) => {
          list.forEach((row, index) => { expect(timestampLane[at + index]).toBe(row.timestamp); });
          at += list.length + gap;
        });
      }), { numRuns: 300 });
  });

  it("concatWithOrder: the parts as they came and the order that sorts them = mergeSorted, whatever the layout", () => {
    fc.assert(fc.property(fc.array(part, { maxLength: 6 }), fc.boolean(), fc.boolean(), (parts, backToBack, withScratch) => {
      const total = parts.reduce((sum, rows) => sum + rows.length, 0);
      const timestampLane = new Float64Array(total);
      const priceLane = new Float64Array(total);
      let at = 0;
      const columnar = parts.map((rows) => {
        const timestamps = backToBack ? timestampLane.subarray(at, at + rows.length) : new Float64Array(rows.length);
        const price = backToBack ? priceLane.subarray(at, at + rows.length) : new Float64Array(rows.length);
        rows.forEach((row, index) => { timestamps[index] = row.timestamp; price[index] = row.price; });
        at += rows.length;
        return { timestamps, columns: { price, flag: rows.map((row) => row.flag), venue: rows.map((row) => row.venue) },
          ids: rows.map((row) => row.id) };
      });
      const expected = mergeSorted(columnar, fields);
      const { events, order } = concatWithOrder(columnar, fields, withScratch ? new MergeScratch() : undefined);
      const rows = order === undefined ? Array.from({ length: total }, (_, row) => row) : Array.from(order);
      expect(order === undefined ? undefined : rows).toEqual(expected.order === undefined ? undefined : Array.from(expected.order));
      const sorted = <Value>(values: ArrayLike<Value>): Value[] => rows.map((row) => values[row]!);
      expect(sorted(events.timestamps)).toEqual(Array.from(expected.events.timestamps));
      expect(sorted(events.columns["price"] as Float64Array)).toEqual(Array.from(expected.events.columns["price"] as Float64Array));
      expect(sorted(events.columns["flag"] as boolean[])).toEqual(expected.events.columns["flag"]);
      expect(sorted(events.columns["venue"] as string[])).toEqual(expected.events.columns["venue"]);
      expect(sorted(events.ids)).toEqual(expected.events.ids);
      // Back to back: the timestamps are read in place (one view), not gathered.
      if (backToBack && parts.length > 1 && total > 0) expect((events.timestamps as Float64Array).buffer).toBe(timestampLane.buffer);
    }), { numRuns: 300 });
  });

  it("gives an order of its own: a later merge with the same scratch does not change it", () => {
    const scratch = new MergeScratch();
    const first = sortedOrder(Float64Array.of(5, 6, 1, 2, 3, 0, 4), scratch)!;
    const kept = Array.from(first);
    sortedOrder(Float64Array.of(9, 8, 7, 6, 5, 4, 3), scratch);
    sortedOrder(Float64Array.of(2, 1, 0), scratch);
    expect(Array.from(first)).toEqual(kept);
    expect(kept).toEqual([5, 2, 3, 4, 6, 0, 1]);
  });

  it("finds no permutation for keys already in order", () => {
    expect(sortedOrder(Float64Array.of(1, 1, 2, 5))).toBeUndefined();
    expect(Array.from(sortedOrder(Float64Array.of(3, 1, 2, 1))!)).toEqual([1, 3, 2, 0]);
  });
});
