import { detachRows, type Block, type BlockColumn } from "./block.js";
import type { BlockLayout } from "./block-layout.js";
import type { ColumnArena } from "./column-arena.js";
import type { EngineFile } from "./file-system.js";
import type { MergeScratch } from "./merge-scratch.js";

/**
 * The block cache: which blocks have their rows in memory. Every block keeps
 * its header (count, string bytes, summary, slot, links) for ever — the
 * aggregate index needs only those — while its rows (the typed columns) may
 * be evicted once they are durable in the slot the durable manifest names (a
 * clean block), and are read back from that slot, synchronously, when a
 * query or an insert needs them (block-load.ts). Recency order is LRU: a Map
 * in access order, a touch moves a block to the end. Dirty blocks are never
 * evicted; a checkpoint makes them clean. Eviction runs only between calls
 * (`enforceBudget`), so the rows a running query or batch holds stay put.
 * See docs/event-store.md "Block cache".
 * @internal
 */
export interface BlockCache {
  /** Memory budget of resident blocks (block.ts `residentCost`: columns, strings). */
  readonly budgetBytes: number;
  /** Resident blocks, least recently used first; the value: bytes they are counted for. */
  readonly resident: Map<Block, number>;
  residentBytes: number;
  /** The most recently admitted block (a touch of it moves nothing). */
  last: Block | undefined;
  /** The blocks file: evicted blocks are read back from their slot in it. */
  readonly file: EngineFile;
  readonly blockBytes: number;
  /** Blocks read back from their slot. */
  loads: number;
  evictions: number;
  /** Reused read buffer (decoding copies out of it). */
  scratch: Uint8Array | undefined;
}

/**
 * Where a block's memory comes from and where it is read back from: one per
 * stream. `cache` undefined: its blocks are never evicted (a block decoded
 * only to check it, as a snapshot import does).
 * @internal
 */
export interface BlockHome {
  readonly layout: BlockLayout;
  readonly arena: ColumnArena;
  readonly cache: BlockCache | undefined;
  /** Column views of the blocks viewed last (block.ts `blockColumns`), at most VIEWED_BLOCKS. */
  readonly views: Map<Block, readonly BlockColumn[]>;
  /** Reused arrays of its late-run merges. */
  readonly merge: MergeScratch;
  /** For errors: the path of the blocks file. */
  readonly path: string;
}

/** EventStore.cacheStatistics(). */
export interface BlockCacheStatistics {
  readonly budgetBytes: number;
  /** Blocks whose rows are in memory, and their bytes (columns, strings estimated). */
  readonly residentBlocks: number;
  readonly residentBytes: number;
  /** Resident blocks not yet written by a checkpoint (never evicted). */
  readonly dirtyBlocks: number;
  /** Blocks of all streams, resident or not. */
  readonly storedBlocks: number;
  /** Blocks read back from the blocks file since open. */
  readonly loads: number;
  readonly evictions: number;
}

export function createBlockCache(file: EngineFile, blockBytes: number,
  budgetBytes: number): BlockCache {
  return { budgetBytes, resident: new Map(), residentBytes: 0, last: undefined, file, blockBytes,
    loads: 0, evictions: 0, scratch: undefined };
}

/**
 * Evicts clean resident blocks, least recently used first, until the
 * resident bytes are within the budget. What is left over the budget is
 * dirty (a checkpoint will make it evictable) or held by a running snapshot
 * export (until the export has passed it). Returns true when the dirty
 * blocks alone exceed the budget: then only a checkpoint brings the cache
 * back within it.
 */
export function enforceBudget(cache: BlockCache): boolean {
  if (cache.residentBytes <= cache.budgetBytes) return false;
  let dirtyBytes = 0;
  for (const [block, bytes] of cache.resident) {
    if (block.dirty) dirtyBytes += bytes;
    if (block.dirty || block.exports > 0) continue;
    detachRows(block);
    cache.evictions++;
    if (cache.residentBytes <= cache.budgetBytes) return false;
  }
  return dirtyBytes > cache.budgetBytes;
}

export function dirtyBlockCount(cache: BlockCache): number {
  let dirty = 0;
  for (const block of cache.resident.keys()) if (block.dirty) dirty++;
  return dirty;
}
