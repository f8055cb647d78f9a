import { exactSumAdd, exactSumMerge, type ExactSum } from "./exact-sum.js";

/**
 * What every node of the aggregate index keeps for its subtree (and every
 * block for itself): time bounds, event count, and per aggregated field an
 * exact sum, min, max, and the values of the first and last event in time
 * order (ties: insertion order). `fields[k]` belongs to the k-th aggregated
 * field of the schema.
 * @internal
 */
export interface FieldSummary {
  sum: ExactSum;
  min: number;
  max: number;
  first: number;
  last: number;
}

export interface Summary {
  count: number;
  /** Smallest timestamp; +Infinity while count is 0. */
  minTimestamp: number;
  /** Largest timestamp; -Infinity while count is 0. */
  maxTimestamp: number;
  fields: FieldSummary[];
}

export function createSummary(aggregatedCount: number): Summary {
  const fields: FieldSummary[] = [];
  for (let index = 0; index < aggregatedCount; index++) {
    fields.push({ sum: [], min: Infinity, max: -Infinity, first: NaN, last: NaN });
  }
  return { count: 0, minTimestamp: Infinity, maxTimestamp: -Infinity, fields };
}

export function copySummary(source: Summary): Summary {
  return {
    count: source.count,
    minTimestamp: source.minTimestamp,
    maxTimestamp: source.maxTimestamp,
    fields: source.fields.map((field) => ({ ...field, sum: field.sum.slice() })),
  };
}

/**
 * Adds `source` into `target`. Valid when every event of `source` comes after
 * every event of `target` with the same timestamp — true for a left-to-right
 * merge of disjoint time-ordered parts and for newly inserted events (an
 * insert goes after the events with an equal timestamp). So `first` moves
 * only on a strictly earlier timestamp, `last` on an equal or later one.
 */
export function mergeSummary(target: Summary, source: Summary): void {
  if (source.count === 0) return;
  const takeFirst = source.minTimestamp < target.minTimestamp;
  const takeLast = source.maxTimestamp >= target.maxTimestamp;
  for (let index = 0; index < target.fields.length; index++) {
    const into = target.fields[index]!;
    const from = source.fields[index]!;
    exactSumMerge(into.sum, from.sum);
    into.min = Math.min(into.min, from.min);
    into.max = Math.max(into.max, from.max);
    if (takeFirst) into.first = from.first;
    if (takeLast) into.last = from.last;
  }
  target.count += source.count;
  if (takeFirst) target.minTimestamp = source.minTimestamp;
  if (takeLast) target.maxTimestamp = source.maxTimestamp;
}

/**
 * The summary of rows [from, to) of time-ordered columns; `values[k]` is the
 * column of the k-th aggregated field.
 */
export function summarizeRows(
  timestamps: Float64Array,
  values: readonly Float64Array[],
  from: number,
  to: number,
): Summary {
  const summary = createSummary(values.length);
  if (to <= from) return summary;
  summary.count = to - from;
  summary.minTimestamp = timestamps[from]!;
  summary.maxTimestamp = timestamps[to - 1]!;
  for (let index = 0; index < values.length; index++) {
    const column = values[index]!;
    const field = summary.fields[index]!;
    addRows(field.sum, column, from, to);
    field.min = minOf(column, from, to);
    field.max = maxOf(column, from, to);
    field.first = column[from]!;
    field.last = column[to - 1]!;
  }
  return summary;
}

/**
 * The summary of rows [from, to) of an insert's time-ordered rows (not yet
 * in a block): `values[k]` is the column of the k-th aggregated field. The
 * same as summarizeRows over those rows wherever they land.
 */
export function summarizeSourceRows(
  timestamps: ArrayLike<number>,
  values: readonly ArrayLike<number>[],
  from: number,
  to: number,
): Summary {
  const summary = createSummary(values.length);
  if (to <= from) return summary;
  summary.count = to - from;
  summary.minTimestamp = timestamps[from]!;
  summary.maxTimestamp = timestamps[to - 1]!;
  for (let index = 0; index < values.length; index++) {
    const column = values[index]!;
    const field = summary.fields[index]!;
    addRows(field.sum, column, from, to);
    field.min = minOfValues(column, from, to);
    field.max = maxOfValues(column, from, to);
    field.first = column[from]!;
    field.last = column[to - 1]!;
  }
  return summary;
}

/**
 * The smallest of values [from, to) (Infinity when none), as Math.min
 * over them in any order: two running minima (even and odd rows) instead
 * of one, so each Math.min waits for the one two rows back, not the
 * previous (a chain of dependent Math.min was half a summary's time).
 * Math.min is commutative and associative over finite values and ±0
 * (-0 < +0), so the result is the same bits as the one-chain loop.
 */
export function minOf(column: Float64Array, from: number, to: number): number {
  let even = Infinity;
  let odd = Infinity;
  let row = from;
  for (; row + 1 < to; row += 2) {
    even = Math.min(even, column[row]!);
    odd = Math.min(odd, column[row + 1]!);
  }
  if (row < to) even = Math.min(even, column[row]!);
  return Math.min(even, odd);
}

/** The largest of values [from, to) (-Infinity when none): minOf's two chains, with Math.max. */
export function maxOf(column: Float64Array, from: number, to: number): number {
  let even = -Infinity;
  let odd = -Infinity;
  let row = from;
  for (; row + 1 < to; row += 2) {
    even = Math.max(even, column[row]!);
    odd = Math.max(odd, column[row + 1]!);
  }
  if (row < to) even = Math.max(even, column[row]!);
  return Math.max(even, odd);
}

/** minOf over an insert's values (a Float64Array or an array: a loop of its own for each kind). */
function minOfValues(column: ArrayLike<number>, from: number, to: number): number {
  if (column instanceof Float64Array) return minOf(column, from, to);
  let even = Infinity;
  let odd = Infinity;
  let row = from;
  for (; row + 1 < to; row += 2) {
    even = Math.min(even, column[row]!);
    odd = Math.min(odd, column[row + 1]!);
  }
  if (row < to) even = Math.min(even, column[row]!);
  return Math.min(even, odd);
}

/** maxOf over an insert's values. */
function maxOfValues(column: ArrayLike<number>, from: number, to: number): number {
  if (column instanceof Float64Array) return maxOf(column, from, to);
  let even = -Infinity;
  let odd = -Infinity;
  let row = from;
  for (; row + 1 < to; row += 2) {
    even = Math.max(even, column[row]!);
    odd = Math.max(odd, column[row + 1]!);
  }
  if (row < to) even = Math.max(even, column[row]!);
  return Math.max(even, odd);
}

/**
 * Adds values [from, to) (from < to) of `column` to the empty `sum`. Plain
 * double additions while each one is exact (TwoSum's rounding error is
 * zero): exactSumAdd would then keep exactly one partial, the running sum.
 * The first inexact addition hands over to exactSumAdd from that value on,
 * with the same partials. Integers and short binary fractions (the common
 * case) take ~1/3 of exactSumAdd's time; other values lose nothing.
 */
function addRows(sum: ExactSum, column: ArrayLike<number>, from: number, to: number): void {
  let total = column[from]!;
  let row = from + 1;
  for (; row < to; row++) {
    const value = column[row]!;
    const next = total + value;
    const added = next - total;
    // NaN (an overflow to ±Infinity) is not 0 either: exactSumAdd takes over, as before.
    if ((total - (next - added)) + (value - added) !== 0) break;
    total = next;
  }
  sum.push(total);
  for (; row < to; row++) exactSumAdd(sum, column[row]!);
}
