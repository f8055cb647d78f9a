/**
 * Hands out the memory of block columns from large slabs, one stream at a
 * time. A block needs a few dozen KiB; allocating each as its own ArrayBuffer
 * makes V8 count hundreds of MiB of small external allocations and run full
 * collections far more often (measured: ingest of 10 M events slowed down
 * as the heap grew). A slab is freed when no block of it is left, so a
 * discarded block (a copy-on-write original) keeps its slab alive until then.
 * @internal
 */
export interface ColumnArena {
  /** `bytes` (a multiple of 8) of zeroed memory: a buffer and the offset in it. */
  take(bytes: number): { readonly buffer: ArrayBuffer; readonly offset: number };
}

export const ARENA_SLAB_BYTES = 4 * 1024 * 1024;

export function createColumnArena(slabBytes = ARENA_SLAB_BYTES): ColumnArena {
  let slab = new ArrayBuffer(0);
  let used = 0;
  return {
    take(bytes) {
      if (bytes > slabBytes) return { buffer: new ArrayBuffer(bytes), offset: 0 };
      if (used + bytes > slab.byteLength) {
        slab = new ArrayBuffer(slabBytes);
        used = 0;
      }
      const offset = used;
      used += bytes;
      return { buffer: slab, offset };
    },
  };
}
