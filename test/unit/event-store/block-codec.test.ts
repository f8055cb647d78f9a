/**
 * The block encoding (docs/event-store.md "File layout") against a reference
 * encoder written from the format, for random schemas (int64, double, bool
 * and string fields in any order: bool columns sit between the wide ones in
 * a block's memory) and rows. Since session 13 the encoder reads the typed
 * columns from the block's arena memory by offset and zeroes only the
 * header's zero word and the narrow part: encoded into a buffer full of
 * stale bytes it must give the same bytes as into a zeroed one, and decode
 * back to the same rows.
 */
import { crc32c } from "@node-rs/crc32";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeBlock, encodeBlockInto } from "../../../examples/event-store/engine/block-codec.js";
import { decodeBlock } from "../../../examples/event-store/engine/block-decode.js";
import { createBlockLayout, encodedBlockBytes, type BlockLayout } from "../../../examples/event-store/engine/block-layout.js";
import { appendRows, blockColumns, createBlock, textAt, type Block } from "../../../examples/event-store/engine/block.js";
import type { RowSource, SourceColumn } from "../../../examples/event-store/engine/row-source.js";
import type { FieldType, StreamSchema } from "../../../examples/event-store/engine/schema.js";
import { createBlockHome } from "../../../examples/event-store/engine/stream.js";

const BLOCK_BYTES = 4096;
type Value = number | boolean | string;

function padTo8(bytes: number): number {
  return (bytes + 7) & ~7;
}

/** The format, written out plainly: header, timestamps, wide columns, bools, string lengths, bytes. */
function referenceEncoding(schema: StreamSchema, timestamps: readonly number[], rows: readonly Value[][]): Uint8Array {
  const count = timestamps.length;
  const fields = schema.fields;
  const encoder = new TextEncoder();
  const strings = fields.map((field, index) => field.type === "string"
    ? rows.map((row) => encoder.encode(row[index] as string)) : []);
  const stringBytes = strings.flat().reduce((sum, bytes) => sum + bytes.length, 0);
  const wide = fields.filter((field) => field.type === "int64" || field.type === "double").length;
  const bools = fields.filter((field) => field.type === "bool").length;
  const texts = fields.filter((field) => field.type === "string").length;
  const length = 32 + 8 * count * (1 + wide) + bools * padTo8(count) + texts * padTo8(4 * count) + padTo8(stringBytes);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x31425645, true);
  view.setUint32(8, length, true);
  view.setUint32(12, count, true);
  view.setUint32(16, stringBytes, true);
  view.setUint32(20, fields.length, true);
  let at = 32;
  for (const timestamp of timestamps) { view.setBigInt64(at, BigInt(timestamp), true); at += 8; }
  fields.forEach((field, index) => {
    if (field.type !== "int64" && field.type !== "double") return;
    for (const row of rows) {
      if (field.type === "int64") view.setBigInt64(at, BigInt(row[index] as number), true);
      else view.setFloat64(at, row[index] as number, true);
      at += 8;
    }
  });
  fields.forEach((field, index) => {
    if (field.type !== "bool") return;
    rows.forEach((row, rowIndex) => { bytes[at + rowIndex] = row[index] === true ? 1 : 0; });
    at += padTo8(count);
  });
  const lengthsAt = at;
  at += texts * padTo8(4 * count);
  let column = 0;
  fields.forEach((field, index) => {
    if (field.type !== "string") return;
    strings[index]!.forEach((encoded, rowIndex) => {
      view.setUint32(lengthsAt + column * padTo8(4 * count) + 4 * rowIndex, encoded.length, true);
      bytes.set(encoded, at);
      at += encoded.length;
    });
    column++;
  });
  view.setUint32(4, crc32c(bytes.subarray(8)), true);
  return bytes;
}

function sourceOf(schema: StreamSchema, timestamps: readonly number[], rows: readonly Value[][]): RowSource {
  const columns = schema.fields.map((field, index): SourceColumn => {
    const values = rows.map((row) => row[index]!);
    if (field.type === "bool") return { kind: "bool", values: values as boolean[] };
    if (field.type === "string") return { kind: "string", values: values as string[] };
    return { kind: "number", values: Float64Array.from(values as number[]) };
  });
  const encoder = new TextEncoder();
  const rowStringBytes = Uint32Array.from(rows, (row) => schema.fields.reduce((sum, field, index) =>
    sum + (field.type === "string" ? encoder.encode(row[index] as string).length : 0), 0));
  return { count: timestamps.length, timestamps: Float64Array.from(timestamps), columns,
    rowStringBytes: rowStringBytes.some((bytes) => bytes > 0) ? rowStringBytes : undefined };
}

function rowsOf(layout: BlockLayout, block: Block): { timestamps: number[]; values: Value[][] } {
  const columns = blockColumns(block);
  const timestamps = Array.from(block.timestamps.subarray(0, block.count));
  const values = timestamps.map((_, row) => columns.map((column): Value => {
    if (column.kind === "string") return textAt(column.texts, row);
    if (column.kind === "bool") return column.values[row] === 1;
    return column.values[row]!;
  }));
  expect(columns.length).toBe(layout.fields.length);
  return { timestamps, values };
}

const valueOf = (type: FieldType): fc.Arbitrary<Value> => {
  switch (type) {
    case "int64": return fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    case "double": return fc.double({ noNaN: true, noDefaultInfinity: true });
    case "bool": return fc.boolean();
    case "string": return fc.oneof(fc.constant(""), fc.string({ maxLength: 6, unit: "binary" }));
  }
};

const caseOf = fc.array(fc.constantFrom<FieldType>("int64", "double", "bool", "string"), { minLength: 1, maxLength: 5 })
  .chain((types) => {
    const schema: StreamSchema = { fields: types.map((type, index) => ({ name: `f${index}`, type })) };
    const row = fc.tuple(...types.map(valueOf));
    return fc.record({
      schema: fc.constant(schema),
      start: fc.integer({ min: -(2 ** 52), max: 2 ** 52 }),
      gaps: fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 60 }),
      rows: fc.array(row, { minLength: 60, maxLength: 60 }),
      stale: fc.integer({ min: 1, max: 255 }),
    });
  });

describe("block encoding", () => {
  it("gives the format's bytes, the same into stale memory as into zeroed memory, and decodes to the same rows", () => {
    fc.assert(fc.property(caseOf, ({ schema, start, gaps, rows: allRows, stale }) => {
      const layout = createBlockLayout(schema, BLOCK_BYTES);
      const timestamps: number[] = [];
      let time = start;
      for (const gap of gaps) { time += gap; timestamps.push(time); }
      const rows = allRows.slice(0, timestamps.length);
      const home = createBlockHome(layout, undefined);
      const block = createBlock(home, 0);
      const source = sourceOf(schema, timestamps, rows);
      if (encodedBlockBytes(layout, timestamps.length, source.rowStringBytes?.reduce((a, b) => a + b, 0) ?? 0) > BLOCK_BYTES) return;
      if (timestamps.length > 0) appendRows(block, source, 0, timestamps.length);
      const expected = referenceEncoding(schema, timestamps, rows);
      expect(encodeBlock(layout, block)).toEqual(expected);
      const target = new Uint8Array(BLOCK_BYTES + 16).fill(stale);
      const length = encodeBlockInto(layout, block, target.subarray(8));
      expect(length).toBe(expected.length);
      expect(target.subarray(8, 8 + length)).toEqual(expected);
      // Bytes around the block are not written.
      expect(target.subarray(0, 8).every((byte) => byte === stale)).toBe(true);
      expect(target.subarray(8 + length).every((byte) => byte === stale)).toBe(true);
      const decoded = decodeBlock(home, expected, { file: "test", offset: 0 }, 0);
      expect(rowsOf(layout, decoded)).toEqual({ timestamps, values: rows });
    }), { numRuns: 300 });
  });
});
