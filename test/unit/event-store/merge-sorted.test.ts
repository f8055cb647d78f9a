import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergeSorted, sortedOrder } from "../../../examples/event-store/service/columnar-events.js";
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

  it("finds no permutation for keys already in order", () => {
    expect(sortedOrder(Float64Array.of(1, 1, 2, 5))).toBeUndefined();
    expect(Array.from(sortedOrder(Float64Array.of(3, 1, 2, 1))!)).toEqual([1, 3, 2, 0]);
  });
});
