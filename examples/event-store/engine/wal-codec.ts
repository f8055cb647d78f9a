import { crc32c } from "@node-rs/crc32";
import { assert } from "./assert.js";
import { createBlockLayout, type BlockLayout } from "./block-layout.js";
import { ByteReader, ByteWriter, textBytes } from "./byte-cursor.js";
import { EventStoreError, EventStoreErrorCode } from "./errors.js";
import type { CheckedOperation } from "./checked-operation.js";
import { writeFloat64s } from "./int64-column.js";
import type { RowSource, SourceColumn } from "./row-source.js";
import { readSchema, schemaBytes, writeSchema } from "./schema-codec.js";
import { decodeUtf8, writeUtf8At } from "./utf8.js";

/**
 * One WAL record = one applied batch with its applied index:
 *
 *   0 magic "EVW1" | 4 crc32c of [8, length) | 8 length u32 | 12 generation u32 |
 *   16 applied index f64 | 24 operation count u32 | 28 annex u32 (0: none, else
 *   annex length + 1) | operations, each 8-aligned:
 *   createStream: u32 1 | schema (schema-codec.ts)
 *   insert: u32 2 | stream name | u32 count | timestamps f64[] | fields in schema
 *   order (int64 and double as f64, bool u8, string u32 lengths + UTF-8)
 *   | annex bytes (8-aligned) when present: the store's annex from this record on
 *
 * Unlike blocks, the WAL keeps timestamps and int64 values as the doubles
 * they are in memory (all safe integers, checked again on replay): a plain
 * copy, where the int64 form costs a conversion per value on the hot path.
 * @internal
 */
export const WAL_MAGIC = 0x31575645;
export const WAL_HEADER_BYTES = 32;
/** A batch's record at most (the length field is a u32; 1 GiB keeps buffers sane). */
export const WAL_RECORD_BYTES_MAX = 1024 * 1024 * 1024;
const CREATE = 1;
const INSERT = 2;

const pad8 = (bytes: number): number => (bytes + 7) & ~7;

function insertBytes(operation: CheckedOperation & { kind: "insert" }): number {
  const { layout, source } = operation;
  let stringBytes = 0;
  if (source.rowStringBytes !== undefined) {
    for (let row = 0; row < source.count; row++) stringBytes += source.rowStringBytes[row]!;
  }
  return pad8(4 + textBytes(operation.stream)) + 8 + 8 * source.count * (1 + layout.wideCount) +
    layout.boolCount * pad8(source.count) + layout.stringCount * pad8(4 * source.count) +
    pad8(stringBytes);
}

/**
 * The bytes of a batch's WAL record (also what a store without WAL records,
 * walSync false, counts towards its checkpoint); a batch over
 * WAL_RECORD_BYTES_MAX is refused either way.
 */
export function walRecordBytes(operations: readonly CheckedOperation[], annex?: Uint8Array): number {
  let length = WAL_HEADER_BYTES + (annex === undefined ? 0 : pad8(annex.byteLength));
  for (const operation of operations) {
    length += operation.kind === "insert" ? insertBytes(operation) :
      pad8(4 + schemaBytes(operation.stream, operation.schema));
  }
  if (length > WAL_RECORD_BYTES_MAX) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument, `batch of ${length} bytes, ` +
      `at most ${WAL_RECORD_BYTES_MAX}: split it`);
  }
  return length;
}

export function encodeWalRecord(generation: number, appliedIndex: number,
  operations: readonly CheckedOperation[], annex?: Uint8Array): Uint8Array {
  const length = walRecordBytes(operations, annex);
  const writer = new ByteWriter(length);
  writer.u32(WAL_MAGIC);
  writer.u32(0);
  writer.u32(length);
  writer.u32(generation);
  writer.f64(appliedIndex);
  writer.u32(operations.length);
  writer.u32(annex === undefined ? 0 : annex.byteLength + 1);
  for (const operation of operations) {
    if (operation.kind === "createStream") {
      writer.u32(CREATE);
      writeSchema(writer, operation.stream, operation.schema);
      writer.align8();
    } else {
      writeInsert(writer, operation.stream, operation.layout, operation.source);
    }
  }
  if (annex !== undefined) {
    writer.bytes.set(annex, writer.at);
    writer.at += annex.byteLength;
    writer.align8();
  }
  assert(writer.at === length, () => `WAL record: wrote ${writer.at} bytes of ${length}`);
  writer.view.setUint32(4, crc32c(writer.bytes.subarray(8)), true);
  return writer.bytes;
}

function writeInsert(writer: ByteWriter, stream: string, layout: BlockLayout,
  source: RowSource): void {
  const count = source.count;
  writer.u32(INSERT);
  writer.text(stream);
  writer.align8();
  writer.u32(count);
  writer.u32(0);
  const doubles = new Float64Array(writer.bytes.buffer);
  writeFloat64s(source.timestamps, 0, count, doubles, writer.at / 8);
  writer.at += 8 * count;
  for (const column of source.columns) {
    if (column.kind !== "number") continue;
    writeFloat64s(column.values, 0, count, doubles, writer.at / 8);
    writer.at += 8 * count;
  }
  for (const column of source.columns) {
    if (column.kind !== "bool") continue;
    for (let row = 0; row < count; row++) {
      writer.bytes[writer.at + row] = column.values[row] ? 1 : 0;
    }
    writer.at += pad8(count);
  }
  writeStrings(writer, source.columns.filter((column) => column.kind === "string"), count);
}

function writeStrings(writer: ByteWriter, columns: SourceColumn[], count: number): void {
  const lengthsAt = writer.at;
  writer.at += columns.length * pad8(4 * count);
  columns.forEach((column, columnIndex) => {
    for (let row = 0; row < count; row++) {
      const text = column.kind === "string" ? column.values[row]! : "";
      const written = writeUtf8At(text, writer.bytes, writer.at);
      writer.view.setUint32(lengthsAt + columnIndex * pad8(4 * count) + 4 * row, written, true);
      writer.at += written;
    }
  });
  writer.align8();
}

export interface WalRecord {
  readonly generation: number;
  readonly appliedIndex: number;
  readonly operations: CheckedOperation[];
  /** Undefined when the record leaves the annex as it was. */
  readonly annex: Uint8Array | undefined;
}

/**
 * Decodes a record whose header and checksum were checked (wal-file.ts).
 * `layoutOf` gives the layout of a stream created before this record.
 */
export function decodeWalRecord(reader: ByteReader, blockBytes: number,
  layoutOf: (stream: string) => BlockLayout | undefined): WalRecord {
  reader.at = 12;
  const generation = reader.u32("generation");
  const appliedIndex = reader.f64("applied index");
  const count = reader.u32("operation count");
  const annexField = reader.u32("annex length");
  const created = new Map<string, BlockLayout>();
  const operations: CheckedOperation[] = [];
  for (let index = 0; index < count; index++) {
    const kind = reader.u32("operation kind");
    if (kind === CREATE) {
      const { name, schema } = readSchema(reader);
      reader.align8();
      created.set(name, createBlockLayout(schema, blockBytes));
      operations.push({ kind: "createStream", stream: name, schema });
    } else if (kind === INSERT) {
      const stream = reader.text("stream name");
      reader.align8();
      const layout = created.get(stream) ?? layoutOf(stream);
      if (layout === undefined) return reader.fail(`insert into unknown stream '${stream}'`);
      operations.push({ kind: "insert", stream, layout, source: readInsert(reader, layout) });
    } else {
      reader.fail(`unknown operation kind ${kind}`);
    }
  }
  return { generation, appliedIndex, operations, annex: readAnnex(reader, annexField) };
}

function readAnnex(reader: ByteReader, annexField: number): Uint8Array | undefined {
  if (annexField === 0) return undefined;
  const bytes = reader.take(annexField - 1, "annex");
  reader.align8();
  return bytes;
}

function readInsert(reader: ByteReader, layout: BlockLayout): RowSource {
  const count = reader.u32("event count");
  reader.u32("reserved");
  reader.need(8 * count * (1 + layout.wideCount), "insert columns");
  const timestamps = readDoubles(reader, count, true);
  const columns: SourceColumn[] = layout.fields.map((field) => {
    if (field.type !== "int64" && field.type !== "double") return { kind: "bool", values: [] };
    return { kind: "number", values: readDoubles(reader, count, field.type === "int64") };
  });
  return readNarrow(reader, layout, columns, count, timestamps);
}

/** `count` doubles; integers must be safe, doubles finite (else Corrupt at the value). */
function readDoubles(reader: ByteReader, count: number, integers: boolean): Float64Array {
  const values = new Float64Array(count);
  values.set(new Float64Array(reader.bytes.buffer, reader.bytes.byteOffset + reader.at, count));
  for (let row = 0; row < count; row++) {
    const value = values[row]!;
    if (integers ? !Number.isSafeInteger(value) : !Number.isFinite(value)) {
      reader.at += 8 * row;
      reader.fail(`value ${value} is not ${integers ? "a safe integer" : "finite"}`);
    }
  }
  reader.at += 8 * count;
  return values;
}

function readNarrow(reader: ByteReader, layout: BlockLayout, columns: SourceColumn[],
  count: number, timestamps: Float64Array): RowSource {
  layout.fields.forEach((field, index) => {
    if (field.type !== "bool") return;
    reader.need(pad8(count), "bool column");
    const values: boolean[] = [];
    for (let row = 0; row < count; row++) values.push(reader.bytes[reader.at + row] === 1);
    columns[index] = { kind: "bool", values };
    reader.at += pad8(count);
  });
  const stringFields = layout.fields.flatMap((field, index) =>
    field.type === "string" ? [index] : []);
  const lengthsAt = reader.at;
  reader.need(stringFields.length * pad8(4 * count), "string lengths");
  reader.at += stringFields.length * pad8(4 * count);
  const rowStringBytes = stringFields.length === 0 ? undefined : new Uint32Array(count);
  stringFields.forEach((fieldIndex, columnIndex) => {
    const values: string[] = [];
    for (let row = 0; row < count; row++) {
      const size = reader.view.getUint32(lengthsAt + columnIndex * pad8(4 * count) + 4 * row,
        true);
      reader.need(size, "string");
      try {
        values.push(decodeUtf8(reader.bytes.subarray(reader.at, reader.at + size)));
      } catch {
        reader.fail("string is not valid UTF-8");
      }
      rowStringBytes![row] = rowStringBytes![row]! + size;
      reader.at += size;
    }
    columns[fieldIndex] = { kind: "string", values };
  });
  reader.align8();
  return { count, timestamps, columns, rowStringBytes };
}
