import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createDeterministicRandom } from "../../../framework/statemachine/index.js";

const draw = (partition: number, index: number, position: number, count = 4) => {
  const random = createDeterministicRandom(partition, index, position);
  return Array.from({ length: count }, () => random.nextUint32());
};

describe("deterministic random", () => {
  it("gives one stream per (partition, index, position), another for any other", () => {
    expect(draw(1, 10, 0)).toEqual(draw(1, 10, 0));
    const streams = [
      draw(1, 10, 0),
      draw(2, 10, 0),
      draw(1, 11, 0),
      draw(1, 10, 1),
      draw(1, 2 ** 32 + 10, 0),
    ];
    expect(new Set(streams.map((stream) => stream.join(","))).size).toBe(streams.length);
  });

  it("keeps nextInt in [0, bound) and nextFloat in [0, 1)", () => {
    const bounds = fc.integer({ min: 1, max: 2 ** 32 });
    fc.assert(
      fc.property(fc.nat(), fc.nat(), bounds, (partition, index, bound) => {
        const random = createDeterministicRandom(partition, index, 0);
        const value = random.nextInt(bound);
        const float = random.nextFloat();
        return Number.isInteger(value) && value >= 0 && value < bound && float >= 0 && float < 1;
      }),
    );
  });

  it("refuses bad seeds and bounds, naming the value", () => {
    expect(() => createDeterministicRandom(-1, 0, 0)).toThrowError("seed partitionId = -1");
    expect(() => createDeterministicRandom(0, 1.5, 0)).toThrowError("seed index = 1.5");
    expect(() => createDeterministicRandom(0, 0, 0).nextInt(0)).toThrowError("nextInt bound = 0");
  });
});
