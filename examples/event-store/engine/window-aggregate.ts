import { enforceBudget } from "./block-cache.js";
import { EventStoreError, EventStoreErrorCode } from "./errors.js";
import { isEnd, seekLowerBound } from "./position.js";
import { checkInteger, checkRange, type TimeRange } from "./query-options.js";
import { summarizeRange, toRangeAggregate, type RangeAggregate } from "./range-aggregate.js";
import type { Stream } from "./stream.js";

export interface WindowOptions extends TimeRange {
  /** Window width in µs, a positive integer (60_000_000 for one-minute candles). */
  readonly width: number;
  /** Windows start at origin + k · width; default 0 (the epoch). */
  readonly origin?: number;
  /** Windows returned at most; default 10,000, at most 1,000,000. */
  readonly limit?: number;
}

/** One tumbling window [start, end) with events; OHLC of a field is first/max/min/last. */
export interface WindowAggregate extends RangeAggregate {
  readonly start: number;
  readonly end: number;
}

export interface WindowResult {
  readonly windows: readonly WindowAggregate[];
  /** Present when the limit stopped the query: call again with `from: nextFrom`. */
  readonly nextFrom: number | undefined;
}

export const WINDOW_LIMIT_MAX = 1_000_000;

/**
 * Tumbling windows that hold at least one event, in time order. Each window
 * is one range aggregate (O(log n)); empty stretches are skipped by seeking
 * the next event, so sparse data costs per window with data, not per width.
 */
export function aggregateWindows(stream: Stream, options: WindowOptions): WindowResult {
  const { from, to } = checkRange(options);
  const width = checkInteger("width", options.width, 0, 1, Number.MAX_SAFE_INTEGER);
  const origin = checkInteger("origin", options.origin, 0, -Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER);
  const limit = checkInteger("limit", options.limit, 10_000, 1, WINDOW_LIMIT_MAX);
  const windows: WindowAggregate[] = [];
  let seek = from;
  for (;;) {
    // Nothing of the last window is held: the cache may evict (a long query stays in budget).
    if (stream.home.cache !== undefined) enforceBudget(stream.home.cache);
    const position = seekLowerBound(stream.tree, seek);
    if (isEnd(position)) return { windows, nextFrom: undefined };
    const timestamp = position.block.timestamps[position.row]!;
    if (timestamp >= to) return { windows, nextFrom: undefined };
    const start = windowStart(timestamp, origin, width);
    if (windows.length === limit) return { windows, nextFrom: Math.max(start, from) };
    const end = start + width;
    const summary = summarizeRange(stream.layout, stream.tree, Math.max(start, from),
      Math.min(end, to));
    windows.push({ start, end, ...toRangeAggregate(stream.layout, summary) });
    seek = end;
  }
}

/** origin + floor((timestamp - origin) / width) · width, exact for safe integers. */
export function windowStart(timestamp: number, origin: number, width: number): number {
  const offset = timestamp - origin;
  let quotient = Math.floor(offset / width);
  if (quotient * width > offset) quotient--;
  if ((quotient + 1) * width <= offset) quotient++;
  const start = origin + quotient * width;
  if (!Number.isSafeInteger(start)) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
      `window of ${timestamp} starts at ${start}, outside the safe integer range`);
  }
  return start;
}
