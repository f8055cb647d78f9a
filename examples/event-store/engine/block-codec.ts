import { crc32c } from "@node-rs/crc32";
import { assert } from "./assert.js";
import { BLOCK_HEADER_BYTES, encodedBlockBytes, type BlockLayout } from "./block-layout.js";
import { columnBytes, textAt, type Block } from "./block.js";
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
 * The typed columns are read straight from the block's arena memory
 * (layout.memoryOffsets), not through `blockColumns`: a checkpoint encodes
 * thousands of blocks, and the views made for each (8 objects with 7
 * doubles) pushed the blocks a batch is working on out of the stream's
 * viewed set. Only the header's zero word and the narrow part (bools, string
 * lengths and bytes, their padding) are zeroed; every other byte is written
 * (until session 13 the whole block was zeroed first).
 */
export function encodeBlockInto(layout: BlockLayout, block: Block, target: Uint8Array): number {
  assert(block.resident, "encode of a block without rows");
  const length = encodedBlockBytes(layout, block.count, block.stringBytes);
  assert(length <= layout.blockBytes, () => `block of ${length} bytes, slot ${layout.blockBytes}`);
  assert(target.byteOffset % 8 === 0 && target.byteLength >= length,
    () => `encode into ${target.byteLength} bytes at offset ${target.byteOffset}, ${length} needed`);
  const bytes = target.subarray(0, length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, length / 4);
  const count = block.count;
  view.setUint32(0, BLOCK_MAGIC, true);
  view.setUint32(8, length, true);
  view.setUint32(12, count, true);
  view.setUint32(16, block.stringBytes, true);
  view.setUint32(20, layout.fields.length, true);
  view.setUint32(24, 0, true);
  view.setUint32(28, 0, true);
  let at = BLOCK_HEADER_BYTES;
  writeInt64s(block.timestamps, 0, count, words, at / 4);
  at += 8 * count;
  at = encodeWideColumns(layout, block, bytes, words, at);
  bytes.fill(0, at);
  at = encodeNarrowColumns(layout, block, bytes, view, at);
  assert(padTo8(at) === length, () => `encoded ${at} bytes, expected ${length}`);
  view.setUint32(4, crc32c(bytes.subarray(8)), true);
  return length;
}

/** The int64 and double columns, one after the other from `start` (a multiple of 8). */
function encodeWideColumns(layout: BlockLayout, block: Block, bytes: Uint8Array, words: Int32Array,
  start: number): number {
  const count = block.count;
  const fields = layout.fields;
  if (layout.wideCount === 0) return start;
  // The block's arena memory (a multiple of 8 bytes, 8-aligned) and the encoded bytes as doubles.
  const memory = new Float64Array(block.timestamps.buffer, block.timestamps.byteOffset,
    columnBytes(layout) / 8);
  const output = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  let at = start;
  for (let index = 0; index < fields.length; index++) {
    const type = fields[index]!.type;
    if (type !== "int64" && type !== "double") continue;
    const from = layout.memoryOffsets[index]! / 8;
    if (type === "int64") writeInt64s(memory, from, from + count, words, at / 4);
    else output.set(memory.subarray(from, from + count), at / 8);
    at += 8 * count;
  }
  return at;
}

/** Bool columns, then string lengths and bytes, from `start`; the bytes from `start` on are zero. */
function encodeNarrowColumns(layout: BlockLayout, block: Block, bytes: Uint8Array, view: DataView,
  start: number): number {
  let at = start;
  const count = block.count;
  const fields = layout.fields;
  for (let index = 0; index < fields.length; index++) {
    if (fields[index]!.type !== "bool") continue;
    bytes.set(new Uint8Array(block.timestamps.buffer,
      block.timestamps.byteOffset + layout.memoryOffsets[index]!, count), at);
    at += padTo8(count);
  }
  const texts = block.texts;
  const lengthsAt = at;
  at += texts.length * padTo8(4 * count);
  for (let column = 0; column < texts.length; column++) {
    const values = texts[column]!;
    const base = lengthsAt + column * padTo8(4 * count);
    // Rows past the stored texts are empty: their lengths are the zeros already there.
    const stored = Math.min(count, values.length);
    for (let row = 0; row < stored; row++) {
      const text = textAt(values, row);
      const written = writeUtf8At(text, bytes, at);
      assert(written === utf8Length(text), () => `string of row ${row} written short`);
      view.setUint32(base + 4 * row, written, true);
      at += written;
    }
  }
  return at;
}
