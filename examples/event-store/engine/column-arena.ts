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
 * Slabs are ArrayBuffers. Session 11 made them SharedArrayBuffers, which
 * V8 does not count as the isolate's external memory: a replica's full
 * collections about halved, but its CPU per event did not fall and the
 * service bench's rate was lower in every pair (docs/benchmarks.md, session
 * 11, HEAP), so they went back to ArrayBuffers.
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
  /** One of the arena's slabs. */
  readonly buffer: ArrayBufferLike;
  readonly offset: number;
}

export const ARENA_SLAB_BYTES = 4 * 1024 * 1024;

export function createColumnArena(slabBytes = ARENA_SLAB_BYTES): ColumnArena {
  let slab = new ArrayBuffer(0);
  let used = 0;
  const free = new Map<number, ArenaPiece[]>();
  let freeBytes = 0;
  return {
    take(bytes) {
      const reused = free.get(bytes)?.pop();
      if (reused !== undefined) {
        freeBytes -= bytes;
        // 8 bytes at a time (~2x faster than a Uint8Array fill).
        new Float64Array(reused.buffer, reused.offset, bytes / 8).fill(0);
        return reused;
      }
      if (bytes > slabBytes) return { buffer: new ArrayBuffer(bytes), offset: 0 };
      if (used + bytes > slab.byteLength) {
        slab = new ArrayBuffer(slabBytes);
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
