import { create, fromJson, toJson } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import type { MessageCodec } from "../../../framework/statemachine/index.js";
import { EventsSchema, InsertRequestSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import type { Column, Events } from "../gen/eventstore/v1/eventstore_pb.js";
import type { InsertCommand, WireColumn, WireEvents } from "./insert-wire.js";
import { decodeInsertCommand, emptyWireEvents } from "./insert-wire.js";
import { encodeInsertCommand } from "./insert-wire-encode.js";

function toWireColumn(column: Column): WireColumn {
  const values = column.values;
  switch (values.case) {
    case "doubles":
      return { name: column.name, values: { case: "doubles", values: Float64Array.from(values.value.values) } };
    case "int64s": {
      const beyondSafe = values.value.values.find((value) =>
        value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER));
      return { name: column.name, values: { case: "int64s",
        values: Float64Array.from(values.value.values, (value) => Number(value)),
        ...(beyondSafe === undefined ? {} : { beyondSafe }) } };
    }
    case "bools":
      return { name: column.name, values: { case: "bools", values: values.value.values } };
    case "strings":
      return { name: column.name, values: { case: "strings", values: values.value.values } };
    case undefined:
      return { name: column.name, values: { case: undefined } };
  }
}

/** protobuf-es Events (a Connect request's) → the columnar form: one copy per numeric column. */
export function toWireEvents(events: Events | undefined): WireEvents {
  if (events === undefined) return emptyWireEvents;
  return { timestamps: Float64Array.from(events.timestamps), columns: events.columns.map(toWireColumn),
    ids: events.ids };
}

function toProtoColumn(column: WireColumn): Column {
  const values = column.values;
  const message = (() => {
    switch (values.case) {
      case "doubles": return { case: "doubles" as const, value: { values: Array.from(values.values) } };
      case "int64s": return { case: "int64s" as const,
        value: { values: Array.from(values.values, (value) => BigInt(value)) } };
      case "bools": return { case: "bools" as const, value: { values: [...values.values] } };
      case "strings": return { case: "strings" as const, value: { values: [...values.values] } };
      case undefined: return { case: undefined };
    }
  })();
  return create(EventsSchema, { columns: [{ name: column.name, values: message }] }).columns[0]!;
}

/** The columnar form → protobuf-es Events (JSON answers, tests). */
export function toProtoEvents(events: WireEvents): Events {
  return create(EventsSchema, { timestamps: Array.from(events.timestamps),
    columns: events.columns.map(toProtoColumn), ids: [...events.ids] });
}

/**
 * The Insert command's codec: binary through the hand codec (insert-wire*.ts),
 * JSON (the gateway's typed form) through protobuf-es, which checks its shape
 * and names the field.
 */
export const insertCommandCodec: MessageCodec<InsertCommand> = {
  encode: encodeInsertCommand,
  decode: decodeInsertCommand,
  fromJson: (json) => {
    const request = fromJson(InsertRequestSchema, json as JsonValue);
    return { stream: request.stream, events: toWireEvents(request.events), async: request.async };
  },
  toJson: (command) => toJson(InsertRequestSchema, create(InsertRequestSchema, {
    stream: command.stream, events: toProtoEvents(command.events), async: command.async })),
};
