import type { RandomSource } from "../raft/index.js";
import type { TransportLimits } from "./limits.js";

/**
 * Delay before reconnect attempt `attempt` (0 = the first retry): capped
 * exponential growth with "equal jitter" — half the step fixed, half random —
 * so peers that lost a node at the same moment do not reconnect in lockstep,
 * yet no retry comes sooner than half the step.
 */
export function reconnectDelayMs(
  attempt: number,
  limits: Pick<TransportLimits, "backoffInitialMs" | "backoffMaxMs">,
  random: RandomSource,
): number {
  const exponent = Math.min(attempt, 30);
  const step = Math.min(limits.backoffMaxMs, limits.backoffInitialMs * 2 ** exponent);
  const half = Math.floor(step / 2);
  return step - half + random.nextInt(half + 1);
}
