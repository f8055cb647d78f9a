/**
 * Notices when this process stood still (issue #9): a pulse runs every
 * `pulseMs`; a gap between two moments the loop demonstrably ran (a pulse,
 * or a `takePause` call) longer than `pulseMs + toleranceMs` means the
 * event loop was blocked (a long synchronous task, a starved CPU) for the
 * gap minus the pulse interval. The controller loop hands that time to the
 * failure detector, which does not count it as the nodes' silence.
 */
import type { LoopTimers } from "./loop-timers.js";

export interface PauseMonitor {
  /** Pause time noticed since the last call (including a pause still running up to `nowMs`). */
  takePause(nowMs: number): number;
  stop(): Promise<void>;
}

export interface PauseMonitorOptions {
  readonly timers: LoopTimers;
  readonly pulseMs: number;
  /** Lateness of a pulse that is still scheduling noise, not a pause. */
  readonly toleranceMs: number;
}

export function startPauseMonitor(options: PauseMonitorOptions): PauseMonitor {
  const { timers, pulseMs, toleranceMs } = options;
  if (!(pulseMs > 0 && toleranceMs >= 0)) {
    const given = `pulseMs ${pulseMs} (allowed > 0), toleranceMs ${toleranceMs} (allowed ≥ 0)`;
    throw new RangeError(`pause monitor ${given}`);
  }
  let stopped = false;
  let lastSeenMs = timers.now();
  let pendingMs = 0;
  const see = (nowMs: number): void => {
    const gap = nowMs - lastSeenMs;
    if (gap > pulseMs + toleranceMs) pendingMs += gap - pulseMs;
    lastSeenMs = Math.max(lastSeenMs, nowMs);
  };
  const loop = (async () => {
    while (!stopped) {
      await timers.sleep(pulseMs);
      see(timers.now());
    }
  })();
  return {
    takePause(nowMs) {
      see(nowMs);
      const taken = pendingMs;
      pendingMs = 0;
      return taken;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
