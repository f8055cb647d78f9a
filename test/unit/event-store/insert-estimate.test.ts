import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FieldSpec } from "../../../examples/event-store/engine/index.js";
import { columnarToWire } from "../../../examples/event-store/service/columnar-events.js";
import { estimateInsertBytes } from "../../../examples/event-store/service/insert-buffer.js";
import { encodeInsertCommand } from "../../../examples/event-store/service/insert-wire-encode.js";

/**
 * The buffer cuts proposals by estimated size: the estimate must bound the
 * encoded Insert from above, or a merged proposal exceeds the host's limit
 * and every caller in it fails (seen in the bench with number[] columns).
 */
const fields: FieldSpec[] = [
  { name: "price", type: "double", aggregated: true },
  { name: "size", type: "int64", aggregated: true },
  { name: "flag", type: "bool", aggregated: false },
  { name: "venue", type: "string", aggregated: false },
];

describe("insert size estimate", () => {
  it("is at least the encoded size of the proposal holding the insert", () => {
    const row = fc.record({ timestamp: fc.integer({ min: 0, max: 2 ** 52 }), price: fc.double({ noNaN: true }),
      size: fc.maxSafeInteger(), flag: fc.boolean(), venue: fc.string({ unit: "grapheme", maxLength: 8 }),
      id: fc.string({ unit: "grapheme", maxLength: 8 }) });
    fc.assert(fc.property(fc.array(row, { maxLength: 60 }), fc.boolean(), (rows, typed) => {
      const numbers = (values: number[]) => (typed ? Float64Array.from(values) : values);
      const events = {
        timestamps: numbers(rows.map((r) => r.timestamp)),
        columns: { price: numbers(rows.map((r) => r.price)), size: numbers(rows.map((r) => r.size)),
          flag: rows.map((r) => r.flag), venue: rows.map((r) => r.venue) },
        ids: rows.map((r) => r.id),
      };
      const encoded = encodeInsertCommand({ stream: "s", events: columnarToWire(events, fields), async: false });
      expect(estimateInsertBytes(events)).toBeGreaterThanOrEqual(encoded.length);
    }), { numRuns: 300 });
  });
});
