import { assert } from "./assert.js";
import type { Clock, TimerHandle } from "./clock.js";

/** A Clock that moves only when told: the simulated twin of createSystemClock. */
export interface ManualClock extends Clock {
  /** Moves time forward by `deltaMs`, firing due timers in deadline order. */
  advance(deltaMs: number): void;
  /** Timers scheduled and not yet fired or cancelled. */
  pendingTimers(): number;
}

interface ManualTimer {
  readonly deadline: number;
  readonly sequence: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export function createManualClock(startMs = 0): ManualClock {
  let now = startMs;
  let sequence = 0;
  let timers: ManualTimer[] = [];
  const nextDue = (limit: number): ManualTimer | undefined => {
    let due: ManualTimer | undefined;
    for (const timer of timers) {
      if (timer.cancelled || timer.deadline > limit) continue;
      const earlier =
        due === undefined ||
        timer.deadline < due.deadline ||
        (timer.deadline === due.deadline && timer.sequence < due.sequence);
      if (earlier) due = timer;
    }
    return due;
  };
  return {
    now: () => now,
    setTimeout(callback: () => void, delayMs: number): TimerHandle {
      assert(delayMs >= 0, () => `delayMs = ${delayMs}, allowed ≥ 0`);
      const timer: ManualTimer = {
        deadline: now + delayMs,
        sequence: sequence++,
        callback,
        cancelled: false,
      };
      timers.push(timer);
      return {
        cancel: () => {
          timer.cancelled = true;
        },
      };
    },
    advance(deltaMs: number): void {
      assert(deltaMs >= 0, () => `deltaMs = ${deltaMs}, allowed ≥ 0`);
      const target = now + deltaMs;
      for (let due = nextDue(target); due !== undefined; due = nextDue(target)) {
        due.cancelled = true;
        now = due.deadline;
        due.callback();
      }
      now = target;
      timers = timers.filter((timer) => !timer.cancelled);
    },
    pendingTimers: () => timers.filter((timer) => !timer.cancelled).length,
  };
}
