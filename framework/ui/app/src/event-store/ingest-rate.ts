// Ingest rate of a stream from its event counts sampled over time. Pure.

export interface CountSample {
  readonly atMs: number;
  readonly count: number;
}

export interface RatePoint {
  /** End of the interval, ms since the epoch. */
  readonly atMs: number;
  readonly eventsPerSecond: number;
}

/** Samples kept: the chart shows the last 5 minutes. */
export const rateWindowMs = 5 * 60 * 1000;

/** Appends a sample, drops those older than the window; a count that went down starts afresh. */
export function addSample(samples: readonly CountSample[], sample: CountSample): CountSample[] {
  const last = samples.at(-1);
  if (last !== undefined && sample.atMs <= last.atMs) return [...samples];
  const kept =
    last !== undefined && sample.count < last.count
      ? []
      : samples.filter((old) => sample.atMs - old.atMs <= rateWindowMs);
  return [...kept, sample];
}

/** Events per second between consecutive samples. */
export function ratesOf(samples: readonly CountSample[]): RatePoint[] {
  const points: RatePoint[] = [];
  for (let index = 1; index < samples.length; index += 1) {
    const before = samples[index - 1]!;
    const after = samples[index]!;
    const seconds = (after.atMs - before.atMs) / 1000;
    points.push({
      atMs: after.atMs,
      eventsPerSecond: seconds > 0 ? (after.count - before.count) / seconds : 0,
    });
  }
  return points;
}
