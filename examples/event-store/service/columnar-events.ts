import { create } from "@bufbuild/protobuf";
import {
  StateMachineError,
  StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import type { FieldSpec as EngineField, ScanResult, StreamSchema } from "../engine/index.js";
import { ColumnSchema, EventsSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import type { Column, Events } from "../gen/eventstore/v1/eventstore_pb.js";

/**
 * Events as the service handles them: one timestamp array, one value array
 * per user field, one id per event ("" = none). The proto form (Events) is
 * what crosses the wire and the log; this form is what the engine takes.
 */
export interface ColumnarEvents {
  readonly timestamps: number[];
  readonly columns: Record<string, unknown[]>;
  readonly ids: string[];
}

/** The hidden field holding each event's client id (names starting with '_' are reserved). */
export const EVENT_ID_FIELD = "_id";

function invalid(text: string): StateMachineError {
  return new StateMachineError(StateMachineErrorCode.InvalidArgument, text);
}

/** Values of a proto column as the engine takes them; throws naming a type mismatch. */
function columnValues(stream: string, field: EngineField, column: Column): unknown[] {
  const where = `insert into '${stream}': column '${field.name}' (${field.type})`;
  const values = column.values;
  switch (values.case) {
    case "doubles":
      if (field.type === "double" || field.type === "int64") return values.value.values;
      break;
    case "int64s":
      if (field.type === "int64" || field.type === "double") {
        return values.value.values.map((value) => {
          const number = Number(value);
          if (!Number.isSafeInteger(number)) throw invalid(`${where}: ${value} is beyond ±(2^53 − 1)`);
          return number;
        });
      }
      break;
    case "bools":
      if (field.type === "bool") return values.value.values;
      break;
    case "strings":
      if (field.type === "string") return values.value.values;
      break;
    case undefined:
      throw invalid(`${where} has no values`);
  }
  throw invalid(`${where} holds ${values.case}`);
}

/**
 * Checks the shape of proto events against the stream's user fields (every
 * field once, nothing else, equal lengths, ids empty or one per event) and
 * converts them. Values are checked by the engine's insert check.
 */
export function toColumnar(stream: string, events: Events | undefined,
  fields: readonly EngineField[]): ColumnarEvents {
  const timestamps = events?.timestamps ?? [];
  const count = timestamps.length;
  const byName = new Map<string, Column>();
  for (const column of events?.columns ?? []) {
    if (byName.has(column.name)) throw invalid(`insert into '${stream}': column '${column.name}' appears twice`);
    byName.set(column.name, column);
  }
  const columns: Record<string, unknown[]> = {};
  for (const field of fields) {
    const column = byName.get(field.name);
    if (column === undefined) throw invalid(`insert into '${stream}': no column for field '${field.name}'`);
    byName.delete(field.name);
    const values = columnValues(stream, field, column);
    if (values.length !== count) {
      throw invalid(`insert into '${stream}': column '${field.name}' has ${values.length} values, ` +
        `expected ${count} (one per timestamp)`);
    }
    columns[field.name] = values;
  }
  const unknown = [...byName.keys()];
  if (unknown.length > 0) throw invalid(`insert into '${stream}': unknown field '${unknown[0]}'`);
  const ids = events?.ids ?? [];
  if (ids.length !== 0 && ids.length !== count) {
    throw invalid(`insert into '${stream}': ${ids.length} ids for ${count} events (give none or one per event)`);
  }
  return { timestamps, columns, ids: ids.length === 0 ? new Array<string>(count).fill("") : ids };
}

function toColumn(field: EngineField, values: ArrayLike<unknown>): Column {
  const list = Array.from(values);
  switch (field.type) {
    case "double":
      return create(ColumnSchema, { name: field.name, values: { case: "doubles", value: { values: list as number[] } } });
    case "int64":
      return create(ColumnSchema, {
        name: field.name,
        values: { case: "int64s", value: { values: list.map((value) => BigInt(value as number)) } },
      });
    case "bool":
      return create(ColumnSchema, { name: field.name, values: { case: "bools", value: { values: list as boolean[] } } });
    case "string":
      return create(ColumnSchema, { name: field.name, values: { case: "strings", value: { values: list as string[] } } });
  }
}

/** The proto form of columnar events (the merged batch the leader proposes). */
export function toEvents(events: ColumnarEvents, fields: readonly EngineField[]): Events {
  const anyId = events.ids.some((id) => id !== "");
  return create(EventsSchema, {
    timestamps: events.timestamps,
    columns: fields.map((field) => toColumn(field, events.columns[field.name] ?? [])),
    ids: anyId ? events.ids : [],
  });
}

/** A page of a scan as proto events; the hidden id field becomes `ids`. */
export function scanToEvents(result: ScanResult, schema: StreamSchema): Events {
  const userFields = schema.fields.filter((field) => field.name !== EVENT_ID_FIELD);
  const ids = result.columns[EVENT_ID_FIELD] as string[] | undefined;
  return toEvents({
    timestamps: Array.from(result.timestamps),
    columns: Object.fromEntries(userFields.map((field) => {
      const values: ArrayLike<unknown> = result.columns[field.name] ?? [];
      return [field.name, Array.from(values)];
    })),
    ids: ids ?? new Array<string>(result.count).fill(""),
  }, userFields);
}

/**
 * Concatenates batches and sorts the events by timestamp (stable: equal
 * timestamps keep their arrival order) — the leader's merge of buffered inserts.
 */
export function mergeSorted(parts: readonly ColumnarEvents[], fieldNames: readonly string[]): {
  readonly events: ColumnarEvents;
  /** order[k] = the position, in the concatenation of the parts, of merged event k. */
  readonly order: Uint32Array;
} {
  let total = 0;
  for (const part of parts) total += part.timestamps.length;
  const timestamps = new Float64Array(total);
  let at = 0;
  for (const part of parts) for (const timestamp of part.timestamps) timestamps[at++] = timestamp;
  const order = new Uint32Array(total);
  for (let index = 0; index < total; index++) order[index] = index;
  let sorted = true;
  for (let index = 1; index < total && sorted; index++) sorted = timestamps[index - 1]! <= timestamps[index]!;
  // Stable: ties broken by arrival position.
  if (!sorted) order.sort((a, b) => timestamps[a]! - timestamps[b]! || a - b);
  const gather = (pick: (part: ColumnarEvents) => ArrayLike<unknown>): unknown[] => {
    const flat: unknown[] = [];
    for (const part of parts) { const values = pick(part); for (let i = 0; i < values.length; i++) flat.push(values[i]); }
    if (sorted) return flat;
    const out = new Array<unknown>(total);
    for (let index = 0; index < total; index++) out[index] = flat[order[index]!];
    return out;
  };
  const columns: Record<string, unknown[]> = {};
  for (const name of fieldNames) columns[name] = gather((part) => part.columns[name] ?? []);
  const events = {
    timestamps: gather((part) => part.timestamps) as number[],
    columns,
    ids: gather((part) => part.ids) as string[],
  };
  return { events, order };
}
