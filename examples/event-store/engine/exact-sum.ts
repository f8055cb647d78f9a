/**
 * Exact summation of doubles (Shewchuk's non-overlapping partials, the
 * algorithm of Python's math.fsum). A sum is kept as a short array of
 * partials whose exact real sum is the exact sum of every value added; the
 * reported sum is that exact value correctly rounded to a double.
 *
 * Why: the aggregate index adds values in tree order, a naive scan in time
 * order, a follower rebuilt from a snapshot in yet another grouping. With
 * plain `+=` those give different last bits; with exact partials every order
 * gives the same answer, so replicas agree bit for bit and tests can compare
 * exactly. Values are finite (the schema check rejects NaN and ±Infinity);
 * intermediate overflow past ±1.8e308 is not handled.
 */
export type ExactSum = number[];

/** Adds `value` to `partials` in place. */
export function exactSumAdd(partials: ExactSum, value: number): void {
  let x = value;
  let kept = 0;
  for (let index = 0; index < partials.length; index++) {
    let y = partials[index]!;
    if (Math.abs(x) < Math.abs(y)) {
      const swap = x;
      x = y;
      y = swap;
    }
    const high = x + y;
    const low = y - (high - x);
    if (low !== 0) partials[kept++] = low;
    x = high;
  }
  // Setting length is slow in V8; most adds keep the count of partials unchanged.
  if (partials.length !== kept + 1) partials.length = kept + 1;
  partials[kept] = x;
}

/** Adds every partial of `source` to `target` in place. */
export function exactSumMerge(target: ExactSum, source: ExactSum): void {
  for (let index = 0; index < source.length; index++) exactSumAdd(target, source[index]!);
}

/** The exact sum correctly rounded to a double (round half to even). */
export function exactSumValue(partials: ExactSum): number {
  let count = partials.length;
  if (count === 0) return 0;
  let high = partials[--count]!;
  let low = 0;
  while (count > 0) {
    const x = high;
    const y = partials[--count]!;
    high = x + y;
    const yRounded = high - x;
    low = y - yRounded;
    if (low !== 0) break;
  }
  // Half-way case: the rest of the partials decide the rounding direction.
  if (count > 0 && ((low < 0 && partials[count - 1]! < 0) ||
    (low > 0 && partials[count - 1]! > 0))) {
    const y = low * 2;
    const x = high + y;
    if (y === x - high) high = x;
  }
  return high;
}

/** Exact sum of a list of values, rounded once. */
export function exactSumOf(values: ArrayLike<number>): number {
  const partials: ExactSum = [];
  for (let index = 0; index < values.length; index++) exactSumAdd(partials, values[index]!);
  return exactSumValue(partials);
}
