import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exactSumOf } from "../../../examples/event-store/engine/index.js";

describe("exact sum", () => {
  it("is exact where plain addition loses bits", () => {
    expect(exactSumOf([1e16, 1, -1e16])).toBe(1);
    expect(exactSumOf([0.1, 0.2, 0.3, -0.6])).toBe(exactSumOf([-0.6, 0.3, 0.2, 0.1]));
    expect(exactSumOf([1, 1e100, 1, -1e100])).toBe(2);
  });

  it("does not depend on the order of the values", () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.double({ min: -1e15, max: 1e15, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true })), { maxLength: 60 }),
      fc.integer(), (values, seed) => {
        const shuffled = values.slice();
        let state = seed >>> 0;
        for (let index = shuffled.length - 1; index > 0; index--) {
          state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
          const other = state % (index + 1);
          [shuffled[index], shuffled[other]] = [shuffled[other]!, shuffled[index]!];
        }
        expect(exactSumOf(shuffled)).toBe(exactSumOf(values));
      }), { numRuns: 300 });
  });

  it("equals integer arithmetic for safe integers whose sum stays safe", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -1e12, max: 1e12 }), { maxLength: 100 }),
      (values) => {
        const exact = values.reduce((sum, value) => sum + BigInt(value), 0n);
        expect(exactSumOf(values)).toBe(Number(exact));
      }));
  });

  it("rounds the exact sum once, to nearest even", () => {
    // 2^53 + 1 is not a double: exact sum 2^53 + 1 rounds to even 2^53; + 3 rounds to 2^53 + 4.
    expect(exactSumOf([2 ** 53, 1])).toBe(2 ** 53);
    expect(exactSumOf([2 ** 53, 1, 1e-300])).toBe(2 ** 53 + 2);
    expect(exactSumOf([2 ** 53, 3])).toBe(2 ** 53 + 4);
  });
});
