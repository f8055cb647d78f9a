/**
 * Invariant checks: the raft core's (a failure fails apply, and the host stops
 * the group). @internal
 */
export { AssertionError, assert } from "../raft/index.js";
