import type { Operation, StreamSchema } from "../../../examples/event-store/engine/index.js";

export const STREAM_SCHEMA: StreamSchema = { fields: [
  { name: "price", type: "double", aggregated: true },
  { name: "quantity", type: "int64", aggregated: true },
  { name: "venue", type: "string" },
] };

export interface BatchEvent {
  readonly timestamp: number;
  readonly price: number;
  readonly quantity: number;
  readonly venue: string;
}

/** The events of the batch with applied index `index` (>= 2): in order, some late, some ties. */
export function batchEvents(index: number): BatchEvent[] {
  const events: BatchEvent[] = [];
  const count = 200 + (index * 37) % 300;
  for (let row = 0; row < count; row++) {
    const base = index * 1000 + row;
    const timestamp = row % 10 === 7 ? base - 5000 - (index % 13) : base;
    events.push({ timestamp, price: ((index * 7919 + row * 104729) % 10007) / 100,
      quantity: (index * 31 + row) % 500, venue: `v${(index + row) % 5}` });
  }
  return events;
}

export function batchOperations(index: number): Operation[] {
  const events = batchEvents(index);
  return [{ kind: "insert", stream: "ticks", timestamps: events.map((event) => event.timestamp),
    columns: {
      price: events.map((event) => event.price),
      quantity: events.map((event) => event.quantity),
      venue: events.map((event) => event.venue),
    } }];
}
