/**
 * Time as the transport sees it: injected, so tests and the simulator can
 * drive reconnect backoff and liveness checks without real waiting.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  /** Calls `callback` once, after at least `delayMs` milliseconds. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
}

/**
 * The process clock. Timers are unref'd: a pending reconnect or liveness
 * timer never keeps a process alive on its own.
 */
export function createSystemClock(): Clock {
  return {
    now: () => performance.now(),
    setTimeout(callback: () => void, delayMs: number): TimerHandle {
      const timer = setTimeout(callback, delayMs);
      timer.unref();
      return { cancel: () => clearTimeout(timer) };
    },
  };
}
