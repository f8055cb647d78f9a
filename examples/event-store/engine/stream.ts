import { createBlockLayout, type BlockLayout } from "./block-layout.js";
import { createBlock, type Block } from "./block.js";
import { buildTree, createTree, type AggregateTree } from "./aggregate-tree.js";
import type { BlockCache, BlockHome } from "./block-cache.js";
import { createColumnArena } from "./column-arena.js";
import { createMergeScratch } from "./merge-scratch.js";
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
  /** Memory for this stream's block columns, and the block cache its blocks are in. */
  readonly home: BlockHome;
  blockCount: number;
  /** Events that arrived with a timestamp below the stream's newest. */
  lateEventCount: number;
  /**
   * Blocks added because late events overflowed a block (each new block of a
   * spread, spreadSortedRows; until session 10 each halving split).
   */
  blockSplitCount: number;
}

export interface StreamCounters {
  readonly lateEventCount: number;
  readonly blockSplitCount: number;
}

export function createStream(name: string, schema: StreamSchema, blockBytes: number,
  epoch: number, cache: BlockCache | undefined): Stream {
  const home = createBlockHome(createBlockLayout(schema, blockBytes), cache);
  const layout = home.layout;
  const tree = createTree(createBlock(home, epoch), layout.aggregated.length);
  return { name, schema, layout, tree, home, blockCount: 1, lateEventCount: 0,
    blockSplitCount: 0 };
}

/** Memory (an arena of its own) for the blocks of one stream, in `cache`. */
export function createBlockHome(layout: BlockLayout, cache: BlockCache | undefined): BlockHome {
  return { layout, arena: createColumnArena(), cache, views: new Map(),
    merge: createMergeScratch(), path: cache?.file.path ?? "" };
}

/** A stream over existing blocks (reopen), made in `home`. */
export function restoreStream(name: string, schema: StreamSchema, home: BlockHome,
  blocks: Block[], counters: StreamCounters): Stream {
  const tree: AggregateTree = buildTree(blocks, home.layout.aggregated.length);
  return { name, schema, layout: home.layout, tree, home, blockCount: blocks.length,
    lateEventCount: counters.lateEventCount, blockSplitCount: counters.blockSplitCount };
}

/** Blocks of the stream in time order. */
export function* streamBlocks(stream: Stream): Generator<Block> {
  for (let block: Block | undefined = stream.tree.first; block !== undefined; block = block.next) {
    yield block;
  }
}
