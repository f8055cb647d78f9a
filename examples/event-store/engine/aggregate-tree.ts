import { assert } from "./assert.js";
import type { Block } from "./block.js";
import {
  childCount, childSummary, createInnerNode, createLeafNode, INDEX_FANOUT, summarizeChildren,
  type IndexNode,
} from "./index-node.js";
import { mergeSummary, type Summary } from "./summary.js";

/**
 * The aggregate index over one stream's blocks. Appends in time order go to
 * the rightmost path and split full nodes leaving the left one full (as in a
 * TAB+-tree); a block split in the middle (a late event overflowed it) adds a
 * sibling and splits full nodes in half, as a B+-tree does.
 * @internal
 */
export interface AggregateTree {
  root: IndexNode;
  first: Block;
  last: Block;
  readonly aggregatedCount: number;
}

/** Root-to-leaf path: nodes[0] is the root, indexes[k] the child taken in nodes[k]. */
export interface TreePath {
  readonly nodes: IndexNode[];
  readonly indexes: number[];
  block: Block;
}

export function createTree(block: Block, aggregatedCount: number): AggregateTree {
  return { root: createLeafNode([block], aggregatedCount), first: block, last: block,
    aggregatedCount };
}

/** Builds a tree bottom-up from blocks in time order, nodes packed full (import, reopen). */
export function buildTree(blocks: Block[], aggregatedCount: number): AggregateTree {
  assert(blocks.length > 0, "a tree needs at least one block");
  for (let index = 0; index < blocks.length; index++) {
    blocks[index]!.previous = blocks[index - 1];
    blocks[index]!.next = blocks[index + 1];
  }
  let level: IndexNode[] = [];
  for (let at = 0; at < blocks.length; at += INDEX_FANOUT) {
    level.push(createLeafNode(blocks.slice(at, at + INDEX_FANOUT), aggregatedCount));
  }
  let height = 1;
  while (level.length > 1) {
    height++;
    const upper: IndexNode[] = [];
    for (let at = 0; at < level.length; at += INDEX_FANOUT) {
      upper.push(createInnerNode(height, level.slice(at, at + INDEX_FANOUT), aggregatedCount));
    }
    level = upper;
  }
  return { root: level[0]!, first: blocks[0]!, last: blocks[blocks.length - 1]!,
    aggregatedCount };
}

/** Descends to a block: in every node, the first child whose summary `accept`s, else the last. */
export function descend(tree: AggregateTree, accept: (summary: Summary) => boolean): TreePath {
  const nodes: IndexNode[] = [];
  const indexes: number[] = [];
  let node = tree.root;
  for (;;) {
    const count = childCount(node);
    let index = 0;
    while (index < count - 1 && !accept(childSummary(node, index))) index++;
    nodes.push(node);
    indexes.push(index);
    if (node.height === 1) return { nodes, indexes, block: node.childBlocks[index]! };
    node = node.childNodes[index]!;
  }
}

export function rightmostPath(tree: AggregateTree): TreePath {
  return descend(tree, () => false);
}

/** Merges `delta` (events just added to `path.block`) into every node on the path. */
export function addToPath(path: TreePath, delta: Summary): void {
  for (const node of path.nodes) mergeSummary(node.summary, delta);
}

/** Puts `replacement` where `path.block` was (copy-on-write), same rows, same summary. */
export function replaceBlock(tree: AggregateTree, path: TreePath, replacement: Block): void {
  const old = path.block;
  const leaf = path.nodes[path.nodes.length - 1]!;
  const index = path.indexes[path.indexes.length - 1]!;
  assert(leaf.childBlocks[index] === old, "path does not lead to its block");
  leaf.childBlocks[index] = replacement;
  replacement.previous = old.previous;
  replacement.next = old.next;
  if (old.previous !== undefined) old.previous.next = replacement;
  else tree.first = replacement;
  if (old.next !== undefined) old.next.previous = replacement;
  else tree.last = replacement;
  path.block = replacement;
}

/**
 * Inserts `block` right after `path.block` (its events all come after it).
 * The path's summaries must already include the new block's events. The
 * path then leads to `block` (through the nodes it landed in after any
 * split), so several blocks can go in one after the other.
 */
export function insertBlockAfter(tree: AggregateTree, path: TreePath, block: Block): void {
  const left = path.block;
  block.previous = left;
  block.next = left.next;
  if (left.next !== undefined) left.next.previous = block;
  else tree.last = block;
  left.next = block;
  const depth = path.nodes.length - 1;
  const leaf = path.nodes[depth]!;
  const at = path.indexes[depth]! + 1;
  leaf.childBlocks.splice(at, 0, block);
  path.indexes[depth] = at;
  path.block = block;
  const appending = block.next === undefined;
  for (let level = depth; level >= 0; level--) {
    const node = path.nodes[level]!;
    if (childCount(node) <= INDEX_FANOUT) return;
    const keep = splitKeep(appending);
    const right = splitNode(node, keep, tree.aggregatedCount);
    const inRight = path.indexes[level]! >= keep;
    if (inRight) {
      path.nodes[level] = right;
      path.indexes[level] = path.indexes[level]! - keep;
    }
    if (level === 0) {
      tree.root = createInnerNode(node.height + 1, [node, right], tree.aggregatedCount);
      path.nodes.unshift(tree.root);
      path.indexes.unshift(inRight ? 1 : 0);
      return;
    }
    const parentIndex = path.indexes[level - 1]!;
    path.nodes[level - 1]!.childNodes.splice(parentIndex + 1, 0, right);
    if (inRight) path.indexes[level - 1] = parentIndex + 1;
  }
}

/** Children an overfull node keeps: appends keep the left node full (TAB+-tree); middle splits halve (B+-tree). */
function splitKeep(appending: boolean): number {
  return appending ? INDEX_FANOUT : Math.ceil((INDEX_FANOUT + 1) / 2);
}

/** Moves the children of an overfull node from `keep` on to a new right sibling. */
function splitNode(node: IndexNode, keep: number, aggregatedCount: number): IndexNode {
  const count = childCount(node);
  assert(count === INDEX_FANOUT + 1, () => `split of a node with ${count} children`);
  let right: IndexNode;
  if (node.height === 1) {
    right = createLeafNode(node.childBlocks.splice(keep), aggregatedCount);
  } else {
    right = createInnerNode(node.height, node.childNodes.splice(keep), aggregatedCount);
  }
  node.summary = summarizeChildren(node, aggregatedCount);
  return right;
}
