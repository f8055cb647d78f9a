import { assert } from "./assert.js";
import { BLOCK_HEADER_BYTES, encodedBlockBytes, fixedRowBytes, type BlockLayout } from "./block-layout.js";
import type { BlockHome } from "./block-cache.js";
import { boundsScratch, orderScratch } from "./merge-scratch.js";
import type { RowSource } from "./row-source.js";
import { exactSumAdd } from "./exact-sum.js";
import { copySummary, createSummary, maxOf, mergeSummary, minOf, summarizeRows, type Summary } from "./summary.js";
import { utf8Length } from "./utf8.js";

/**
 * A block: up to one slot's worth of events of one stream, time-ordered
 * (ties in insertion order), held columnar in typed arrays sized for the
 * block's capacity. Blocks are the leaves of the aggregate index and form a
 * doubly linked list in time order.
 * @internal
 */
export type BlockColumn =
  | { readonly kind: "number"; readonly values: Float64Array }
  | { readonly kind: "bool"; readonly values: Uint8Array }
  /**
   * `texts[row]`, and "" for every row at or past `texts.length`: a column
   * whose values are all empty (the event store's `_id` of events without
   * ids) holds no array entries at all (read with `textAt`, write with
   * `setText`).
   */
  | { readonly kind: "string"; readonly texts: string[] };

/** Row `row`'s value of a string column. */
export function textAt(texts: readonly string[], row: number): string {
  return row < texts.length ? texts[row]! : "";
}

/**
 * Sets row `row` of a string column (rows before it exist): an empty
 * string past the stored entries stays implicit.
 */
function setText(texts: string[], row: number, text: string): void {
  if (row < texts.length) {
    texts[row] = text;
  } else if (text !== "") {
    while (texts.length < row) texts.push("");
    texts.push(text);
  }
}

/** Stores "" entries up to `rows` (before moving rows inside the column). */
function padTexts(texts: string[], rows: number): void {
  while (texts.length < rows) texts.push("");
}

export interface Block {
  count: number;
  /**
   * Length `capacityRows`; rows [0, count) are valid and non-decreasing.
   * Empty while the block is evicted (`resident` false): read rows only
   * through `residentBlock` (block-load.ts).
   */
  timestamps: Float64Array;
  /**
   * Per string field of the schema (in schema order), its column's texts
   * (see BlockColumn); empty while evicted. The typed columns are views of
   * the block's arena memory made on demand (`blockColumns`), not kept here.
   */
  texts: string[][];
  /** UTF-8 bytes of all string values of the block. */
  stringBytes: number;
  /** Summary of rows [0, count); kept exact on every change. */
  summary: Summary;
  /**
   * Cache for range queries: groups[k], when present, summarizes rows
   * [k·64, k·64 + 64). Only groups whose rows have not moved since are kept
   * (an insert drops the ones from its position on); filled on demand, only
   * where a query needed them, by `summarizeBlockRows`.
   */
  groups: (Summary | undefined)[];
  previous: Block | undefined;
  next: Block | undefined;
  /** Slot in the blocks file holding the last checkpointed version, or -1. */
  slot: number;
  /** Changed since its slot was written. */
  dirty: boolean;
  /** Snapshot epoch of creation: an export pinned at a later epoch forbids changing it in place. */
  epoch: number;
  /** Its stream's memory and block cache. */
  readonly home: BlockHome;
  /** The rows are in memory (else only the header fields above are valid). */
  resident: boolean;
  /**
   * Running snapshot exports holding this block and not past it yet: while
   * > 0 the block is not evicted (an evicted one is read from its slot).
   */
  exports: number;
  /** Replaced by a copy (copy-on-write) or dropped: no longer in its stream. */
  replaced: boolean;
}

const NO_TIMESTAMPS = new Float64Array(0);

/** Bytes of arena memory of one block's typed columns. */
export function columnBytes(layout: BlockLayout): number {
  const rows = layout.capacityRows;
  return 8 * rows * (1 + layout.wideCount) + ((rows + 7) & ~7) * layout.boolCount;
}

export function createBlock(home: BlockHome, epoch: number): Block {
  const block: Block = {
    count: 0, timestamps: NO_TIMESTAMPS, texts: [], stringBytes: 0,
    // The empty summary (what summarizeRows of no rows gives), without a typed array per field.
    summary: createSummary(home.layout.aggregated.length),
    groups: [], previous: undefined, next: undefined, slot: -1, dirty: true, epoch, home,
    resident: false, exports: 0, replaced: false,
  };
  attachRows(block);
  admitBlock(block);
  return block;
}

/**
 * Gives an evicted (or new) block empty columns of its capacity (rows are
 * the caller's): one piece of arena memory, timestamps first (so
 * `block.timestamps` also names the piece), then the other typed columns.
 */
export function attachRows(block: Block): void {
  assert(!block.resident, "rows attached twice");
  const layout = block.home.layout;
  const { buffer, offset } = block.home.arena.take(columnBytes(layout));
  const texts: string[][] = [];
  for (let index = 0; index < layout.stringCount; index++) texts.push([]);
  block.texts = texts;
  block.timestamps = new Float64Array(buffer, offset, layout.capacityRows);
  block.resident = true;
}

/** Blocks whose column views a stream keeps made (the blocks a batch or query is working on). */
export const VIEWED_BLOCKS = 64;

const NO_COLUMNS: readonly BlockColumn[] = [];

/**
 * The columns of a block, one per schema field in schema order; none while
 * evicted. The typed ones are views of the block's arena memory: made on
 * first use and kept for the stream's VIEWED_BLOCKS most recently viewed
 * blocks only (first in, first out), not per block — with 7 doubles they
 * were 14 of a block's ~40 JS objects and ~1.1 of its ~2 KB of JS heap, for
 * every resident block (session 11). Use the result within the call: a
 * later eviction gives the memory to another block.
 */
export function blockColumns(block: Block): readonly BlockColumn[] {
  if (!block.resident) return NO_COLUMNS;
  const views = block.home.views;
  const known = views.get(block);
  if (known !== undefined) return known;
  const columns = makeColumns(block);
  if (views.size >= VIEWED_BLOCKS) {
    for (const oldest of views.keys()) {
      views.delete(oldest);
      break;
    }
  }
  views.set(block, columns);
  return columns;
}

function makeColumns(block: Block): readonly BlockColumn[] {
  const layout = block.home.layout;
  const rows = layout.capacityRows;
  const buffer = block.timestamps.buffer;
  const base = block.timestamps.byteOffset;
  let strings = 0;
  return layout.fields.map((field, index): BlockColumn => {
    if (field.type === "string") return { kind: "string", texts: block.texts[strings++]! };
    const at = base + layout.memoryOffsets[index]!;
    if (field.type === "bool") return { kind: "bool", values: new Uint8Array(buffer, at, rows) };
    return { kind: "number", values: new Float64Array(buffer, at, rows) };
  });
}

/**
 * Drops the rows of a resident block: its memory goes back to the arena;
 * the header stays. For eviction (a clean block no export holds) and for a
 * retired block.
 */
export function detachRows(block: Block): void {
  assert(block.exports === 0, "rows of a block an export holds dropped");
  dropRows(block);
}

/** detachRows without the export check: for rows no one has seen yet (a failed read). */
export function dropRows(block: Block): void {
  assert(block.resident, "rows dropped twice");
  forgetBlock(block);
  // Views of this memory must not outlive it: the arena hands it to another block.
  block.home.views.delete(block);
  const { buffer, byteOffset } = block.timestamps;
  block.home.arena.release({ buffer, offset: byteOffset },
    columnBytes(block.home.layout));
  block.timestamps = NO_TIMESTAMPS;
  block.texts = [];
  block.groups = [];
  block.resident = false;
}

/**
 * What a string value costs beyond its UTF-8 bytes, estimated: its slot in
 * the column's array (8) and a V8 string header (16). Without it a block of
 * short strings counts a fraction of its memory.
 */
export const STRING_VALUE_OVERHEAD_BYTES = 24;

/** The bytes a resident block is counted for: column memory, strings (estimated). */
export function residentCost(block: Block): number {
  const layout = block.home.layout;
  return columnBytes(layout) + block.stringBytes +
    STRING_VALUE_OVERHEAD_BYTES * block.count * layout.stringCount;
}

/** Counts a block whose rows are in memory in its cache, as the most recently used. */
export function admitBlock(block: Block): void {
  const cache = block.home.cache;
  if (cache === undefined) return;
  const cost = residentCost(block);
  const old = cache.resident.get(block);
  if (old !== undefined) {
    cache.resident.delete(block);
    cache.residentBytes -= old;
  }
  cache.resident.set(block, cost);
  cache.residentBytes += cost;
  cache.last = block;
}

/** Takes a block out of its cache's accounting (evicted, or replaced by a copy). */
export function forgetBlock(block: Block): void {
  const cache = block.home.cache;
  if (cache === undefined) return;
  const cost = cache.resident.get(block);
  if (cost === undefined) return;
  cache.resident.delete(block);
  cache.residentBytes -= cost;
  if (cache.last === block) cache.last = undefined;
}

/**
 * A block replaced in its stream by a copy (copy-on-write for an export):
 * out of the cache; its memory goes back to the arena now, or when the
 * last export holding it has passed it (`releaseExported`).
 */
export function retireBlock(block: Block): void {
  forgetBlock(block);
  block.replaced = true;
  if (block.exports === 0 && block.resident) detachRows(block);
}

/** An export is done with `block`. */
export function releaseExported(block: Block): void {
  assert(block.exports > 0, "export release of an unexported block");
  block.exports--;
  if (block.exports === 0 && block.replaced && block.resident) detachRows(block);
}

/** A deep copy with the same rows (copy-on-write for a block pinned by an export). */
export function cloneBlock(block: Block, epoch: number): Block {
  assert(block.resident, "copy of a block without rows");
  const layout = block.home.layout;
  const copy = createBlock(block.home, epoch);
  copyRows(block, 0, block.count, copy, 0);
  copy.count = block.count;
  copy.stringBytes = block.stringBytes;
  copy.summary = summarizeBlock(layout, copy);
  copy.groups = block.groups.slice();
  copy.slot = block.slot;
  copy.dirty = block.dirty;
  admitBlock(copy);
  return copy;
}

export function aggregatedColumns(layout: BlockLayout, block: Block): Float64Array[] {
  const columns = blockColumns(block);
  return layout.aggregated.map((fieldIndex) => {
    const column = columns[fieldIndex];
    assert(column !== undefined && column.kind === "number",
      () => `aggregated field #${fieldIndex} is not a numeric column`);
    return column.values;
  });
}

export function summarizeBlock(layout: BlockLayout, block: Block): Summary {
  return summarizeRows(block.timestamps, aggregatedColumns(layout, block), 0, block.count);
}

/** Rows per cached group summary. */
export const GROUP_ROWS = 64;

/**
 * The summary of rows [low, high): up to 63 rows at each end summarized row
 * by row, the full groups between them from the cache (computed once while
 * their rows stay put). Same result as `summarizeRows`: sums are exact.
 */
export function summarizeBlockRows(layout: BlockLayout, block: Block, low: number,
  high: number): Summary {
  const columns = aggregatedColumns(layout, block);
  if (high - low < 2 * GROUP_ROWS) return summarizeRows(block.timestamps, columns, low, high);
  const firstGroup = Math.ceil(low / GROUP_ROWS);
  const endGroup = Math.floor(high / GROUP_ROWS);
  const result = summarizeRows(block.timestamps, columns, low, firstGroup * GROUP_ROWS);
  for (let group = firstGroup; group < endGroup; group++) {
    let summary = block.groups[group];
    if (summary === undefined) {
      summary = summarizeRows(block.timestamps, columns, group * GROUP_ROWS,
        (group + 1) * GROUP_ROWS);
      block.groups[group] = summary;
    }
    mergeSummary(result, summary);
  }
  mergeSummary(result, summarizeRows(block.timestamps, columns, endGroup * GROUP_ROWS, high));
  return result;
}

export function blockEncodedBytes(layout: BlockLayout, block: Block): number {
  return encodedBlockBytes(layout, block.count, block.stringBytes);
}

/** Index of the first row with timestamp > `timestamp` (insert position after equal ones). */
export function upperBound(block: Block, timestamp: number): number {
  let low = 0;
  let high = block.count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (block.timestamps[middle]! <= timestamp) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Index of the first row with timestamp >= `timestamp`. */
export function lowerBound(block: Block, timestamp: number): number {
  let low = 0;
  let high = block.count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (block.timestamps[middle]! < timestamp) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * How many rows of `source` starting at `from` (at most `to - from`) fit at
 * the end of `block` without its encoding passing `limitBytes`.
 */
export function rowsThatFit(layout: BlockLayout, block: Block, source: RowSource, from: number,
  to: number, limitBytes: number): number {
  const stringBytes = source.rowStringBytes;
  if (stringBytes === undefined) {
    let rows = Math.min(to - from, layout.capacityRows - 1 - block.count);
    while (rows > 0 && encodedBlockBytes(layout, block.count + rows, block.stringBytes) > limitBytes) rows--;
    return Math.max(rows, 0);
  }
  let rows = 0;
  let bytes = block.stringBytes;
  while (from + rows < to && block.count + rows < layout.capacityRows - 1) {
    const next = bytes + stringBytes[from + rows]!;
    if (encodedBlockBytes(layout, block.count + rows + 1, next) > limitBytes) break;
    bytes = next;
    rows++;
  }
  return rows;
}

/** Appends rows [from, to) of `source` at the end of `block`; the caller checked they fit. */
export function appendRows(block: Block, source: RowSource, from: number, to: number): void {
  const at = block.count;
  assert(at + (to - from) <= block.timestamps.length,
    () => `append of ${to - from} rows to ${at} exceeds capacity ${block.timestamps.length}`);
  writeSourceRows(block, at, source, from, to);
  block.count = at + (to - from);
  block.dirty = true;
}

/** Inserts row `row` of `source` at `position`, shifting later rows up by one. */
export function insertRow(block: Block, position: number, source: RowSource, row: number): void {
  assert(block.count < block.timestamps.length,
    () => `insert into a block of ${block.count} rows, capacity ${block.timestamps.length}`);
  assert(position >= 0 && position <= block.count,
    () => `insert position ${position}, allowed [0, ${block.count}]`);
  const count = block.count;
  block.timestamps.copyWithin(position + 1, position, count);
  for (const column of blockColumns(block)) {
    if (column.kind !== "string") column.values.copyWithin(position + 1, position, count);
    else if (position < column.texts.length) column.texts.splice(position, 0, "");
  }
  writeSourceRows(block, position, source, row, row + 1);
  block.count = count + 1;
  block.dirty = true;
  if (block.groups.length > Math.floor(position / GROUP_ROWS)) {
    block.groups.length = Math.floor(position / GROUP_ROWS);
  }
}

/**
 * Inserts rows [from, to) of `source` — time-ordered, each placed after the
 * block's rows of equal time — in one pass: the same rows in the same places
 * as `insertRow` one row after the other (row i lands at its upper bound in
 * the block as it was, plus i), but each column's rows move once, in one
 * loop from the top, and each column's new values are written in one loop
 * (a late event costs a few ns per column, not a call per column and gap).
 */
export function insertSortedRows(block: Block, source: RowSource, from: number, to: number): void {
  const count = block.count;
  const added = to - from;
  assert(added > 0 && count + added <= block.timestamps.length,
    () => `insert of ${added} rows into a block of ${count}, capacity ${block.timestamps.length}`);
  const bounds = insertionBounds(block, source, from, added);
  const timestamps = source.timestamps;
  moveNumbers(block.timestamps, bounds, added, count);
  writeNumbers(block.timestamps, bounds, added, timestamps, from);
  const columns = blockColumns(block);
  for (let index = 0; index < columns.length; index++) {
    const target = columns[index]!;
    const input = source.columns[index]!;
    if (target.kind === "number" && input.kind === "number") {
      moveNumbers(target.values, bounds, added, count);
      writeNumbers(target.values, bounds, added, input.values, from);
    } else if (target.kind === "bool" && input.kind === "bool") {
      moveBytes(target.values, bounds, added, count);
      for (let k = 0; k < added; k++) target.values[bounds[k]! + k] = input.values[from + k]! ? 1 : 0;
    } else if (target.kind === "string" && input.kind === "string") {
      const values = target.texts;
      if (values.length <= bounds[0]!) {
        // Only implicit empty rows move: nothing to shift, write the new values (none to write
        // when every string of the insert is empty).
        if (noSourceStrings(source)) continue;
        for (let k = 0; k < added; k++) setText(values, bounds[k]! + k, input.values[from + k]!);
        continue;
      }
      padTexts(values, count);
      for (let k = 0; k < added; k++) values.push("");
      let high = count;
      for (let k = added - 1; k >= 0; k--) {
        const bound = bounds[k]!;
        for (let row = high - 1; row >= bound; row--) values[row + k + 1] = values[row]!;
        high = bound;
      }
      for (let k = 0; k < added; k++) values[bounds[k]! + k] = input.values[from + k]!;
    } else {
      assert(false, () => `column #${index}: ${input.kind} values for a ${target.kind} column`);
    }
  }
  if (source.rowStringBytes !== undefined) {
    for (let row = from; row < to; row++) block.stringBytes += source.rowStringBytes[row]!;
  }
  block.count = count + added;
  block.dirty = true;
  const firstGroup = Math.floor(bounds[0]! / GROUP_ROWS);
  if (block.groups.length > firstGroup) block.groups.length = firstGroup;
}

/**
 * Where each of the time-ordered rows [from, from + added) of `source` goes
 * in `block`: bounds[i] = the number of the block's rows at or before row i's
 * timestamp (after equal timestamps, so ties keep insertion order). The
 * stream's scratch (merge-scratch.ts), valid until its next merge.
 */
function insertionBounds(block: Block, source: RowSource, from: number, added: number): Uint32Array {
  const count = block.count;
  const bounds = boundsScratch(block.home.merge, added);
  const timestamps = source.timestamps;
  let low = 0;
  for (let index = 0; index < added; index++) {
    // Rows are time-ordered: each bound is at or after the previous one.
    const timestamp = timestamps[from + index]!;
    if (index > 0 && timestamp < timestamps[from + index - 1]!) {
      assert(false, "inserted rows must be time-ordered");
    }
    low = gallopUpperBound(block.timestamps, low, count, timestamp);
    bounds[index] = low;
  }
  return bounds;
}

/**
 * upperBoundFrom for a bound expected near `low`: probes `low`, then
 * 1, 2, 4 … rows past the row after the last probe, until a value >
 * `timestamp` (or `high`), then searches that last step. A late run interleaves with the block's rows (the service's
 * producers' overlapping batches: about one block row between two late
 * rows), so each bound is a step or two past the previous one: ~2
 * predictable probes instead of a binary search over the rest of the block
 * (~9 unpredictable ones; session 12: 42 % of a spread's bounds).
 */
function gallopUpperBound(values: Float64Array, low: number, high: number, timestamp: number): number {
  let step = 1;
  let at = low;
  while (at < high && values[at]! <= timestamp) {
    low = at + 1;
    at = low + step;
    step *= 2;
  }
  return upperBoundFrom(values, low, Math.min(at, high), timestamp);
}

/** First index in [low, high) of `values` with value > `timestamp`, else `high`. */
function upperBoundFrom(values: Float64Array, low: number, high: number, timestamp: number): number {
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (values[middle]! <= timestamp) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Rows [bounds[k], bounds[k + 1]) (the last up to `count`) move up by k + 1, from the top. */
function moveNumbers(values: Float64Array, bounds: Uint32Array, added: number, count: number): void {
  let high = count;
  for (let k = added - 1; k >= 0; k--) {
    const low = bounds[k]!;
    const by = k + 1;
    if (high - low > 32) values.copyWithin(low + by, low, high);
    else for (let row = high - 1; row >= low; row--) values[row + by] = values[row]!;
    high = low;
  }
}

function moveBytes(values: Uint8Array, bounds: Uint32Array, added: number, count: number): void {
  let high = count;
  for (let k = added - 1; k >= 0; k--) {
    const low = bounds[k]!;
    const by = k + 1;
    if (high - low > 32) values.copyWithin(low + by, low, high);
    else for (let row = high - 1; row >= low; row--) values[row + by] = values[row]!;
    high = low;
  }
}

/** Writes input[from + k] at row bounds[k] + k, for k < added. */
function writeNumbers(values: Float64Array, bounds: Uint32Array, added: number,
  input: ArrayLike<number>, from: number): void {
  for (let k = 0; k < added; k++) values[bounds[k]! + k] = input[from + k]!;
}

function writeSourceRows(block: Block, at: number, source: RowSource, from: number,
  to: number): void {
  copyInto(block.timestamps, at, source.timestamps, from, to);
  const columns = blockColumns(block);
  for (let index = 0; index < columns.length; index++) {
    const target = columns[index]!;
    const input = source.columns[index]!;
    if (target.kind === "number" && input.kind === "number") {
      copyInto(target.values, at, input.values, from, to);
    } else if (target.kind === "bool" && input.kind === "bool") {
      for (let row = from; row < to; row++) {
        target.values[at + row - from] = input.values[row]! ? 1 : 0;
      }
    } else if (target.kind === "string" && input.kind === "string") {
      const texts = target.texts;
      // Every string of the insert empty (the `_id` of events without ids), written past the stored
      // entries: each row stays an implicit empty (setText would do nothing, row by row).
      if (noSourceStrings(source) && at >= texts.length) continue;
      for (let row = from; row < to; row++) setText(texts, at + row - from, input.values[row]!);
    } else {
      assert(false, () => `column #${index}: ${input.kind} values for a ${target.kind} column`);
    }
  }
  if (source.rowStringBytes !== undefined) {
    for (let row = from; row < to; row++) block.stringBytes += source.rowStringBytes[row]!;
  }
}

/**
 * Whether every string of the insert is empty: a RowSource without
 * `rowStringBytes` has only empty strings (a checked insert whose strings
 * are all "" leaves it out; one with it may still have none).
 */
function noSourceStrings(source: RowSource): boolean {
  return source.rowStringBytes === undefined;
}

function copyInto(target: Float64Array, at: number, values: ArrayLike<number>, from: number,
  to: number): void {
  // A few rows (a late event is one): the loop; a subarray view per column costs more than
  // the copy.
  if (values instanceof Float64Array && to - from > 32) {
    target.set(values.subarray(from, to), at);
    return;
  }
  for (let row = from; row < to; row++) target[at + row - from] = values[row]!;
}

/** Copies rows [from, to) of `source` into `target` at `at` (counts are the caller's). */
export function copyRows(source: Block, from: number, to: number, target: Block,
  at: number): void {
  target.timestamps.set(source.timestamps.subarray(from, to), at);
  const inputs = blockColumns(source);
  const outputs = blockColumns(target);
  for (let index = 0; index < inputs.length; index++) {
    const input = inputs[index]!;
    const output = outputs[index]!;
    if (input.kind === "number" && output.kind === "number") {
      output.values.set(input.values.subarray(from, to), at);
    } else if (input.kind === "bool" && output.kind === "bool") {
      output.values.set(input.values.subarray(from, to), at);
    } else if (input.kind === "string" && output.kind === "string") {
      for (let row = from; row < to; row++) setText(output.texts, at + row - from, textAt(input.texts, row));
    } else {
      assert(false, () => `column #${index}: ${input.kind} into ${output.kind}`);
    }
  }
}

/**
 * Merges rows [from, to) of `source` — time-ordered, each placed after the
 * block's rows of equal time, together too large for the block — with the
 * block's rows and spreads the result evenly over the block and as many new
 * blocks as it takes to fill none past `fillBytes`: the rows in the same
 * order as `insertSortedRows` would give them. Every row of the block
 * moves at most once and every inserted row is written once (splitting in
 * halves as rows overflowed moved the block's rows 2-3 times and left
 * half-empty blocks). `block.summary` must already include the inserted
 * rows; it is set to its part's, and the new blocks (in time order, to go
 * right after the block) come with their own summaries.
 */
export function spreadSortedRows(layout: BlockLayout, block: Block, source: RowSource, from: number,
  to: number, epoch: number, fillBytes: number): Block[] {
  const count = block.count;
  const added = to - from;
  const total = count + added;
  assert(added > 0, "spread of no rows");
  const bounds = insertionBounds(block, source, from, added);
  // order[j]: the merged row j is the block's row order[j] (>= 0) or the inserted row ~order[j].
  const order = orderScratch(block.home.merge, total);
  let row = 0;
  let merged = 0;
  for (let index = 0; index < added; index++) {
    const bound = bounds[index]!;
    while (row < bound) order[merged++] = row++;
    order[merged++] = ~index;
  }
  while (row < count) order[merged++] = row++;
  const sourceStrings = sourceStringBytes(source, from, to);
  const strings = block.stringBytes !== 0 || sourceStrings !== 0;
  const ends = strings ? stringPartEnds(layout, block, source, from, order, total, fillBytes)
    : partEnds(layout, total, fillBytes);
  const whole = block.summary;
  const blocks: Block[] = [];
  let rest: Summary | undefined;
  for (let part = 1; part < ends.length; part++) {
    const start = ends[part - 1]!;
    const next = createBlock(block.home, epoch);
    gatherRows(block, source, from, order, start, ends[part]!, next);
    next.stringBytes = strings ? stringBytesOf(next) : 0;
    next.summary = summarizeBlock(layout, next);
    admitBlock(next);
    if (rest === undefined) rest = copySummary(next.summary);
    else mergeSummary(rest, next.summary);
    blocks.push(next);
  }
  const keep = ends[0]!;
  const firstMoved = bounds[0]!;
  mergeInPlace(block, source, from, order, firstMoved, keep);
  block.count = keep;
  block.stringBytes = strings ? stringBytesOf(block) : 0;
  block.dirty = true;
  // Cached group summaries stay for the rows that neither moved nor left the block.
  const firstGroup = Math.floor(Math.min(firstMoved, keep) / GROUP_ROWS);
  if (block.groups.length > firstGroup) block.groups.length = firstGroup;
  assert(rest !== undefined, "a spread that made no block");
  block.summary = summaryBefore(layout, block, whole, rest);
  assert(blockEncodedBytes(layout, block) <= layout.blockBytes,
    () => `spread left ${blockEncodedBytes(layout, block)} bytes in a slot of ${layout.blockBytes}`);
  return blocks;
}

function sourceStringBytes(source: RowSource, from: number, to: number): number {
  const rowStrings = source.rowStringBytes;
  let bytes = 0;
  if (rowStrings !== undefined) for (let row = from; row < to; row++) bytes += rowStrings[row]!;
  return bytes;
}

/**
 * Where `total` merged rows without string bytes are cut into parts: ends[k]
 * is the end of part k. As few parts as keep each within `fillBytes`, the
 * rows spread evenly.
 */
function partEnds(layout: BlockLayout, total: number, fillBytes: number): number[] {
  let perPart = layout.capacityRows - 1;
  while (perPart > 1 && encodedBlockBytes(layout, perPart, 0) > fillBytes) perPart--;
  const parts = Math.ceil(total / perPart);
  const ends: number[] = [];
  for (let part = 1; part <= parts; part++) ends.push(Math.round(total * part / parts));
  return ends;
}

/**
 * partEnds with strings: each merged row's UTF-8 bytes counted, parts cut
 * at even shares of the bytes, never one past the block's slot.
 */
function stringPartEnds(layout: BlockLayout, block: Block, source: RowSource, from: number,
  order: Int32Array, total: number, fillBytes: number): number[] {
  const rowStrings = source.rowStringBytes;
  const fixed = fixedRowBytes(layout);
  const rowBytes = new Float64Array(total);
  let totalBytes = 0;
  for (let index = 0; index < total; index++) {
    const at = order[index]!;
    const strings = at >= 0 ? rowStringBytes(block, at) : rowStrings === undefined ? 0 : rowStrings[from + ~at]!;
    rowBytes[index] = strings;
    totalBytes += fixed + strings;
  }
  const ends: number[] = [];
  let partsLeft = Math.max(1, Math.ceil((BLOCK_HEADER_BYTES + totalBytes) / fillBytes));
  let bytesLeft = totalBytes;
  let start = 0;
  let partBytes = 0;
  let strings = 0;
  for (let index = 0; index < total; index++) {
    const next = fixed + rowBytes[index]!;
    const rows = index - start;
    if (rows > 0 && (partBytes + next > bytesLeft / partsLeft ||
      encodedBlockBytes(layout, rows + 1, strings + rowBytes[index]!) > layout.blockBytes)) {
      ends.push(index);
      bytesLeft -= partBytes;
      partsLeft = Math.max(1, partsLeft - 1);
      start = index;
      partBytes = 0;
      strings = 0;
    }
    partBytes += next;
    strings += rowBytes[index]!;
  }
  ends.push(total);
  return ends;
}

/** Writes the merged rows [start, end) into the empty block `target`. */
function gatherRows(block: Block, source: RowSource, from: number, order: Int32Array, start: number,
  end: number, target: Block): void {
  gatherNumbers(target.timestamps, block.timestamps, source.timestamps, from, order, start, end);
  const olds = blockColumns(block);
  const outputs = blockColumns(target);
  for (let index = 0; index < olds.length; index++) {
    const old = olds[index]!;
    const input = source.columns[index]!;
    const output = outputs[index]!;
    if (old.kind === "number" && input.kind === "number" && output.kind === "number") {
      gatherNumbers(output.values, old.values, input.values, from, order, start, end);
    } else if (old.kind === "bool" && input.kind === "bool" && output.kind === "bool") {
      for (let merged = start; merged < end; merged++) {
        const at = order[merged]!;
        output.values[merged - start] = at >= 0 ? old.values[at]! : input.values[from + ~at]! ? 1 : 0;
      }
    } else if (old.kind === "string" && input.kind === "string" && output.kind === "string") {
      // Every merged row empty (no stored entries, every string of the insert empty): the new
      // block's column stays without entries.
      if (old.texts.length === 0 && noSourceStrings(source)) continue;
      for (let merged = start; merged < end; merged++) {
        const at = order[merged]!;
        setText(output.texts, merged - start, at >= 0 ? textAt(old.texts, at) : input.values[from + ~at]!);
      }
    } else {
      assert(false, () => `column #${index}: ${input.kind} values for a ${old.kind} column`);
    }
  }
  target.count = end - start;
}

function gatherNumbers(output: Float64Array, old: Float64Array, input: ArrayLike<number>, from: number,
  order: Int32Array, start: number, end: number): void {
  for (let merged = start; merged < end; merged++) {
    const at = order[merged]!;
    output[merged - start] = at >= 0 ? old[at]! : input[from + ~at]!;
  }
}

/**
 * The block's own part, the merged rows [0, keep), written in place from the
 * top down (a row only moves up: merged row j holds block row <= j); rows
 * below `firstMoved` stay where they are.
 */
function mergeInPlace(block: Block, source: RowSource, from: number, order: Int32Array,
  firstMoved: number, keep: number): void {
  mergeNumbers(block.timestamps, source.timestamps, from, order, firstMoved, keep);
  const columns = blockColumns(block);
  for (let index = 0; index < columns.length; index++) {
    const column = columns[index]!;
    const input = source.columns[index]!;
    if (column.kind === "number" && input.kind === "number") {
      mergeNumbers(column.values, input.values, from, order, firstMoved, keep);
    } else if (column.kind === "bool" && input.kind === "bool") {
      const values = column.values;
      for (let merged = keep - 1; merged >= firstMoved; merged--) {
        const at = order[merged]!;
        values[merged] = at >= 0 ? values[at]! : input.values[from + ~at]! ? 1 : 0;
      }
    } else if (column.kind === "string" && input.kind === "string") {
      const texts = column.texts;
      // As in gatherRows: every merged row is an implicit empty.
      if (texts.length === 0 && noSourceStrings(source)) continue;
      if (texts.length > firstMoved) padTexts(texts, keep);
      // Stored entries only below firstMoved: the moved rows are implicit empties, set from the top.
      for (let merged = keep - 1; merged >= firstMoved; merged--) {
        const at = order[merged]!;
        setText(texts, merged, at >= 0 ? textAt(texts, at) : input.values[from + ~at]!);
      }
      if (texts.length > keep) texts.length = keep;
    } else {
      assert(false, () => `column #${index}: ${input.kind} values for a ${column.kind} column`);
    }
  }
}

function mergeNumbers(values: Float64Array, input: ArrayLike<number>, from: number, order: Int32Array,
  firstMoved: number, keep: number): void {
  for (let merged = keep - 1; merged >= firstMoved; merged--) {
    const at = order[merged]!;
    values[merged] = at >= 0 ? values[at]! : input[from + ~at]!;
  }
}

/**
 * The summary of the block's rows [0, count) when `whole` summarized them
 * together with the rows after them and `after` those rows alone: the sums
 * by exact subtraction (whole − after, exact as every sum is), the rest from
 * the rows — no exact add per value, the costly part of a summary.
 */
function summaryBefore(layout: BlockLayout, block: Block, whole: Summary, after: Summary): Summary {
  const count = block.count;
  const summary = createSummary(layout.aggregated.length);
  summary.count = count;
  summary.minTimestamp = block.timestamps[0]!;
  summary.maxTimestamp = block.timestamps[count - 1]!;
  const columns = aggregatedColumns(layout, block);
  for (let index = 0; index < columns.length; index++) {
    const column = columns[index]!;
    const field = summary.fields[index]!;
    field.min = minOf(column, 0, count);
    field.max = maxOf(column, 0, count);
    field.first = column[0]!;
    field.last = column[count - 1]!;
    const sum = whole.fields[index]!.sum.slice();
    const subtracted = after.fields[index]!.sum;
    for (let partial = 0; partial < subtracted.length; partial++) exactSumAdd(sum, -subtracted[partial]!);
    field.sum = sum;
  }
  return summary;
}

function rowStringBytes(block: Block, row: number): number {
  let bytes = 0;
  for (const texts of block.texts) if (row < texts.length) bytes += utf8Length(texts[row]!);
  return bytes;
}

function stringBytesOf(block: Block): number {
  let bytes = 0;
  for (let row = 0; row < block.count; row++) bytes += rowStringBytes(block, row);
  return bytes;
}
