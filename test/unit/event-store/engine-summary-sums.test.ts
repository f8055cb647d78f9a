/**
 * Block and run summaries add values with plain double additions while each
 * one is exact, handing over to exact summation at the first inexact one
 * (issue #8, session 10). The partials must be exactly those of adding every
 * value with exactSumAdd — element for element, signed zeros too — so
 * summaries stay the same bits whichever way they were built.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exactSumAdd, type ExactSum } from "../../../examples/event-store/engine/exact-sum.js";
import { summarizeRows, summarizeSourceRows } from "../../../examples/event-store/engine/summary.js";

function reference(values: readonly number[], from: number, to: number): ExactSum {
  const sum: ExactSum = [];
  for (let row = from; row < to; row++) exactSumAdd(sum, values[row]!);
  return sum;
}

function expectSameBits(actual: readonly number[], expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((value, index) => expect(Object.is(value, expected[index])).toBe(true));
}

const value = fc.oneof(
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.integer({ min: -8000, max: 8000 }).map((eighths) => eighths / 8),
  fc.constantFrom(0, -0, 2 ** 53, -(2 ** 53), 1e308, -1e308, 1e-300, 0.1, 0.7, 1e16),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

describe("summary sums", () => {
  it("keep the partials of exact summation, element for element", () => {
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 300 }), fc.nat(), fc.nat(), (values, a, b) => {
      const from = a % values.length;
      const to = from + 1 + (b % (values.length - from));
      const column = Float64Array.from(values);
      const timestamps = Float64Array.from(values, (_, row) => row);
      const expected = reference(values, from, to);
      expectSameBits(summarizeRows(timestamps, [column], from, to).fields[0]!.sum, expected);
      expectSameBits(summarizeSourceRows(timestamps, [values], from, to).fields[0]!.sum, expected);
    }), { numRuns: 3000, seed: 10 });
  });

  it("hand over at the first inexact addition and at an overflow", () => {
    for (const values of [[1e16, 1, 1, 1, -1e16], [0.1, 0.2, 0.3], [1e308, 1e308, -1e308, 5], [-0, -0], [-0, 0], [3, -3, -0], [2 ** 53, 1, 1]]) {
      const column = Float64Array.from(values);
      expectSameBits(summarizeRows(Float64Array.from(values, (_, row) => row), [column], 0, values.length).fields[0]!.sum,
        reference(values, 0, values.length));
    }
  });
});
