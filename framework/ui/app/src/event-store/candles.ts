// Windowed aggregates → candles (open = first, high = max, low = min, close = last). Pure.
import type { Window } from "../../gen/eventstore/v1/eventstore_pb.js";

export interface Candle {
  /** Window start, whole seconds since the epoch (the chart's time scale). */
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly count: number;
}

/** The windows' OHLC of `field`; windows without events or without the field are left out. */
export function candlesOf(windows: readonly Window[], field: string): Candle[] {
  const candles: Candle[] = [];
  for (const window of windows) {
    const aggregate = window.aggregate;
    const values = aggregate?.fields.find((candidate) => candidate.name === field);
    if (aggregate === undefined || values === undefined || aggregate.count === 0n) continue;
    const time = Math.floor(Number(window.start) / 1_000_000);
    const previous = candles.at(-1);
    if (previous !== undefined && time <= previous.time) {
      throw new Error(
        `windows narrower than a second cannot be charted (window at ${window.start} µs)`,
      );
    }
    candles.push({
      time,
      open: values.first,
      high: values.max,
      low: values.min,
      close: values.last,
      count: Number(aggregate.count),
    });
  }
  return candles;
}
