import { create } from "@bufbuild/protobuf";
import { EventsSchema, FieldType } from "../gen/eventstore/v1/eventstore_pb.js";
import type { Column, Events, FieldSpec } from "../gen/eventstore/v1/eventstore_pb.js";

export type FieldValue = number | boolean | string;

/** An event as an object: integer µs timestamp, optional client id, one value per field. */
export interface EventRow {
  readonly timestamp: number;
  readonly id?: string;
  readonly values: Readonly<Record<string, FieldValue>>;
}

/** Many events, columnar (fast: one array per field). */
export interface EventColumns {
  readonly timestamps: ArrayLike<number>;
  readonly columns: Readonly<Record<string, ArrayLike<FieldValue>>>;
  readonly ids?: ArrayLike<string>;
}

export function isEventColumns(value: readonly EventRow[] | EventColumns): value is EventColumns {
  return !Array.isArray(value);
}

function column(field: FieldSpec, values: ArrayLike<FieldValue>): Column {
  const list = Array.from(values);
  const name = field.name;
  switch (field.type) {
    case FieldType.INT64:
      return { $typeName: "eventstore.v1.Column", name,
        values: { case: "int64s", value: { $typeName: "eventstore.v1.Int64Values", values: list.map((value) => BigInt(value as number)) } } };
    case FieldType.BOOL:
      return { $typeName: "eventstore.v1.Column", name,
        values: { case: "bools", value: { $typeName: "eventstore.v1.BoolValues", values: list as boolean[] } } };
    case FieldType.STRING:
      return { $typeName: "eventstore.v1.Column", name,
        values: { case: "strings", value: { $typeName: "eventstore.v1.StringValues", values: list as string[] } } };
    default:
      return { $typeName: "eventstore.v1.Column", name,
        values: { case: "doubles", value: { $typeName: "eventstore.v1.DoubleValues", values: list as number[] } } };
  }
}

/** Rows or columns → the wire form, typed by the stream's fields. Missing values are left to the server's check. */
export function toWireEvents(fields: readonly FieldSpec[], input: readonly EventRow[] | EventColumns,
  ids: string[] | undefined): Events {
  if (isEventColumns(input)) {
    return create(EventsSchema, {
      timestamps: Array.from(input.timestamps),
      columns: fields.map((field) => column(field, input.columns[field.name] ?? [])),
      ids: ids ?? (input.ids === undefined ? [] : Array.from(input.ids)),
    });
  }
  const given = input.some((row) => row.id !== undefined);
  return create(EventsSchema, {
    timestamps: input.map((row) => row.timestamp),
    columns: fields.map((field) => column(field, input.map((row) => row.values[field.name]!))),
    ids: ids ?? (given ? input.map((row) => row.id ?? "") : []),
  });
}

/** The wire form → rows (query results). */
export function toRows(events: Events | undefined): EventRow[] {
  if (events === undefined) return [];
  return events.timestamps.map((timestamp, row) => {
    const values: Record<string, FieldValue> = {};
    for (const entry of events.columns) {
      const value = entry.values.value?.values[row];
      if (value !== undefined) values[entry.name] = typeof value === "bigint" ? Number(value) : value;
    }
    const id = events.ids[row];
    return id === undefined || id === "" ? { timestamp, values } : { timestamp, id, values };
  });
}

export function countOf(input: readonly EventRow[] | EventColumns): number {
  return isEventColumns(input) ? input.timestamps.length : input.length;
}
