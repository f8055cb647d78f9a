/**
 * How an executable machine lets its process's event loop run during a
 * long apply (issue #8: one insert command of ~16k events executed in one
 * synchronous pass held a node's loop for 0.5–0.9 s at load 25, long enough
 * to starve heartbeats). Yielding never changes a result: the machine and
 * its executors do the same work in the same order, only in several turns.
 */
export interface ApplyTurns {
  /**
   * Payload bytes executed between two yields of the machine: before each
   * envelope, once at least this many payload bytes ran since the last
   * yield (the executor's own `context.yieldTurn()` resets the count).
   */
  readonly payloadBytes: number;
  /** Lets the process's event loop run (timers, sockets); a node passes a macrotask yield. */
  readonly yieldNow: () => Promise<void>;
}

/** The machine's side: counts executed payload bytes and yields when they pass the budget. */
export interface TurnKeeper {
  /** Before an envelope of `payloadBytes` (or the state's persist, 0): yields first when the budget is spent. */
  beforeEnvelope(payloadBytes: number): Promise<void>;
  /** An executor's explicit yield (ApplyContext.yieldTurn). */
  yieldTurn(): Promise<void>;
}

const resolved: Promise<void> = Promise.resolve();

export function createTurnKeeper(turns: ApplyTurns | undefined): TurnKeeper {
  if (turns === undefined) return { beforeEnvelope: () => resolved, yieldTurn: () => resolved };
  if (!(Number.isSafeInteger(turns.payloadBytes) && turns.payloadBytes > 0)) {
    throw new RangeError(`applyTurns.payloadBytes = ${turns.payloadBytes}, allowed a positive integer`);
  }
  let spent = 0;
  return {
    async beforeEnvelope(payloadBytes) {
      if (spent >= turns.payloadBytes) {
        spent = 0;
        await turns.yieldNow();
      }
      spent += payloadBytes;
    },
    async yieldTurn() {
      spent = 0;
      await turns.yieldNow();
    },
  };
}
