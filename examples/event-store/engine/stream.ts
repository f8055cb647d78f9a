import { createBlockLayout, type BlockLayout } from "./block-layout.js";
import { createBlock, type Block } from "./block.js";
import { buildTree, createTree, type AggregateTree } from "./aggregate-tree.js";
import { createColumnArena, type ColumnArena } from "./column-arena.js";
import type { StreamSchema } from "./schema.js";

/**
 * One stream of the store: its schema, the block layout derived from it, the
 * aggregate index over its blocks, and counters for statistics.
 * @internal
 */
export interface Stream {
  readonly name: string;
  readonly schema: StreamSchema;
  readonly layout: BlockLayout;
  tree: AggregateTree;
  /** Memory for this stream's block columns. */
  readonly arena: ColumnArena;
  blockCount: number;
  /** Events that arrived with a timestamp below the stream's newest. */
  lateEventCount: number;
  /** Blocks split because a late event overflowed them. */
  blockSplitCount: number;
}

export interface StreamCounters {
  readonly lateEventCount: number;
  readonly blockSplitCount: number;
}

export function createStream(name: string, schema: StreamSchema, blockBytes: number,
  epoch: number): Stream {
  const layout = createBlockLayout(schema, blockBytes);
  const arena = createColumnArena();
  const tree = createTree(createBlock(layout, epoch, arena), layout.aggregated.length);
  return { name, schema, layout, tree, arena, blockCount: 1, lateEventCount: 0,
    blockSplitCount: 0 };
}

/** A stream over existing blocks (reopen, snapshot import). */
export function restoreStream(name: string, schema: StreamSchema, layout: BlockLayout,
  blocks: Block[], counters: StreamCounters, arena: ColumnArena): Stream {
  const tree: AggregateTree = buildTree(blocks, layout.aggregated.length);
  return { name, schema, layout, tree, arena, blockCount: blocks.length,
    lateEventCount: counters.lateEventCount, blockSplitCount: counters.blockSplitCount };
}

/** Blocks of the stream in time order. */
export function* streamBlocks(stream: Stream): Generator<Block> {
  for (let block: Block | undefined = stream.tree.first; block !== undefined; block = block.next) {
    yield block;
  }
}
