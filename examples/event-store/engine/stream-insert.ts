import { addToPath, descend, insertBlockAfter, replaceBlock, rightmostPath,
  type TreePath } from "./aggregate-tree.js";
import { assert } from "./assert.js";
import {
  aggregatedColumns, appendRows, blockEncodedBytes, cloneBlock, createBlock, insertSortedRows,
  retireBlock, rowsThatFit, splitBlock,
} from "./block.js";
import { encodedBlockBytes, type BlockLayout } from "./block-layout.js";
import { residentBlock } from "./block-load.js";
import type { RowSource } from "./row-source.js";
import type { Stream } from "./stream.js";
import { mergeSummary, summarizeRows, summarizeSourceRows } from "./summary.js";

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
 * Inserts checked rows. Runs in time order at or after the stream's newest
 * event append to the rightmost block (filled to 90 %, then a new block);
 * each late event goes to its place in the block that covers its time,
 * using the spare room, and splits that block when it overflows; a run of
 * time-ordered late events bound for the same block goes in at once.
 * Cost: O(rows + log n) per in-order run; O(block + rows · log block) per
 * run of late events into one block (it was O(block) per late event).
 */
export function insertRows(stream: Stream, source: RowSource, epochs: WriteEpochs,
  start = 0, end = source.count): void {
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
      row = insertLate(stream, source, row, end, epochs);
    }
  }
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
 * same block (below its newest time), inserted in one pass, up to the row
 * whose size passes the block's limit — after which the block splits, as
 * when each row went in alone (same blocks, same rows, same summary values:
 * one summary of the run, merged once). Returns the next row.
 */
function insertLate(stream: Stream, source: RowSource, start: number, end: number,
  epochs: WriteEpochs): number {
  const layout = stream.layout;
  const timestamps = source.timestamps;
  const path = descend(stream.tree, (summary) => summary.maxTimestamp > timestamps[start]!);
  makeWritable(stream, path, epochs);
  const block = path.block;
  const stop = lateRunEnd(stream, block.count, block.stringBytes, block.summary.maxTimestamp, source,
    start, end);
  insertSortedRows(block, source, start, stop);
  // One summary for the run: merging it equals merging each row's in turn (the rows are
  // time-ordered, each below the block's newest time and after the rows of equal time; sums
  // are exact, so their grouping does not matter).
  const delta = summarizeSourceRows(timestamps, sourceAggregated(layout, source), start, stop);
  mergeSummary(block.summary, delta);
  addToPath(path, delta);
  stream.lateEventCount += stop - start;
  if (blockEncodedBytes(layout, block) > layout.blockBytes) {
    insertBlockAfter(stream.tree, path,
      splitBlock(layout, block, epochs.current));
    stream.blockCount++;
    stream.blockSplitCount++;
  }
  return stop;
}

/**
 * End of the late run from `start` into a block of `count` rows: rows in
 * time order, each below the block's newest time `below`, ending after the
 * first row that takes the block past its size limit.
 */
function lateRunEnd(stream: Stream, count: number, stringBytes: number, below: number,
  source: RowSource, start: number, end: number): number {
  const timestamps = source.timestamps;
  const rowStrings = source.rowStringBytes;
  let stop = start;
  let rows = count;
  let bytes = stringBytes;
  while (stop < end) {
    const timestamp = timestamps[stop]!;
    if (stop > start && (timestamp >= below || timestamp < timestamps[stop - 1]!)) break;
    rows++;
    bytes += rowStrings === undefined ? 0 : rowStrings[stop]!;
    stop++;
    if (encodedBlockBytes(stream.layout, rows, bytes) > stream.layout.blockBytes) break;
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
