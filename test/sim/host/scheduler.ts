import type { Clock, TimerHandle } from "../../../framework/transport/index.js";
import { createEventQueue } from "../event-queue.js";
import type { Trace } from "../trace.js";

/**
 * Virtual time for the host simulation: one agenda of closures ordered by
 * virtual milliseconds (ties in scheduling order, see event-queue.ts). The
 * NodeHost is asynchronous, so after every event the driver lets every
 * promise continuation the event caused run to its end (`settle`) before the
 * next event: the host only ever waits on things this agenda resolves
 * (timers, fsyncs, deliveries, loop yields), so a run depends on its seed
 * alone.
 */
export interface Scheduler {
  now(): number;
  /** Runs `run` at virtual time `time` (≥ now); `label` goes into the trace. */
  at(time: number, run: () => void, label?: string): void;
  after(delayMs: number, run: () => void, label?: string): void;
  /** Runs the earliest event; false when the agenda is empty. */
  runNext(): boolean;
  nextTime(): number | undefined;
  /** Events run so far. */
  steps(): number;
}

interface Scheduled {
  readonly run: () => void;
  readonly label: string | undefined;
}

export function createScheduler(trace: Trace): Scheduler {
  const queue = createEventQueue<Scheduled>();
  let now = 0;
  let steps = 0;
  const at = (time: number, run: () => void, label?: string): void => {
    if (!(time >= now)) throw new RangeError(`event at ${time}, allowed ≥ now (${now})`);
    queue.schedule(time, { run, label });
  };
  return {
    now: () => now,
    at,
    after: (delayMs, run, label) => at(now + delayMs, run, label),
    runNext() {
      const next = queue.pop();
      if (next === undefined) return false;
      now = next.time;
      steps++;
      if (next.event.label !== undefined) trace.record(`${now} ${next.event.label}`);
      next.event.run();
      return true;
    },
    nextTime: () => queue.peekTime(),
    steps: () => steps,
  };
}

/**
 * Lets every queued promise continuation run: a macrotask boundary, which
 * Node reaches only once the microtask queue is empty. No timer and no I/O
 * of the run goes through the real event loop, so what runs here is exactly
 * the continuations of the last event, in their deterministic order.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A node's clock: virtual time; its timers die with the incarnation that set them. */
export function createNodeClock(scheduler: Scheduler, alive: () => boolean): Clock {
  return {
    now: () => scheduler.now(),
    setTimeout(callback: () => void, delayMs: number): TimerHandle {
      let cancelled = false;
      scheduler.after(Math.max(0, Math.ceil(delayMs)), () => {
        if (!cancelled && alive()) callback();
      });
      return {
        cancel: () => {
          cancelled = true;
        },
      };
    },
  };
}
