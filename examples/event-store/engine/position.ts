import { descend, type AggregateTree } from "./aggregate-tree.js";
import { lowerBound, type Block } from "./block.js";
import { residentBlock } from "./block-load.js";

/**
 * A place between events of a stream: row `row` of `block`; `row === count`
 * only at the very end of the last block. Moves across blocks by the
 * blocks' linked list. `block` always has its rows in memory (the moves
 * read an evicted block back); the block cache evicts only between calls.
 * @internal
 */
export interface Position {
  block: Block;
  row: number;
}

/** The first event with timestamp >= `timestamp` (or the end). O(log n). */
export function seekLowerBound(tree: AggregateTree, timestamp: number): Position {
  const block = residentBlock(descend(tree, (summary) => summary.maxTimestamp >= timestamp).block);
  return { block, row: lowerBound(block, timestamp) };
}

export function isEnd(position: Position): boolean {
  return position.row >= position.block.count;
}

/** Moves one event forward; false at the end (then the position is the end). */
export function stepForward(position: Position): boolean {
  position.row++;
  if (position.row < position.block.count) return true;
  const next = position.block.next;
  if (next === undefined || next.count === 0) {
    position.row = position.block.count;
    return false;
  }
  position.block = residentBlock(next);
  position.row = 0;
  return true;
}

/** Moves one event back; false before the first (the position is then unchanged). */
export function stepBackward(position: Position): boolean {
  if (position.row > 0) {
    position.row--;
    return true;
  }
  const previous = position.block.previous;
  if (previous === undefined || previous.count === 0) return false;
  position.block = residentBlock(previous);
  position.row = previous.count - 1;
  return true;
}

/** Moves `rows` events forward, skipping whole blocks; false when it passes the end. */
export function skipForward(position: Position, rows: number): boolean {
  let left = rows;
  while (position.row + left >= position.block.count) {
    const next = position.block.next;
    left -= position.block.count - position.row;
    if (next === undefined) {
      position.row = position.block.count;
      return false;
    }
    position.block = next;
    position.row = 0;
  }
  residentBlock(position.block);
  position.row += left;
  return true;
}

/** How many events before `position` have the same timestamp as the event at it. */
export function tieIndexAt(position: Position): number {
  const timestamp = position.block.timestamps[position.row]!;
  let ties = position.row - lowerBound(position.block, timestamp);
  if (ties < position.row) return ties;
  for (let block = position.block.previous; block !== undefined; block = block.previous) {
    if (block.count > 0 && block.summary.minTimestamp === timestamp) {
      ties += block.count;
      continue;
    }
    if (block.summary.maxTimestamp < timestamp) return ties;
    return ties + block.count - lowerBound(residentBlock(block), timestamp);
  }
  return ties;
}
