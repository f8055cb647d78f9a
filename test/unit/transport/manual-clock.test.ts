import { describe, expect, it } from "vitest";
import { createManualClock } from "../../../framework/transport/index.js";

describe("ManualClock", () => {
  it("fires due timers in deadline order, each at its own time, and honours cancel", () => {
    const clock = createManualClock(1000);
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(["b", clock.now()]), 20);
    clock.setTimeout(() => fired.push(["a", clock.now()]), 10);
    const cancelled = clock.setTimeout(() => fired.push(["x", clock.now()]), 15);
    clock.setTimeout(() => {
      fired.push(["c", clock.now()]);
      clock.setTimeout(() => fired.push(["nested", clock.now()]), 5);
    }, 20);
    cancelled.cancel();
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(16);
    expect(fired).toEqual([
      ["a", 1010],
      ["b", 1020],
      ["c", 1020],
      ["nested", 1025],
    ]);
    expect(clock.now()).toBe(1025);
    expect(clock.pendingTimers()).toBe(0);
    expect(() => clock.advance(-1)).toThrow(/deltaMs = -1/);
  });
});
