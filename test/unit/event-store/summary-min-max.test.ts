/**
 * minOf / maxOf (summary.ts, session 12) keep two running extremes (even
 * and odd rows) instead of one chain of Math.min / Math.max: the result must
 * be the very bits of the one-chain loop, -0 and +0 included (Math.min takes
 * -0 over +0 in either order), for any range of any finite column.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { maxOf, minOf, summarizeRows, summarizeSourceRows } from "../../../examples/event-store/engine/summary.js";

const finite = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1, -1, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE),
);

function chainMin(values: ArrayLike<number>, from: number, to: number): number {
  let min = Infinity;
  for (let row = from; row < to; row++) min = Math.min(min, values[row]!);
  return min;
}

function chainMax(values: ArrayLike<number>, from: number, to: number): number {
  let max = -Infinity;
  for (let row = from; row < to; row++) max = Math.max(max, values[row]!);
  return max;
}

describe("summary min and max", () => {
  it("equal the one-chain Math.min / Math.max bit for bit over any range", () => {
    fc.assert(fc.property(fc.array(finite, { maxLength: 70 }), fc.nat(), fc.nat(), (values, a, b) => {
      const column = Float64Array.from(values);
      const from = values.length === 0 ? 0 : a % (values.length + 1);
      const to = from + (values.length === 0 ? 0 : b % (values.length - from + 1));
      expect(Object.is(minOf(column, from, to), chainMin(column, from, to))).toBe(true);
      expect(Object.is(maxOf(column, from, to), chainMax(column, from, to))).toBe(true);
    }), { numRuns: 2000 });
  });

  it("take -0 as the minimum and +0 as the maximum whatever their rows", () => {
    for (const values of [[0, -0], [-0, 0], [0, 0, -0], [-0, -0, 0], [0, 1, -0, 2], [3, 0, 5, -0, 0]]) {
      expect(Object.is(minOf(Float64Array.from(values), 0, values.length), -0)).toBe(true);
    }
    for (const values of [[0, -0], [-0, 0], [-0, -0, 0], [0, -1, -0, -2], [-3, -0, -5, 0, -0]]) {
      expect(Object.is(maxOf(Float64Array.from(values), 0, values.length), 0)).toBe(true);
    }
  });

  it("give a block's summary and an insert's summary (arrays too) the same extremes", () => {
    fc.assert(fc.property(fc.array(finite, { minLength: 1, maxLength: 40 }), (values) => {
      const timestamps = Float64Array.from(values, (_, row) => row);
      const fromBlock = summarizeRows(timestamps, [Float64Array.from(values)], 0, values.length).fields[0]!;
      const fromArray = summarizeSourceRows(Array.from(timestamps), [values], 0, values.length).fields[0]!;
      for (const field of [fromBlock, fromArray]) {
        expect(Object.is(field.min, chainMin(values, 0, values.length))).toBe(true);
        expect(Object.is(field.max, chainMax(values, 0, values.length))).toBe(true);
      }
    }), { numRuns: 500 });
  });
});
