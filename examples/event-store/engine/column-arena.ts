/**
 * Hands out the memory of block columns from large slabs. A block needs a
 * few dozen KiB; allocating each as its own ArrayBuffer makes V8 count
 * hundreds of MiB of small external allocations and run full collections far
 * more often (measured: ingest of 10 M events slowed down as the heap grew).
 * The block cache returns an evicted block's memory with `release`; the next
 * `take` of the same size reuses it, so a store's block memory follows its
 * peak resident set, not the data stored. (A slab is only freed when no
 * block or free piece of it is left.)
 *
 * Slabs are SharedArrayBuffers (never shared with another thread): V8 does
 * not count their bytes as the isolate's external memory, so block memory —
 * retained on purpose, bounded by the block cache's budget and reused
 * through `release` — no longer starts garbage collections. With
 * ArrayBuffers every 64 MiB of new blocks (~800 k events) started a full
 * collection ("external memory pressure") and every 32 MiB allocated while
 * young a scavenge, on every replica, none of which could free a slab the
 * cache still held (session 11: docs/benchmarks.md). Typed arrays over them
 * read and write as over an ArrayBuffer. A slab nothing references any more
 * is still freed by the collector, only later.
 * @internal
 */
export interface ColumnArena {
  /** `bytes` (a multiple of 8) of zeroed memory: a buffer and the offset in it. */
  take(bytes: number): ArenaPiece;
  /** Gives back a piece no block uses any more; a later `take` of the same size reuses it. */
  release(piece: ArenaPiece, bytes: number): void;
  /** Bytes held in released pieces, waiting for reuse. */
  freeBytes(): number;
}

export interface ArenaPiece {
  /** One of the arena's slabs (a SharedArrayBuffer, see above). */
  readonly buffer: ArrayBufferLike;
  readonly offset: number;
}

export const ARENA_SLAB_BYTES = 4 * 1024 * 1024;

export function createColumnArena(slabBytes = ARENA_SLAB_BYTES): ColumnArena {
  let slab = new SharedArrayBuffer(0);
  let used = 0;
  const free = new Map<number, ArenaPiece[]>();
  let freeBytes = 0;
  return {
    take(bytes) {
      const reused = free.get(bytes)?.pop();
      if (reused !== undefined) {
        freeBytes -= bytes;
        // 8 bytes at a time: a Uint8Array fill of shared memory is ~4x slower (one relaxed store per byte).
        new Float64Array(reused.buffer, reused.offset, bytes / 8).fill(0);
        return reused;
      }
      if (bytes > slabBytes) return { buffer: new SharedArrayBuffer(bytes), offset: 0 };
      if (used + bytes > slab.byteLength) {
        slab = new SharedArrayBuffer(slabBytes);
        used = 0;
      }
      const offset = used;
      used += bytes;
      return { buffer: slab, offset };
    },
    release(piece, bytes) {
      let list = free.get(bytes);
      if (list === undefined) {
        list = [];
        free.set(bytes, list);
      }
      list.push(piece);
      freeBytes += bytes;
    },
    freeBytes: () => freeBytes,
  };
}
