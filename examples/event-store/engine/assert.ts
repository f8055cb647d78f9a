/**
 * Invariant checks that stay on in production (TigerBeetle's rule): a broken
 * invariant means the store's state can no longer be trusted, so it throws an
 * AssertionError that no caller may catch and carry on from.
 * @internal
 */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === "string" ? message : message());
  }
}

/** Fails unless `low <= value <= high`, naming the value and the allowed range. */
export function assertInRange(what: string, value: number, low: number, high: number): void {
  if (!(value >= low && value <= high)) {
    throw new AssertionError(`${what} = ${value}, allowed [${low}, ${high}]`);
  }
}

export function unreachable(value: never, what: string): never {
  throw new AssertionError(`unreachable: unexpected ${what} ${String(value)}`);
}
