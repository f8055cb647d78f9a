import type { ManualClock } from "../../../framework/transport/index.js";

/**
 * Hosts driven by virtual time, deterministically: time moves only between
 * macrotask turns, by one tick plus the CPU the turn used (`debtMs`, added
 * by a test's costed state machine). Timers due meanwhile fire together
 * after the turn, before any message sent during it is delivered (the
 * memory network delivers on a later turn): what a blocked event loop does.
 */
export interface VirtualCpu {
  readonly clock: ManualClock;
  readonly tickMs: number;
  /** Virtual ms of CPU used since the last turn. */
  debtMs: number;
  /** The longest turn so far (virtual ms). */
  longestTurnMs: number;
}

/** One macrotask turn, then the clock moves by a tick plus the CPU the turn used. */
export async function turn(cpu: VirtualCpu): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  const elapsed = cpu.tickMs + cpu.debtMs;
  cpu.debtMs = 0;
  cpu.longestTurnMs = Math.max(cpu.longestTurnMs, elapsed);
  cpu.clock.advance(elapsed);
}

export async function turnsUntil(cpu: VirtualCpu, condition: () => boolean, what: string): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 20_000) throw new Error(`not within 20,000 turns: ${what}`);
    await turn(cpu);
  }
}

/** Turns until `promise` settles; its result. */
export async function drive<T>(cpu: VirtualCpu, promise: Promise<T>, what: string): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => undefined); // awaited below
  await turnsUntil(cpu, () => settled, what);
  return tracked;
}
