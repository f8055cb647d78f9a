/**
 * Pause before retry `attempt` (0 = the first retry): capped exponential
 * growth with "equal jitter" (half the step fixed, half random), so clients
 * that failed together do not retry in lockstep, and no retry comes sooner
 * than half the step.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 10, maxMs: 1_000 };

/** `uniform` is a draw in [0, 1). */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, uniform: number): number {
  if (!(Number.isSafeInteger(attempt) && attempt >= 0)) {
    throw new RangeError(`backoff attempt ${attempt}, allowed integer >= 0`);
  }
  if (!(uniform >= 0 && uniform < 1)) throw new RangeError(`backoff draw ${uniform}, allowed [0, 1)`);
  const step = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  const half = step / 2;
  return Math.round(step - half + uniform * half);
}

export function checkBackoffPolicy(policy: BackoffPolicy): BackoffPolicy {
  const { initialMs, maxMs } = policy;
  if (!(Number.isFinite(initialMs) && initialMs >= 1)) {
    throw new RangeError(`backoff.initialMs = ${initialMs}, allowed a number >= 1`);
  }
  if (!(Number.isFinite(maxMs) && maxMs >= initialMs)) {
    throw new RangeError(`backoff.maxMs = ${maxMs}, allowed a number >= initialMs (${initialMs})`);
  }
  return policy;
}
