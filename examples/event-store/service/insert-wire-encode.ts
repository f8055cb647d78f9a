import type { InsertCommand, WireColumn, WireEvents, WireValues } from "./insert-wire.js";
import { int64Bytes, utf8Bytes, varintBytes, WireWriter } from "./wire-writer.js";

/**
 * Encodes the columnar InsertRequest (insert-wire.ts) as protobuf binary in
 * one pass over a buffer sized first: what protobuf-es writes for the same
 * message, byte for byte up to field order (tests compare both ways).
 */

const delimitedBytes = (payload: number): number => varintBytes(payload) + payload;

/** Payload sizes of a column's value message and of each string in it. */
interface ValuesLayout {
  readonly payload: number;
  readonly packed: number;
  readonly stringBytes: readonly number[];
}

function valuesLayout(values: WireValues): ValuesLayout {
  switch (values.case) {
    case "doubles": {
      const packed = 8 * values.values.length;
      return { payload: packed === 0 ? 0 : 1 + delimitedBytes(packed), packed, stringBytes: [] };
    }
    case "int64s": {
      let packed = 0;
      for (const value of values.values) packed += int64Bytes(value);
      return { payload: packed === 0 ? 0 : 1 + delimitedBytes(packed), packed, stringBytes: [] };
    }
    case "bools": {
      const packed = values.values.length;
      return { payload: packed === 0 ? 0 : 1 + delimitedBytes(packed), packed, stringBytes: [] };
    }
    case "strings": {
      const stringBytes = values.values.map(utf8Bytes);
      let payload = 0;
      for (const bytes of stringBytes) payload += 1 + delimitedBytes(bytes);
      return { payload, packed: 0, stringBytes };
    }
    case undefined:
      return { payload: 0, packed: 0, stringBytes: [] };
  }
}

interface ColumnLayout {
  readonly nameBytes: number;
  readonly values: ValuesLayout;
  readonly payload: number;
}

function columnLayout(column: WireColumn): ColumnLayout {
  const nameBytes = utf8Bytes(column.name);
  const values = valuesLayout(column.values);
  const payload = (nameBytes === 0 ? 0 : 1 + delimitedBytes(nameBytes)) +
    (column.values.case === undefined ? 0 : 1 + delimitedBytes(values.payload));
  return { nameBytes, values, payload };
}

interface EventsLayout {
  readonly columns: readonly ColumnLayout[];
  readonly idBytes: readonly number[];
  readonly payload: number;
}

function eventsLayout(events: WireEvents): EventsLayout {
  const timestamps = 8 * events.timestamps.length;
  let payload = timestamps === 0 ? 0 : 1 + delimitedBytes(timestamps);
  const columns = events.columns.map(columnLayout);
  for (const column of columns) payload += 1 + delimitedBytes(column.payload);
  const idBytes = events.ids.map(utf8Bytes);
  for (const bytes of idBytes) payload += 1 + delimitedBytes(bytes);
  return { columns, idBytes, payload };
}

const tag = (fieldNo: number, wireType: number): number => (fieldNo << 3) | wireType;

function writeString(writer: WireWriter, fieldNo: number, text: string, bytes: number): void {
  writer.uint32(tag(fieldNo, 2));
  writer.uint32(bytes);
  writer.utf8(text, bytes);
}

/** Row `row` of the written order: `order[row]`, or `row` itself without an order. */
const rowAt = (order: Uint32Array | undefined, row: number): number => (order === undefined ? row : order[row]!);

function writeValues(writer: WireWriter, values: WireValues, layout: ValuesLayout, order: Uint32Array | undefined): void {
  if (values.case === "strings") {
    for (let row = 0; row < values.values.length; row++) {
      const at = rowAt(order, row);
      writeString(writer, 1, values.values[at]!, layout.stringBytes[at]!);
    }
    return;
  }
  if (values.case === undefined || layout.packed === 0) return;
  writer.uint32(tag(1, 2));
  writer.uint32(layout.packed);
  if (values.case === "doubles") {
    if (order === undefined) writer.float64s(values.values);
    else writer.float64sInOrder(values.values, order);
  } else if (values.case === "int64s") {
    for (let row = 0; row < values.values.length; row++) writer.int64(values.values[rowAt(order, row)]!);
  } else {
    for (let row = 0; row < values.values.length; row++) writer.bytes[writer.at++] = values.values[rowAt(order, row)] ? 1 : 0;
  }
}

const valueFieldNo = { doubles: 2, int64s: 3, bools: 4, strings: 5 } as const;

function writeEvents(writer: WireWriter, events: WireEvents, layout: EventsLayout, order?: Uint32Array): void {
  if (events.timestamps.length > 0) {
    writer.uint32(tag(1, 2));
    writer.uint32(8 * events.timestamps.length);
    if (order === undefined) writer.float64s(events.timestamps);
    else writer.float64sInOrder(events.timestamps, order);
  }
  events.columns.forEach((column, index) => {
    const columnLayout = layout.columns[index]!;
    writer.uint32(tag(2, 2));
    writer.uint32(columnLayout.payload);
    if (columnLayout.nameBytes > 0) writeString(writer, 1, column.name, columnLayout.nameBytes);
    if (column.values.case === undefined) return;
    writer.uint32(tag(valueFieldNo[column.values.case], 2));
    writer.uint32(columnLayout.values.payload);
    writeValues(writer, column.values, columnLayout.values, order);
  });
  for (let row = 0; row < events.ids.length; row++) {
    const at = rowAt(order, row);
    writeString(writer, 3, events.ids[at]!, layout.idBytes[at]!);
  }
}

/**
 * An order must permute all of the events' rows: as many entries as
 * timestamps, and every column and the ids (when given) of that length.
 */
function checkOrder(events: WireEvents, order: Uint32Array): void {
  const count = events.timestamps.length;
  const fault = (text: string): RangeError => new RangeError(`insert encode order: ${text} for ${count} events`);
  if (order.length !== count) throw fault(`${order.length} entries`);
  if (events.ids.length !== 0 && events.ids.length !== count) throw fault(`${events.ids.length} ids`);
  for (const column of events.columns) {
    if (column.values.case !== undefined && column.values.values.length !== count) {
      throw fault(`column '${column.name}' of ${column.values.values.length} values`);
    }
  }
}

/** eventstore.v1.Events bytes (a message's payload, without tag and length). */
export function encodeWireEvents(events: WireEvents): Uint8Array {
  const layout = eventsLayout(events);
  const writer = new WireWriter(layout.payload);
  writeEvents(writer, events, layout);
  return writer.finish();
}

/**
 * The `events` field of an InsertRequest (tag, length, payload): what a
 * protobuf-es message carries as an unknown field so that Connect's
 * serializer writes these bytes as they are (event-store-client.ts).
 */
export function encodeEventsField(events: WireEvents): Uint8Array {
  const layout = eventsLayout(events);
  const writer = new WireWriter(delimitedBytes(layout.payload));
  writer.uint32(layout.payload);
  writeEvents(writer, events, layout);
  return writer.finish();
}

/** eventstore.v1.InsertRequest bytes. */
export function encodeInsertCommand(command: InsertCommand): Uint8Array {
  return encodeInsertCommandAfter(command, () => 0);
}

/**
 * The same bytes after `room(length)` free bytes at the start of the buffer
 * (MessageCodec.encodeAfter: the leader's proposal gets its envelope header
 * there instead of a copy of the command in a second buffer).
 */
export function encodeInsertCommandAfter(command: InsertCommand, room: (length: number) => number): Uint8Array {
  return encodeInsert(command, (length) => {
    const start = room(length);
    return { writer: new WireWriter(start + length), start };
  });
}

/**
 * The same bytes as encodeInsertCommand, written into `bufferOf(length)` (at
 * least `length` bytes; a reused, not zeroed buffer is fine: every byte up to
 * `length` is written). Returns the `length` bytes written, a view of it.
 */
export function encodeInsertCommandInto(command: InsertCommand, bufferOf: (length: number) => Uint8Array): Uint8Array {
  return encodeInsert(command, (length) => {
    const buffer = bufferOf(length);
    if (!(buffer instanceof Uint8Array) || buffer.length < length) {
      throw new RangeError(`encodeInsertCommandInto: a buffer of ${buffer?.length} bytes for ${length}`);
    }
    return { writer: new WireWriter(buffer.subarray(0, length)), start: 0 };
  });
}

function encodeInsert(command: InsertCommand,
  writerOf: (length: number) => { writer: WireWriter; start: number }): Uint8Array {
  const streamBytes = utf8Bytes(command.stream);
  const events = eventsLayout(command.events);
  const length = (streamBytes === 0 ? 0 : 1 + delimitedBytes(streamBytes)) + 1 +
    delimitedBytes(events.payload) + (command.async ? 2 : 0);
  if (command.order !== undefined) checkOrder(command.events, command.order);
  const { writer, start } = writerOf(length);
  writer.at = start;
  if (streamBytes > 0) writeString(writer, 1, command.stream, streamBytes);
  writer.uint32(tag(2, 2));
  writer.uint32(events.payload);
  writeEvents(writer, command.events, events, command.order);
  if (command.async) {
    writer.uint32(tag(3, 0));
    writer.uint32(1);
  }
  return writer.finish();
}
