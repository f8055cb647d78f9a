/**
 * Invariant checks that stay on in production (TigerBeetle's rule): the
 * framework's, whose AssertionError no caller may catch and carry on from.
 * @internal
 */
export { AssertionError, assert, assertInRange, unreachable } from "../../../framework/raft/index.js";
