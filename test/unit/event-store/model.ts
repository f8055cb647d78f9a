import { exactSumOf } from "../../../examples/event-store/engine/index.js";
import type {
  EventRow, FieldAggregate, RangeAggregate, ScanResult, StreamSchema, WindowAggregate,
} from "../../../examples/event-store/engine/index.js";

/**
 * The naive model of a stream: every event in an array kept sorted by
 * timestamp, ties in insertion order (a stable insert). Aggregates are
 * computed by a straight scan; sums with the same exact summation the
 * engine promises (correctly rounded), so results compare exactly.
 */
export interface ModelEvent {
  readonly timestamp: number;
  readonly values: Record<string, number | boolean | string>;
}

export class ModelStream {
  readonly events: ModelEvent[] = [];

  constructor(readonly schema: StreamSchema) {}

  insert(event: ModelEvent): void {
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.events[middle]!.timestamp <= event.timestamp) low = middle + 1;
      else high = middle;
    }
    this.events.splice(low, 0, event);
  }

  inRange(from: number, to: number): ModelEvent[] {
    return this.events.filter((event) => event.timestamp >= from && event.timestamp < to);
  }

  aggregate(from: number, to: number): RangeAggregate {
    const events = this.inRange(from, to);
    if (events.length === 0) {
      return { count: 0, firstTimestamp: undefined, lastTimestamp: undefined, fields: {} };
    }
    const fields: Record<string, FieldAggregate> = {};
    for (const field of this.schema.fields) {
      if (field.aggregated !== true) continue;
      const values = events.map((event) => Number(event.values[field.name]));
      const sum = exactSumOf(values);
      fields[field.name] = {
        sum,
        min: values.reduce((a, b) => Math.min(a, b), Infinity),
        max: values.reduce((a, b) => Math.max(a, b), -Infinity),
        average: sum / values.length,
        first: values[0]!,
        last: values[values.length - 1]!,
      };
    }
    return { count: events.length, firstTimestamp: events[0]!.timestamp,
      lastTimestamp: events[events.length - 1]!.timestamp, fields };
  }

  windows(from: number, to: number, width: number, origin: number): WindowAggregate[] {
    const starts: number[] = [];
    for (const event of this.inRange(from, to)) {
      const start = origin + Math.floor((event.timestamp - origin) / width) * width;
      if (starts[starts.length - 1] !== start) starts.push(start);
    }
    return starts.map((start) => ({
      start, end: start + width,
      ...this.aggregate(Math.max(start, from), Math.min(start + width, to)),
    }));
  }

  latest(): EventRow | undefined {
    return this.events[this.events.length - 1];
  }
}

/** Rows of a scan result, for comparison with model events. */
export function scanRows(result: ScanResult): ModelEvent[] {
  const rows: ModelEvent[] = [];
  for (let index = 0; index < result.count; index++) {
    const values: Record<string, number | boolean | string> = {};
    for (const [name, column] of Object.entries(result.columns)) values[name] = column[index]!;
    rows.push({ timestamp: result.timestamps[index]!, values });
  }
  return rows;
}
