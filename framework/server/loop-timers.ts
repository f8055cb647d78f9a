/**
 * Time as the cluster manager's loops (controller loop, node agent) see it:
 * a monotonic clock in milliseconds and a pause. Node processes use the
 * real ones; the cluster simulator (test/sim/cluster) passes virtual time,
 * so the same loops run under a seeded, replayable schedule.
 */
export interface LoopTimers {
  now(): number;
  /** Resolves after `ms` milliseconds of this clock. */
  sleep(ms: number): Promise<void>;
}

export const realLoopTimers: LoopTimers = {
  now: () => performance.now(),
  sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};
