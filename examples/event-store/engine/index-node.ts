import type { Block } from "./block.js";
import { createSummary, mergeSummary, type Summary } from "./summary.js";

/**
 * A node of the aggregate index (the TAB+-tree of ChronicleDB): its summary
 * covers every event of its subtree. At height 1 the children are blocks,
 * above that index nodes. Children are in time order: a child's
 * maxTimestamp <= the next child's minTimestamp.
 * @internal
 */
export interface IndexNode {
  readonly height: number;
  summary: Summary;
  /** Used when height > 1. */
  childNodes: IndexNode[];
  /** Used when height === 1. */
  childBlocks: Block[];
}

/** Children per node at most; a full node splits in two. */
export const INDEX_FANOUT = 32;

export function childCount(node: IndexNode): number {
  return node.height === 1 ? node.childBlocks.length : node.childNodes.length;
}

export function childSummary(node: IndexNode, index: number): Summary {
  const child = node.height === 1 ? node.childBlocks[index] : node.childNodes[index];
  if (child === undefined) {
    throw new RangeError(`child ${index} of a node with ${childCount(node)} children`);
  }
  return child.summary;
}

/** The summary of all children, merged left to right. */
export function summarizeChildren(node: IndexNode, aggregatedCount: number): Summary {
  const summary = createSummary(aggregatedCount);
  const count = childCount(node);
  for (let index = 0; index < count; index++) mergeSummary(summary, childSummary(node, index));
  return summary;
}

export function createLeafNode(blocks: Block[], aggregatedCount: number): IndexNode {
  const node: IndexNode = {
    height: 1, summary: createSummary(aggregatedCount), childNodes: [], childBlocks: blocks,
  };
  node.summary = summarizeChildren(node, aggregatedCount);
  return node;
}

export function createInnerNode(height: number, nodes: IndexNode[],
  aggregatedCount: number): IndexNode {
  const node: IndexNode = {
    height, summary: createSummary(aggregatedCount), childNodes: nodes, childBlocks: [],
  };
  node.summary = summarizeChildren(node, aggregatedCount);
  return node;
}
