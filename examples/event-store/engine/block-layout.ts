import { assert } from "./assert.js";
import { aggregatedFieldIndexes, type FieldSpec, type StreamSchema } from "./schema.js";

/**
 * The byte budget of a block of one stream. A block is stored in one slot of
 * `blockBytes` bytes, columnar (see block-codec.ts):
 *
 *   header (32) | timestamps int64[n] | each int64/double field [n] |
 *   each bool field u8[n] (padded to 8) | each string field u32 lengths[n]
 *   (padded to 8) | all string bytes, UTF-8 (padded to 8)
 *
 * A block accepts rows while its encoding fits the slot. In-order appends
 * stop at `appendFillBytes` (90 %), leaving spare room for late events.
 * @internal
 */
export const BLOCK_HEADER_BYTES = 32;
export const BLOCK_BYTES_MIN = 1024;
export const BLOCK_BYTES_MAX = 16 * 1024 * 1024;
/** Share of a block that in-order appends fill; the rest absorbs late events. */
export const APPEND_FILL_RATIO = 0.9;

export interface BlockLayout {
  readonly blockBytes: number;
  readonly appendFillBytes: number;
  readonly fields: readonly FieldSpec[];
  /** Indexes into `fields` of the aggregated fields. */
  readonly aggregated: readonly number[];
  readonly wideCount: number;
  readonly boolCount: number;
  readonly stringCount: number;
  /** Rows one block can hold when strings are empty, plus one row of overflow before a split. */
  readonly capacityRows: number;
  /** Largest encoded row accepted: an eighth of a block, so a split yields two fitting halves. */
  readonly rowBytesMax: number;
  /**
   * Per field (schema order), the byte offset of its column in a block's
   * arena memory (block.ts: timestamps first, then each int64/double field's
   * `capacityRows` doubles and each bool field's `capacityRows` bytes padded
   * to 8, in schema order); -1 for string fields, which live in JS arrays.
   */
  readonly memoryOffsets: readonly number[];
}

export function isValidBlockBytes(blockBytes: number): boolean {
  return Number.isInteger(blockBytes) && blockBytes >= BLOCK_BYTES_MIN &&
    blockBytes <= BLOCK_BYTES_MAX && blockBytes % 8 === 0;
}

export function createBlockLayout(schema: StreamSchema, blockBytes: number): BlockLayout {
  assert(Number.isInteger(blockBytes) && blockBytes >= BLOCK_BYTES_MIN &&
    blockBytes <= BLOCK_BYTES_MAX && blockBytes % 8 === 0,
  () => `blockBytes = ${blockBytes}, allowed multiples of 8 in ` +
    `[${BLOCK_BYTES_MIN}, ${BLOCK_BYTES_MAX}]`);
  let wideCount = 0;
  let boolCount = 0;
  let stringCount = 0;
  for (const field of schema.fields) {
    if (field.type === "bool") boolCount++;
    else if (field.type === "string") stringCount++;
    else wideCount++;
  }
  const partial = { blockBytes, wideCount, boolCount, stringCount };
  let rows = Math.floor((blockBytes - BLOCK_HEADER_BYTES) / (8 + 8 * wideCount + boolCount +
    4 * stringCount));
  while (rows > 0 && encodedBytesFor(partial, rows, 0) > blockBytes) rows--;
  assert(rows >= 8, () => `blockBytes = ${blockBytes} holds ${rows} rows, at least 8 needed`);
  const capacityRows = rows + 1;
  const memoryOffsets: number[] = [];
  let memoryAt = 8 * capacityRows;
  for (const field of schema.fields) {
    if (field.type === "string") {
      memoryOffsets.push(-1);
    } else {
      memoryOffsets.push(memoryAt);
      memoryAt += field.type === "bool" ? padTo8(capacityRows) : 8 * capacityRows;
    }
  }
  return {
    blockBytes,
    appendFillBytes: Math.floor(blockBytes * APPEND_FILL_RATIO),
    fields: schema.fields,
    aggregated: aggregatedFieldIndexes(schema),
    wideCount,
    boolCount,
    stringCount,
    capacityRows,
    rowBytesMax: Math.floor((blockBytes - BLOCK_HEADER_BYTES) / 8),
    memoryOffsets,
  };
}

function padTo8(bytes: number): number {
  return (bytes + 7) & ~7;
}

interface LayoutCounts {
  readonly wideCount: number;
  readonly boolCount: number;
  readonly stringCount: number;
}

function encodedBytesFor(layout: LayoutCounts, rows: number, stringBytes: number): number {
  return BLOCK_HEADER_BYTES + 8 * rows * (1 + layout.wideCount) +
    layout.boolCount * padTo8(rows) + layout.stringCount * padTo8(4 * rows) + padTo8(stringBytes);
}

/** Exact size of a block's encoding with `rows` rows and `stringBytes` bytes of strings. */
export function encodedBlockBytes(layout: BlockLayout, rows: number, stringBytes: number): number {
  return encodedBytesFor(layout, rows, stringBytes);
}

/** Bytes one row adds, strings excluded (an upper bound with padding ignored). */
export function fixedRowBytes(layout: BlockLayout): number {
  return 8 * (1 + layout.wideCount) + layout.boolCount + 4 * layout.stringCount;
}
