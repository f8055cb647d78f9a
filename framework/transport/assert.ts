import { AssertionError } from "../raft/index.js";

/**
 * Invariant checks (STYLE rule 3): a failure is a bug in this process, thrown
 * as the core's AssertionError and never caught and carried on from.
 * @internal
 */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === "string" ? message : message());
}
