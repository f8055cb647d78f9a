import { crc32c } from "@node-rs/crc32";
import { BLOCK_HEADER_BYTES, encodedBlockBytes, type BlockLayout } from "./block-layout.js";
import { BLOCK_MAGIC } from "./block-codec.js";
import type { BlockHome } from "./block-cache.js";
import { blockColumns, createBlock, summarizeBlock, type Block } from "./block.js";
import { corrupt } from "./errors.js";
import { readInt64s } from "./int64-column.js";
import { decodeUtf8 } from "./utf8.js";

function padTo8(bytes: number): number {
  return (bytes + 7) & ~7;
}

/** Where bytes came from, for errors: the file (or snapshot) and the offset of byte 0. */
export interface ByteOrigin {
  readonly file: string;
  readonly offset: number;
}

/**
 * Decodes and checks a block: magic, length, checksum, shape against the
 * stream's layout, timestamps in order. Every failure is Corrupt naming the
 * file and the offset.
 * @internal
 */
export function decodeBlock(home: BlockHome, input: Uint8Array, origin: ByteOrigin,
  epoch: number): Block {
  const block = createBlock(home, epoch);
  decodeRows(home.layout, block, input, origin);
  block.summary = summarizeBlock(home.layout, block);
  block.dirty = false;
  return block;
}

/**
 * Checks an encoded block and writes its rows into `block`, whose columns
 * are attached and empty; sets its count and string bytes (not its summary).
 */
export function decodeRows(layout: BlockLayout, block: Block, input: Uint8Array,
  origin: ByteOrigin): void {
  const fail = (text: string, at: number): never => {
    throw corrupt(`block: ${text}`, origin.file, origin.offset + at);
  };
  if (input.byteLength < BLOCK_HEADER_BYTES) fail(`${input.byteLength} bytes, header is 32`, 0);
  // A misaligned input is copied (`new Uint8Array(...)`: a node Buffer's slice would be a view).
  const bytes = input.byteOffset % 8 === 0 ? input : new Uint8Array(input);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== BLOCK_MAGIC) fail("bad magic", 0);
  const length = view.getUint32(8, true);
  if (length < BLOCK_HEADER_BYTES || length > bytes.byteLength || length > layout.blockBytes) {
    fail(`length ${length} out of range`, 8);
  }
  if (crc32c(bytes.subarray(8, length)) !== view.getUint32(4, true)) fail("checksum mismatch", 4);
  const count = view.getUint32(12, true);
  const stringBytes = view.getUint32(16, true);
  if (count >= layout.capacityRows) fail(`${count} rows, at most ${layout.capacityRows - 1}`, 12);
  if (view.getUint32(20, true) !== layout.fields.length) fail("field count differs", 20);
  if (encodedBlockBytes(layout, count, stringBytes) !== length) fail("length mismatch", 8);
  block.count = count;
  block.stringBytes = stringBytes;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, length >>> 2);
  let at = BLOCK_HEADER_BYTES;
  readInt64s(words, at / 4, count, block.timestamps, origin.file, origin.offset + at);
  for (let row = 1; row < count; row++) {
    if (block.timestamps[row - 1]! > block.timestamps[row]!) fail(`row ${row} out of order`, at);
  }
  at += 8 * count;
  at = decodeWideColumns(layout, block, bytes, at, origin);
  decodeNarrowColumns(block, bytes, at, length, fail);
}

function decodeWideColumns(layout: BlockLayout, block: Block, bytes: Uint8Array, start: number,
  origin: ByteOrigin): number {
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  let at = start;
  const columns = blockColumns(block);
  layout.fields.forEach((field, index) => {
    const column = columns[index]!;
    if (column.kind !== "number") return;
    if (field.type === "int64") {
      readInt64s(words, at / 4, block.count, column.values, origin.file, origin.offset + at);
    } else {
      column.values.set(new Float64Array(bytes.buffer, bytes.byteOffset + at, block.count));
    }
    at += 8 * block.count;
  });
  return at;
}

function decodeNarrowColumns(block: Block, bytes: Uint8Array, start: number, length: number,
  fail: (text: string, at: number) => never): void {
  let at = start;
  const count = block.count;
  const columns = blockColumns(block);
  for (const column of columns) {
    if (column.kind !== "bool") continue;
    for (let row = 0; row < count; row++) {
      const value = bytes[at + row]!;
      if (value > 1) fail(`bool value ${value}`, at + row);
      column.values[row] = value;
    }
    at += padTo8(count);
  }
  const stringColumns = columns.filter((column) => column.kind === "string");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let textAt = at + stringColumns.length * padTo8(4 * count);
  stringColumns.forEach((column, columnIndex) => {
    const base = at + columnIndex * padTo8(4 * count);
    for (let row = 0; row < count; row++) {
      const size = view.getUint32(base + 4 * row, true);
      if (textAt + size > length) fail(`string of row ${row} runs past the block`, base + 4 * row);
      if (size === 0) continue;
      let text = "";
      try {
        text = decodeUtf8(bytes.subarray(textAt, textAt + size));
      } catch {
        fail(`string of row ${row} is not valid UTF-8`, textAt);
      }
      // Empty strings stay implicit (texts shorter than the rows): see BlockColumn.
      if (column.kind === "string") {
        while (column.texts.length < row) column.texts.push("");
        column.texts.push(text);
      }
      textAt += size;
    }
  });
}
