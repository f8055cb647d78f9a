import {
  createMemoryFileSystem, openEventStore, type EventStore, type InsertOperation,
  type MemoryFileSystem, type StreamSchema,
} from "../../../examples/event-store/engine/index.js";
import { ModelStream, scanRows, type ModelEvent } from "./model.js";

/** Two streams used by the model tests: one wide with every type, one narrow. */
export const SCHEMAS: Record<string, StreamSchema> = {
  wide: {
    fields: [
      { name: "price", type: "double", aggregated: true },
      { name: "quantity", type: "int64", aggregated: true },
      { name: "flag", type: "bool" },
      { name: "label", type: "string" },
    ],
  },
  narrow: { fields: [{ name: "value", type: "double", aggregated: true }] },
};

export const BLOCK_BYTES = 1024;

/** Columnar insert of model events (in the given order) into `stream`. */
export function insertOf(stream: string, schema: StreamSchema,
  events: readonly ModelEvent[]): InsertOperation {
  const columns: Record<string, unknown[]> = {};
  for (const field of schema.fields) {
    columns[field.name] = events.map((event) => event.values[field.name]);
  }
  return {
    kind: "insert", stream, columns,
    timestamps: Float64Array.from(events.map((event) => event.timestamp)),
  };
}

export interface Harness {
  readonly blockBytes: number;
  fileSystem: MemoryFileSystem;
  store: EventStore;
  readonly models: Map<string, ModelStream>;
  appliedIndex: number;
}

export async function createHarness(walCheckpointBytes: number,
  blockBytes = BLOCK_BYTES): Promise<Harness> {
  const fileSystem = createMemoryFileSystem();
  const store = await openEventStore({ fileSystem, directory: "/store", blockBytes,
    walCheckpointBytes });
  const models = new Map<string, ModelStream>();
  let appliedIndex = 0;
  await store.applyBatch(Object.entries(SCHEMAS).map(([stream, schema]) => {
    models.set(stream, new ModelStream(schema));
    return { kind: "createStream", stream, schema };
  }), ++appliedIndex);
  return { blockBytes, fileSystem, store, models, appliedIndex };
}

/** Every scan page by page (both orders), compared with the model. */
export function expectedScan(store: EventStore, stream: string, from: number, to: number,
  limit: number, descending: boolean): ModelEvent[] {
  const rows: ModelEvent[] = [];
  let cursor;
  for (let page = 0; page < 100_000; page++) {
    const result = store.scan(stream, { from, to, limit, cursor,
      order: descending ? "descending" : "ascending" });
    rows.push(...scanRows(result));
    if (result.next === undefined) return rows;
    cursor = result.next;
  }
  throw new Error("scan did not end");
}
