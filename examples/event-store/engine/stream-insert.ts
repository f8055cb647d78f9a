import { addToPath, descend, insertBlockAfter, replaceBlock, rightmostPath,
  type TreePath } from "./aggregate-tree.js";
import { assert } from "./assert.js";
import {
  aggregatedColumns, appendRows, blockEncodedBytes, cloneBlock, createBlock, insertRow,
  rowsThatFit, splitBlock, upperBound,
} from "./block.js";
import type { RowSource } from "./row-source.js";
import type { Stream } from "./stream.js";
import { mergeSummary, summarizeRows } from "./summary.js";

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
 * using the spare room, and splits that block when it overflows.
 * Cost: O(rows + log n) per in-order run; O(block + log n) per late event.
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
      insertLate(stream, source, row, epochs);
      row++;
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
      insertBlockAfter(stream.tree, path, createBlock(layout, epochs.current, stream.arena));
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

function insertLate(stream: Stream, source: RowSource, row: number, epochs: WriteEpochs): void {
  const layout = stream.layout;
  const timestamp = source.timestamps[row]!;
  const path = descend(stream.tree, (summary) => summary.maxTimestamp > timestamp);
  makeWritable(stream, path, epochs);
  const block = path.block;
  const position = upperBound(block, timestamp);
  insertRow(block, position, source, row);
  const delta = summarizeRows(block.timestamps, aggregatedColumns(layout, block), position,
    position + 1);
  mergeSummary(block.summary, delta);
  addToPath(path, delta);
  stream.lateEventCount++;
  if (blockEncodedBytes(layout, block) > layout.blockBytes) {
    insertBlockAfter(stream.tree, path,
      splitBlock(layout, block, epochs.current, stream.arena));
    stream.blockCount++;
    stream.blockSplitCount++;
  }
}

/** Copy-on-write: a block a running export may hold is replaced by a copy first. */
function makeWritable(stream: Stream, path: TreePath, epochs: WriteEpochs): void {
  if (path.block.epoch > epochs.pinned) return;
  replaceBlock(stream.tree, path,
    cloneBlock(stream.layout, path.block, epochs.current, stream.arena));
}
