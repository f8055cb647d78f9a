/**
 * Invariant checks that stay on in production: a broken invariant means this
 * replica's state can no longer be trusted, so it throws an AssertionError
 * that no caller may catch and carry on from (it fails apply, and the host
 * stops the group).
 */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === "string" ? message : message());
}
