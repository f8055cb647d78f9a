/**
 * The pause monitor (issue #9) on a hand-driven clock: pulses on time
 * report nothing; a pulse late by more than the tolerance reports the gap
 * minus the pulse interval, once; a pause still running is reported to a
 * caller that asks during it.
 */
import { describe, expect, it } from "vitest";
import type { LoopTimers } from "../../../framework/server/loop-timers.js";
import { startPauseMonitor } from "../../../framework/server/pause-monitor.js";

/** Time moves only by `advance`; sleepers due by then wake in order. */
function manualTimers() {
  let nowMs = 0;
  let sleepers: { at: number; wake: () => void }[] = [];
  const timers: LoopTimers = {
    now: () => nowMs,
    sleep: (ms) => new Promise<void>((resolve) => sleepers.push({ at: nowMs + ms, wake: resolve })),
  };
  const advance = async (toMs: number): Promise<void> => {
    nowMs = toMs;
    const due = sleepers.filter((sleeper) => sleeper.at <= toMs);
    sleepers = sleepers.filter((sleeper) => sleeper.at > toMs);
    for (const sleeper of due) sleeper.wake();
    for (let turn = 0; turn < 5; turn++) await Promise.resolve();
  };
  return { timers, advance };
}

describe("pause monitor", () => {
  it("reports only pulses late beyond the tolerance, each pause once", async () => {
    const { timers, advance } = manualTimers();
    const monitor = startPauseMonitor({ timers, pulseMs: 100, toleranceMs: 400 });
    for (let t = 100; t <= 1_000; t += 100) await advance(t);
    expect(monitor.takePause(1_000)).toBe(0);
    // Late by 300 ms: scheduling noise.
    await advance(1_400);
    expect(monitor.takePause(1_400)).toBe(0);
    // The loop stood still from 1,400 to 4,400: the pulse due at 1,500 runs at 4,400.
    await advance(4_400);
    expect(monitor.takePause(4_400)).toBe(2_900);
    expect(monitor.takePause(4_400)).toBe(0);
    const stopping = monitor.stop();
    await advance(4_500);
    await stopping;
  });

  it("a caller during a pause gets it before the late pulse runs, and it is not counted twice", async () => {
    const { timers, advance } = manualTimers();
    const monitor = startPauseMonitor({ timers, pulseMs: 100, toleranceMs: 400 });
    await advance(100);
    expect(monitor.takePause(2_100)).toBe(1_900);
    await advance(2_100);
    expect(monitor.takePause(2_100)).toBe(0);
    const stopping = monitor.stop();
    await advance(2_200);
    await stopping;
  });

  it("refuses a pulse that is not positive", () => {
    const { timers } = manualTimers();
    expect(() => startPauseMonitor({ timers, pulseMs: 0, toleranceMs: 0 })).toThrow(/pulseMs 0/);
  });
});
