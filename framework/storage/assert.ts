import { AssertionError } from "../raft/index.js";

/**
 * Invariant checks of the storage part. A failure means the store's own state
 * is broken: it throws the raft core's AssertionError, which nobody catches.
 * Bad input from callers is a StorageError instead (see errors.ts).
 * @internal
 */
export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === "string" ? message : message());
  }
}
