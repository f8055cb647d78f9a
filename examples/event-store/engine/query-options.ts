import { EventStoreError, EventStoreErrorCode } from "./errors.js";

/** A time range [from, to): `from` included, `to` excluded; both optional (unbounded). */
export interface TimeRange {
  readonly from?: number;
  readonly to?: number;
}

export interface CheckedRange {
  readonly from: number;
  readonly to: number;
}

function invalid(text: string): EventStoreError {
  return new EventStoreError(EventStoreErrorCode.InvalidArgument, text);
}

export function checkRange(range: TimeRange): CheckedRange {
  const from = range.from ?? -Infinity;
  const to = range.to ?? Infinity;
  if (typeof from !== "number" || Number.isNaN(from)) throw invalid(`from = ${String(from)}`);
  if (typeof to !== "number" || Number.isNaN(to)) throw invalid(`to = ${String(to)}`);
  if (from > to) throw invalid(`from = ${from} is after to = ${to}`);
  return { from, to };
}

/** An integer in [low, high], or `fallback` when undefined. */
export function checkInteger(what: string, value: number | undefined, fallback: number,
  low: number, high: number): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < low || result > high) {
    throw invalid(`${what} = ${String(result)}, allowed integers in [${low}, ${high}]`);
  }
  return result;
}
