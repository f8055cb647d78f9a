/**
 * Reused arrays of a stream's late-run merges (block.ts `insertSortedRows`,
 * `spreadSortedRows`): where each late row goes in its block, and the merged
 * order of a spread. One per stream (in its BlockHome), not per module:
 * nothing is shared between stores, and a merge allocates nothing per run.
 * Contents are valid only within one merge.
 * @internal
 */
export interface MergeScratch {
  bounds: Uint32Array;
  order: Int32Array;
}

export function createMergeScratch(): MergeScratch {
  return { bounds: new Uint32Array(1024), order: new Int32Array(2048) };
}

/** `scratch.bounds`, grown to at least `length` entries. */
export function boundsScratch(scratch: MergeScratch, length: number): Uint32Array {
  if (scratch.bounds.length < length) {
    scratch.bounds = new Uint32Array(Math.max(length, 2 * scratch.bounds.length));
  }
  return scratch.bounds;
}

/** `scratch.order`, grown to at least `length` entries. */
export function orderScratch(scratch: MergeScratch, length: number): Int32Array {
  if (scratch.order.length < length) {
    scratch.order = new Int32Array(Math.max(length, 2 * scratch.order.length));
  }
  return scratch.order;
}
