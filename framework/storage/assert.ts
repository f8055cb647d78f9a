/** Invariant checks: the raft core's (a failure throws its AssertionError, never caught). @internal */
export { assert } from "../raft/index.js";
