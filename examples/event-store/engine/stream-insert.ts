import { addToPath, descend, insertBlockAfter, replaceBlock, rightmostPath,
  type TreePath } from "./aggregate-tree.js";
import { assert } from "./assert.js";
import {
  aggregatedColumns, appendRows, cloneBlock, createBlock, insertSortedRows, retireBlock,
  rowsThatFit, spreadSortedRows,
} from "./block.js";
import { encodedBlockBytes, type BlockLayout } from "./block-layout.js";
import { residentBlock } from "./block-load.js";
import type { RowSource } from "./row-source.js";
import type { Stream } from "./stream.js";
import { copySummary, mergeSummary, summarizeRows, summarizeSourceRows } from "./summary.js";

/**
 * Snapshot epochs for copy-on-write: blocks made at an epoch <= `pinnedEpoch`
 * may be held by a running snapshot export and are copied before a change.
 * @internal
 */
export interface WriteEpochs {
  readonly current: number;
  /** -1 when no export is running. */
  readonly pinned: number;
}

/**
 * Inserts checked rows from `start` on, at least up to `end`: returns the
 * row it stopped at, `end` or past it when a late run crosses `end` (a late
 * run goes in whole, so an apply in slices builds the blocks of one pass).
 * Runs in time order at or after the stream's newest event append to the
 * rightmost block (filled to 90 %, then a new block); a run of time-ordered
 * late events bound for the same block goes into it at once, and when they
 * overflow it, the block and the run are spread over it and new blocks.
 * Cost: O(rows + log n) per in-order run; O(block + rows · log block) per
 * run of late events into one block.
 */
export function insertRows(stream: Stream, source: RowSource, epochs: WriteEpochs,
  start = 0, end = source.count): number {
  assert(Number.isSafeInteger(start) && start >= 0 && start <= end,
    () => `rows from ${start}, allowed 0 … ${end}`);
  assert(end <= source.count, () => `rows to ${end}, allowed ≤ ${source.count}`);
  const timestamps = source.timestamps;
  let row = start;
  while (row < end) {
    const timestamp = timestamps[row]!;
    if (timestamp >= stream.tree.last.summary.maxTimestamp) {
      let runEnd = row + 1;
      while (runEnd < end && timestamps[runEnd]! >= timestamps[runEnd - 1]!) runEnd++;
      appendRun(stream, source, row, runEnd, epochs);
      row = runEnd;
    } else {
      row = insertLate(stream, source, row, epochs);
    }
  }
  return row;
}

function appendRun(stream: Stream, source: RowSource, start: number, end: number,
  epochs: WriteEpochs): void {
  const layout = stream.layout;
  let from = start;
  while (from < end) {
    const path = rightmostPath(stream.tree);
    makeWritable(stream, path, epochs);
    const block = path.block;
    const rows = rowsThatFit(layout, block, source, from, end, layout.appendFillBytes);
    if (rows === 0) {
      assert(block.count > 0, "an empty block must take at least one row");
      insertBlockAfter(stream.tree, path, createBlock(stream.home, epochs.current));
      stream.blockCount++;
      continue;
    }
    appendRows(block, source, from, from + rows);
    const delta = summarizeRows(block.timestamps, aggregatedColumns(layout, block),
      block.count - rows, block.count);
    mergeSummary(block.summary, delta);
    addToPath(path, delta);
    from += rows;
  }
}

/**
 * Late rows from `start`: the run of time-ordered rows that goes to the
 * same block (below its newest time), inserted in one pass. When they fit,
 * in place (the block's rows move once); when not, the block's rows and the
 * run are merged and spread over the block and new blocks right after it,
 * each filled to at most `LATE_FILL_RATIO` of a slot (every row moves once;
 * the index takes the new blocks one after the other). Returns the next row.
 * The run never depends on `end` (only on the rows and the stream), so an
 * apply in slices cuts no late run and builds the same blocks as one pass.
 */
function insertLate(stream: Stream, source: RowSource, start: number, epochs: WriteEpochs): number {
  const layout = stream.layout;
  const timestamps = source.timestamps;
  const path = descend(stream.tree, (summary) => summary.maxTimestamp > timestamps[start]!);
  makeWritable(stream, path, epochs);
  const block = path.block;
  const stop = lateRunEnd(block.summary.maxTimestamp, source, start);
  // One summary for the run: merging it equals merging each row's in turn (the rows are
  // time-ordered, each below the block's newest time and after the rows of equal time; sums
  // are exact, so their grouping does not matter).
  const delta = summarizeSourceRows(timestamps, sourceAggregated(layout, source), start, stop);
  mergeSummary(block.summary, delta);
  addToPath(path, delta);
  stream.lateEventCount += stop - start;
  let stringBytes = block.stringBytes;
  const rowStrings = source.rowStringBytes;
  if (rowStrings !== undefined) for (let row = start; row < stop; row++) stringBytes += rowStrings[row]!;
  const rows = block.count + stop - start;
  if (rows < layout.capacityRows && encodedBlockBytes(layout, rows, stringBytes) <= layout.blockBytes) {
    insertSortedRows(block, source, start, stop);
    return stop;
  }
  const added = spreadSortedRows(layout, block, source, start, stop, epochs.current,
    Math.floor(layout.blockBytes * LATE_FILL_RATIO));
  // The path's nodes already count every row: each new block goes in carrying the summary of
  // itself and the blocks still to come (the index's sums stay whole through node splits),
  // then takes back its own.
  for (let index = 0; index < added.length; index++) {
    const part = added[index]!;
    const own = part.summary;
    if (index + 1 < added.length) {
      const carried = copySummary(own);
      for (let later = index + 1; later < added.length; later++) mergeSummary(carried, added[later]!.summary);
      part.summary = carried;
    }
    insertBlockAfter(stream.tree, path, part);
    part.summary = own;
    stream.blockCount++;
    stream.blockSplitCount++;
  }
  return stop;
}

/**
 * Share of a slot that a block overflowed by late rows is refilled to
 * (spreadSortedRows): the appends' 90 %. Measured against 75 % (interleaved
 * late runs, 20 % of the events): 75 % made 18 % more blocks (fresh memory,
 * more slots per checkpoint) and cost more per event than refilling the
 * few blocks that overflow again.
 */
export const LATE_FILL_RATIO = 0.9;

/**
 * End of the late run from `start` into a block whose newest time is
 * `below`: rows in time order, each below `below`.
 */
function lateRunEnd(below: number, source: RowSource, start: number): number {
  const timestamps = source.timestamps;
  const end = source.count;
  let stop = start + 1;
  while (stop < end) {
    const timestamp = timestamps[stop]!;
    if (timestamp >= below || timestamp < timestamps[stop - 1]!) break;
    stop++;
  }
  return stop;
}

/**
 * The path's block with its rows in memory (read back when evicted), and
 * writable: a block a running export may hold is replaced by a copy first
 * (copy-on-write).
 */
function makeWritable(stream: Stream, path: TreePath, epochs: WriteEpochs): void {
  const block = residentBlock(path.block);
  if (block.epoch > epochs.pinned) return;
  replaceBlock(stream.tree, path, cloneBlock(block, epochs.current));
  retireBlock(block);
}

/** The insert's columns of the aggregated fields, in layout.aggregated order. */
function sourceAggregated(layout: BlockLayout, source: RowSource): ArrayLike<number>[] {
  return layout.aggregated.map((fieldIndex) => {
    const column = source.columns[fieldIndex];
    assert(column !== undefined && column.kind === "number",
      () => `aggregated field #${fieldIndex} is not a numeric column`);
    return column.values;
  });
}
