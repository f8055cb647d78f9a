import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../../../framework/raft/index.js";

describe("seeded random source", () => {
  it("replays the same sequence for the same seed and differs across seeds", () => {
    const draw = (seed: number) => {
      const random = createSeededRandom(seed);
      return Array.from({ length: 16 }, () => random.nextInt(1000));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it("stays within the bound and covers it roughly uniformly", () => {
    const random = createSeededRandom(1);
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) {
      const value = random.nextInt(10);
      expect(value >= 0 && value < 10).toBe(true);
      counts[value]!++;
    }
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(600);
  });

  it("rejects a bound that is not a positive integer, naming it", () => {
    const random = createSeededRandom(1);
    expect(() => random.nextInt(0)).toThrow(/bound = 0/);
    expect(() => random.nextInt(2.5)).toThrow(/bound = 2.5/);
  });
});
