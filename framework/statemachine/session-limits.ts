/**
 * Limits of the executable layer. Part of the replicated logic: every replica
 * of a partition must run with the same values, or their states diverge.
 */
export interface ExecutableLimits {
  /** Sessions kept at most; a new session evicts the least recently active one. */
  readonly maxSessions: number;
  /** A session idle (by the state machine's clock) longer than this expires. */
  readonly sessionTimeoutMs: number;
  /** Unacknowledged cached results per session; beyond it commands get SESSION_FULL. */
  readonly maxResultsPerSession: number;
  /** Largest request payload executed; larger ones get TOO_LARGE. */
  readonly maxPayloadBytes: number;
}

export const defaultExecutableLimits: ExecutableLimits = {
  maxSessions: 10_000,
  sessionTimeoutMs: 60 * 60 * 1000,
  maxResultsPerSession: 256,
  maxPayloadBytes: 4 * 1024 * 1024,
};

/** Fills defaults and checks every limit at start-up, naming the bad value. */
export function resolveExecutableLimits(
  overrides: Partial<ExecutableLimits> = {},
): ExecutableLimits {
  const limits = { ...defaultExecutableLimits, ...overrides };
  checkLimit("maxSessions", limits.maxSessions, 1, 10_000_000);
  checkLimit("sessionTimeoutMs", limits.sessionTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
  checkLimit("maxResultsPerSession", limits.maxResultsPerSession, 1, 1_000_000);
  checkLimit("maxPayloadBytes", limits.maxPayloadBytes, 1, 2 ** 31 - 1);
  return limits;
}

function checkLimit(name: string, value: number, low: number, high: number): void {
  if (!(Number.isSafeInteger(value) && value >= low && value <= high)) {
    throw new RangeError(
      `executable limit ${name} = ${value}, allowed integer in [${low}, ${high}]`,
    );
  }
}
