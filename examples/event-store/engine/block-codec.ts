import { crc32c } from "@node-rs/crc32";
import { assert } from "./assert.js";
import { BLOCK_HEADER_BYTES, encodedBlockBytes, type BlockLayout } from "./block-layout.js";
import { blockColumns, textAt, type Block } from "./block.js";
import { writeInt64s } from "./int64-column.js";
import { utf8Length, writeUtf8At } from "./utf8.js";

/**
 * A block's bytes (one slot of the blocks file, one snapshot chunk):
 *
 *   0 magic "EVB1" u32 | 4 crc32c of bytes [8, length) | 8 length u32 |
 *   12 row count u32 | 16 string bytes u32 | 20 field count u32 | 24 zero (8)
 *   then the columns, see block-layout.ts.
 * @internal
 */
export const BLOCK_MAGIC = 0x31425645;

function padTo8(bytes: number): number {
  return (bytes + 7) & ~7;
}

/** Encodes `block` into a fresh 8-aligned buffer of exactly its encoded length. */
export function encodeBlock(layout: BlockLayout, block: Block): Uint8Array {
  const bytes = new Uint8Array(encodedBlockBytes(layout, block.count, block.stringBytes));
  encodeBlockInto(layout, block, bytes);
  return bytes;
}

/**
 * Encodes `block` at the start of `target` (its byteOffset a multiple of 8,
 * at least the encoded length long); returns the encoded length. The bytes
 * of `target` after it are left as they were; padding inside it is zero.
 */
export function encodeBlockInto(layout: BlockLayout, block: Block, target: Uint8Array): number {
  const length = encodedBlockBytes(layout, block.count, block.stringBytes);
  assert(length <= layout.blockBytes, () => `block of ${length} bytes, slot ${layout.blockBytes}`);
  assert(target.byteOffset % 8 === 0 && target.byteLength >= length,
    () => `encode into ${target.byteLength} bytes at offset ${target.byteOffset}, ${length} needed`);
  const bytes = target.subarray(0, length);
  bytes.fill(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, length / 4);
  const count = block.count;
  view.setUint32(0, BLOCK_MAGIC, true);
  view.setUint32(8, length, true);
  view.setUint32(12, count, true);
  view.setUint32(16, block.stringBytes, true);
  view.setUint32(20, layout.fields.length, true);
  let at = BLOCK_HEADER_BYTES;
  writeInt64s(block.timestamps, 0, count, words, at / 4);
  at += 8 * count;
  at = encodeWideColumns(layout, block, bytes, words, at);
  at = encodeNarrowColumns(block, bytes, view, at);
  assert(padTo8(at) === length, () => `encoded ${at} bytes, expected ${length}`);
  view.setUint32(4, crc32c(bytes.subarray(8)), true);
  return length;
}

function encodeWideColumns(layout: BlockLayout, block: Block, bytes: Uint8Array, words: Int32Array,
  start: number): number {
  let at = start;
  const columns = blockColumns(block);
  layout.fields.forEach((field, index) => {
    const column = columns[index]!;
    if (column.kind !== "number") return;
    if (field.type === "int64") writeInt64s(column.values, 0, block.count, words, at / 4);
    else {
      new Float64Array(bytes.buffer, bytes.byteOffset + at, block.count)
        .set(column.values.subarray(0, block.count));
    }
    at += 8 * block.count;
  });
  return at;
}

function encodeNarrowColumns(block: Block, bytes: Uint8Array, view: DataView, start: number): number {
  let at = start;
  const count = block.count;
  const columns = blockColumns(block);
  for (const column of columns) {
    if (column.kind !== "bool") continue;
    bytes.set(column.values.subarray(0, count), at);
    at += padTo8(count);
  }
  const stringColumns = columns.filter((column) => column.kind === "string");
  const lengthsAt = at;
  at += stringColumns.length * padTo8(4 * count);
  stringColumns.forEach((column, columnIndex) => {
    const base = lengthsAt + columnIndex * padTo8(4 * count);
    // Rows past the stored texts are empty: their lengths are the zeros already there.
    const stored = column.kind === "string" ? Math.min(count, column.texts.length) : 0;
    for (let row = 0; row < stored; row++) {
      const text = column.kind === "string" ? textAt(column.texts, row) : "";
      const written = writeUtf8At(text, bytes, at);
      assert(written === utf8Length(text), () => `string of row ${row} written short`);
      view.setUint32(base + 4 * row, written, true);
      at += written;
    }
  });
  return at;
}
