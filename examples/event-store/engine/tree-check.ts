import type { AggregateTree } from "./aggregate-tree.js";
import { assert } from "./assert.js";
import { enforceBudget } from "./block-cache.js";
import { residentBlock } from "./block-load.js";
import {
  aggregatedColumns, blockEncodedBytes, GROUP_ROWS, summarizeBlock, type Block,
} from "./block.js";
import type { BlockLayout } from "./block-layout.js";
import { exactSumValue } from "./exact-sum.js";
import { childCount, INDEX_FANOUT, summarizeChildren, type IndexNode } from "./index-node.js";
import { summarizeRows, type Summary } from "./summary.js";

/**
 * Checks every invariant of a stream's blocks and aggregate index against a
 * recomputation from the rows: summaries exact, children in time order,
 * heights uniform, fanout bounded, blocks within their slot, the linked list
 * matching the tree's leaf order. O(n); for tests and after recovery.
 * Throws AssertionError naming the first broken invariant.
 */
export function checkTree(layout: BlockLayout, tree: AggregateTree): void {
  const leaves: Block[] = [];
  checkNode(layout, tree.root, tree.aggregatedCount, leaves, true);
  assert(tree.first === leaves[0], "tree.first is not the first leaf");
  assert(tree.last === leaves[leaves.length - 1], "tree.last is not the last leaf");
  let previous: Block | undefined;
  for (const block of leaves) {
    assert(block.previous === previous, "linked list previous differs from leaf order");
    if (previous !== undefined) {
      assert(previous.next === block, "linked list next differs from leaf order");
      assert(previous.summary.maxTimestamp <= block.summary.minTimestamp,
        () => `blocks overlap: ${previous?.summary.maxTimestamp} > ${block.summary.minTimestamp}`);
      assert(block.count > 0, "an empty block that is not the only block");
    }
    previous = block;
  }
  assert(previous?.next === undefined, "last leaf has a next block");
}

function checkNode(layout: BlockLayout, node: IndexNode, aggregatedCount: number,
  leaves: Block[], isRoot: boolean): void {
  const count = childCount(node);
  assert(count >= 1 && count <= INDEX_FANOUT, () => `node with ${count} children`);
  assert(isRoot || node.height >= 1, "node height below 1");
  if (node.height === 1) {
    for (const block of node.childBlocks) {
      checkBlock(layout, residentBlock(block));
      leaves.push(block);
      if (block.home.cache !== undefined) enforceBudget(block.home.cache);
    }
  } else {
    for (const child of node.childNodes) {
      assert(child.height === node.height - 1,
        () => `child height ${child.height} under height ${node.height}`);
      checkNode(layout, child, aggregatedCount, leaves, false);
    }
  }
  assertSameSummary(node.summary, summarizeChildren(node, aggregatedCount),
    `node of height ${node.height}`);
}

function checkBlock(layout: BlockLayout, block: Block): void {
  for (let row = 1; row < block.count; row++) {
    assert(block.timestamps[row - 1]! <= block.timestamps[row]!,
      () => `block rows ${row - 1} and ${row} out of order`);
  }
  const bytes = blockEncodedBytes(layout, block);
  assert(bytes <= layout.blockBytes, () => `block of ${bytes} bytes, slot ${layout.blockBytes}`);
  assertSameSummary(block.summary, summarizeBlock(layout, block), "block");
  const columns = aggregatedColumns(layout, block);
  block.groups.forEach((group, index) => {
    if (group === undefined) return;
    assert((index + 1) * GROUP_ROWS <= block.count,
      () => `cached group ${index} for ${block.count} rows`);
    assertSameSummary(group, summarizeRows(block.timestamps, columns, index * GROUP_ROWS,
      (index + 1) * GROUP_ROWS), `cached group ${index}`);
  });
}

function assertSameSummary(actual: Summary, expected: Summary, what: string): void {
  const same = (a: number, b: number) => Object.is(a, b);
  assert(actual.count === expected.count,
    () => `${what}: count ${actual.count} vs ${expected.count}`);
  if (expected.count === 0) return;
  assert(actual.minTimestamp === expected.minTimestamp, () => `${what}: minTimestamp differs`);
  assert(actual.maxTimestamp === expected.maxTimestamp, () => `${what}: maxTimestamp differs`);
  expected.fields.forEach((field, index) => {
    const other = actual.fields[index]!;
    assert(same(exactSumValue(other.sum), exactSumValue(field.sum)), () => `${what}: sum differs`);
    assert(same(other.min, field.min) && same(other.max, field.max),
      () => `${what}: min/max differ`);
    assert(same(other.first, field.first) && same(other.last, field.last),
      () => `${what}: first/last differ`);
  });
}
