/**
 * Timestamps are integer MICROSECONDS since the Unix epoch, held in a plain
 * JS number. A double holds every integer up to 2^53 exactly, and 2^53 µs is
 * about 285 years, so timestamps are exact from 1685 to 2255. Nanoseconds
 * would only fit in a number until 1970 + 104 days, so
 * they would force bigint on every comparison and every column, which costs
 * a factor of several in ingest and query speed; µs cover what clocks of
 * distributed hosts can honestly tell apart. On disk every timestamp is a
 * little-endian two's-complement int64, so a later change to bigint keeps
 * the file format.
 */
export const TIMESTAMP_MIN = -Number.MAX_SAFE_INTEGER;
export const TIMESTAMP_MAX = Number.MAX_SAFE_INTEGER;

/** True for an accepted timestamp: an integer number of µs in the safe range. */
export function isValidTimestamp(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value);
}
