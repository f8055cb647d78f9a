import type { AggregateTree } from "./aggregate-tree.js";
import { lowerBound, summarizeBlockRows, type Block } from "./block.js";
import { residentBlock } from "./block-load.js";
import type { BlockLayout } from "./block-layout.js";
import { exactSumValue } from "./exact-sum.js";
import { childCount, childSummary, type IndexNode } from "./index-node.js";
import { createSummary, mergeSummary, type Summary } from "./summary.js";

/** Aggregates of one numeric field over a time range. */
export interface FieldAggregate {
  /** Exact sum, correctly rounded (exact-sum.ts). */
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /** sum / count. */
  readonly average: number;
  /** Value of the earliest event (ties: the first inserted). */
  readonly first: number;
  /** Value of the latest event (ties: the last inserted). */
  readonly last: number;
}

export interface RangeAggregate {
  readonly count: number;
  /** Undefined when the range holds no event. */
  readonly firstTimestamp: number | undefined;
  readonly lastTimestamp: number | undefined;
  /** One entry per aggregated field when count > 0; empty otherwise. */
  readonly fields: Readonly<Record<string, FieldAggregate>>;
}

/**
 * The summary of events with from <= timestamp < to: index nodes wholly
 * inside the range count by their stored summary, nodes outside are skipped,
 * and only nodes straddling a bound are opened — one root-to-leaf path per
 * bound, ending in a boundary block whose rows in range are summarized.
 * O(fanout · log n + block).
 * @internal
 */
export function summarizeRange(layout: BlockLayout, tree: AggregateTree, from: number,
  to: number): Summary {
  const result = createSummary(layout.aggregated.length);
  collect(layout, tree.root, from, to, result);
  return result;
}

function collect(layout: BlockLayout, node: IndexNode, from: number, to: number,
  result: Summary): void {
  const count = childCount(node);
  for (let index = 0; index < count; index++) {
    const summary = childSummary(node, index);
    if (summary.count === 0 || summary.maxTimestamp < from) continue;
    if (summary.minTimestamp >= to) return;
    if (summary.minTimestamp >= from && summary.maxTimestamp < to) {
      mergeSummary(result, summary);
    } else if (node.height === 1) {
      mergeSummary(result, summarizeBlockRange(layout, node.childBlocks[index]!, from, to));
    } else {
      collect(layout, node.childNodes[index]!, from, to, result);
    }
  }
}

function summarizeBlockRange(layout: BlockLayout, evictable: Block, from: number,
  to: number): Summary {
  const block = residentBlock(evictable);
  return summarizeBlockRows(layout, block, lowerBound(block, from), lowerBound(block, to));
}

/** The public form of a summary: rounded sums, averages, fields by name. */
export function toRangeAggregate(layout: BlockLayout, summary: Summary): RangeAggregate {
  if (summary.count === 0) {
    return { count: 0, firstTimestamp: undefined, lastTimestamp: undefined, fields: {} };
  }
  const fields: Record<string, FieldAggregate> = {};
  layout.aggregated.forEach((fieldIndex, index) => {
    const field = summary.fields[index]!;
    const sum = exactSumValue(field.sum);
    fields[layout.fields[fieldIndex]!.name] = {
      sum, min: field.min, max: field.max, average: sum / summary.count,
      first: field.first, last: field.last,
    };
  });
  return { count: summary.count, firstTimestamp: summary.minTimestamp,
    lastTimestamp: summary.maxTimestamp, fields };
}
