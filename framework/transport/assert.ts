/** Invariant checks (STYLE rule 3): the raft core's, throwing its AssertionError. @internal */
export { assert } from "../raft/index.js";
