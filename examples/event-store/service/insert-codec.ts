import { create, fromJson, toJson } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import type { MessageCodec } from "../../../framework/statemachine/index.js";
import { InsertRequestSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import type { Column, Events, InsertRequest } from "../gen/eventstore/v1/eventstore_pb.js";
import type { DecodeTarget, InsertCommand, ReadInsertCommand, WireColumn, WireEvents } from "./insert-wire.js";
import { decodeInsertCommand, emptyWireEvents, readInsertCommand } from "./insert-wire.js";
import { encodeInsertCommand, encodeInsertCommandAfter } from "./insert-wire-encode.js";

function toWireColumn(column: Column): WireColumn {
  const values = column.values;
  switch (values.case) {
    case "doubles":
      return { name: column.name,
        values: { case: "doubles", values: Float64Array.from(values.value.values) } };
    case "int64s": {
      const list = values.value.values;
      const beyondSafe = list.find((value) =>
        value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER));
      return { name: column.name, values: { case: "int64s",
        values: Float64Array.from(list, (value) => Number(value)),
        ...(beyondSafe === undefined ? {} : { beyondSafe, exact: list }) } };
    }
    case "bools":
      return { name: column.name, values: { case: "bools", values: values.value.values } };
    case "strings":
      return { name: column.name, values: { case: "strings", values: values.value.values } };
    case undefined:
      return { name: column.name, values: { case: undefined } };
  }
}

/** protobuf-es Events → the columnar wire form: one copy per numeric column. */
export function toWireEvents(events: Events | undefined): WireEvents {
  if (events === undefined) return emptyWireEvents;
  return { timestamps: Float64Array.from(events.timestamps),
    columns: events.columns.map(toWireColumn),
    ids: events.ids };
}

/** The doubles as a plain array (an indexed loop: Array.from walks an iterator, far slower). */
function numberArray(values: Float64Array): number[] {
  const numbers = new Array<number>(values.length);
  for (let index = 0; index < values.length; index++) numbers[index] = values[index]!;
  return numbers;
}

function toProtoValues(values: WireColumn["values"]): Column["values"] {
  switch (values.case) {
    case "doubles": return { case: "doubles",
      value: { $typeName: "eventstore.v1.DoubleValues", values: numberArray(values.values) } };
    case "int64s": return { case: "int64s", value: { $typeName: "eventstore.v1.Int64Values",
      values: values.exact === undefined ? Array.from(values.values, (value) => BigInt(value))
        : [...values.exact] } };
    case "bools": return { case: "bools",
      value: { $typeName: "eventstore.v1.BoolValues", values: [...values.values] } };
    case "strings": return { case: "strings",
      value: { $typeName: "eventstore.v1.StringValues", values: [...values.values] } };
    case undefined: return { case: undefined };
  }
}

/** The columnar wire form → protobuf-es Events (plain number arrays: no object per value). */
export function toProtoEvents(events: WireEvents): Events {
  return {
    $typeName: "eventstore.v1.Events",
    timestamps: numberArray(events.timestamps),
    columns: events.columns.map((column) => ({ $typeName: "eventstore.v1.Column", name: column.name,
      values: toProtoValues(column.values) })),
    ids: [...events.ids],
  };
}

/** The columnar form of each request `insertRequestCodec` decoded (the executor reads this). */
/** The decoded form of each request `insertRequestCodec` decoded (the executor reads this). */
interface DecodedForm {
  readonly read: ReadInsertCommand;
  /** The columns copied into fresh memory, once asked for without a target. */
  command: InsertCommand | undefined;
}

const decodedForms = new WeakMap<InsertRequest, DecodedForm>();

/**
 * The columnar form of a request decoded by `insertRequestCodec.decode` —
 * Float64Arrays copied from the log entry — or undefined for a request
 * made any other way (JSON, protobuf-es). With `targetOf`, the double
 * columns are copied into its memory (the apply's reused column memory)
 * and this form is not kept: each call copies anew, and one without a
 * target gets fresh memory, whatever the caller did with its target's.
 * The log entry's bytes are read again then: they never change.
 */
export function columnarFormOf(request: InsertRequest,
  targetOf?: (count: number) => DecodeTarget | undefined): InsertCommand | undefined {
  const form = decodedForms.get(request);
  if (form === undefined) return undefined;
  const { stream, async } = form.read;
  if (targetOf !== undefined) return { stream, async, events: form.read.finish(targetOf) };
  form.command ??= { stream, async, events: form.read.finish() };
  return form.command;
}

/**
 * A decoded InsertRequest whose `events` (protobuf-es's number arrays) are
 * built only when read: the apply on every replica reads the columnar form
 * (`columnarFormOf`) and never pays for one number per value.
 */
function lazyRequest(read: ReadInsertCommand): InsertRequest {
  let events: Events | undefined;
  let built = false;
  const request: InsertRequest = {
    $typeName: "eventstore.v1.InsertRequest", stream: read.stream, async: read.async,
    get events(): Events | undefined {
      if (!built) {
        events = toProtoEvents(columnarFormOf(request)?.events ?? read.finish());
        built = true;
      }
      return events;
    },
    set events(value: Events | undefined) {
      events = value;
      built = true;
      decodedForms.delete(request);
    },
  };
  decodedForms.set(request, { read, command: undefined });
  return request;
}

/**
 * InsertRequest through the hand codec (insert-wire*.ts) instead of
 * protobuf-es's reflection: the same bytes, a fraction of the work (no
 * buffer and view per double). JSON (the gateway's typed form) stays on
 * protobuf-es, which checks its shape and names the field.
 */
export const insertRequestCodec: MessageCodec<InsertRequest> = {
  encode: (request) => encodeInsertCommand({ stream: request.stream,
    events: toWireEvents(request.events), async: request.async }),
  // Read and checked here (a malformed request fails its decode, as before); the columns are copied when read.
  decode: (bytes) => lazyRequest(readInsertCommand(bytes)),
  // The gateway hands parsed JSON; fromJson checks its shape and throws naming the field.
  fromJson: (json) => fromJson(InsertRequestSchema, json as JsonValue),
  toJson: (request) => toJson(InsertRequestSchema, request),
};

/**
 * The same message in columnar form, for the leader's merged proposal
 * (insert-buffer.ts): Float64Arrays straight into the log entry's bytes.
 */
export const insertCommandCodec: MessageCodec<InsertCommand> = {
  encode: encodeInsertCommand,
  // In place after the envelope header (buildCommand): a merged proposal is ~1 MB.
  encodeAfter: encodeInsertCommandAfter,
  decode: decodeInsertCommand,
  fromJson: (json) => {
    const request = fromJson(InsertRequestSchema, json as JsonValue);
    return { stream: request.stream, events: toWireEvents(request.events), async: request.async };
  },
  toJson: (command) => toJson(InsertRequestSchema, create(InsertRequestSchema, {
    stream: command.stream, events: toProtoEvents(inEncodedOrder(command)), async: command.async })),
};

/** The command's events in the order it is encoded in (InsertCommand.order). */
function inEncodedOrder(command: InsertCommand): WireEvents {
  const order = command.order;
  if (order === undefined) return command.events;
  const pick = <Value>(values: ArrayLike<Value>): Value[] => Array.from(order, (row) => values[row]!);
  const doubles = (values: Float64Array): Float64Array => Float64Array.from(order, (row) => values[row]!);
  const columns = command.events.columns.map((column): WireColumn => {
    const values = column.values;
    switch (values.case) {
      case "doubles": return { name: column.name, values: { case: "doubles", values: doubles(values.values) } };
      case "int64s": return { name: column.name, values: { case: "int64s", values: doubles(values.values),
        ...(values.beyondSafe === undefined ? {} : { beyondSafe: values.beyondSafe }),
        ...(values.exact === undefined ? {} : { exact: pick(values.exact) }) } };
      case "bools": return { name: column.name, values: { case: "bools", values: pick(values.values) } };
      case "strings": return { name: column.name, values: { case: "strings", values: pick(values.values) } };
      case undefined: return column;
    }
  });
  return { timestamps: doubles(command.events.timestamps), columns,
    ids: command.events.ids.length === 0 ? [] : pick(command.events.ids) };
}
