import { assert } from "./assert.js";

/**
 * Memory for the frames a node receives, reused instead of fresh per frame
 * (issue #8: a follower's frame gather was 64 B per event of fresh
 * ArrayBuffer memory, ~1.6 of its ~6 mark-compacts per million events by
 * V8's external-memory trigger).
 *
 * A received frame's bytes live on as views: the raft core's unstable log,
 * the log store's entry cache, committed entries handed to the state machine,
 * a new leader's sends. No one of those knows the others' ends, and a view of
 * reused memory that outlives its slot would read another frame's bytes. So
 * the end is decided by the garbage collector, which sees every holder:
 *
 * - A slab is one SharedArrayBuffer kept by the pool. It is lent as an
 *   ALIAS: a second SharedArrayBuffer object over the same memory
 *   (structuredClone shares a SharedArrayBuffer's memory, it does not copy
 *   it). Frames are cut from the alias in order; every view of a frame
 *   references the alias object, and nothing else does once the pool moved
 *   on to the next slab.
 * - The slab returns to the free list only when the alias object has been
 *   collected (a FinalizationRegistry callback): then no view of any of its
 *   frames exists anywhere in this isolate. A late reader keeps the alias
 *   alive, so the slab it reads is never lent again.
 * - Native code reads frame memory only while a JS object holds the view
 *   (the log store's writev awaits with its buffers); the transport's send
 *   path copies shared memory instead of referencing it (wire-writer.ts),
 *   so what HTTP/2 queues natively is never a slab.
 *
 * Shared memory is not counted by V8 as external memory (it starts no GC),
 * so the pool is bounded by `maxSlabs`: when every slab is lent, frames are
 * fresh memory as before (counted; the GCs it starts collect aliases). A
 * frame larger than a slab is fresh memory too.
 * @internal
 */
export interface FrameSlabs {
  /** `length` bytes for one frame; the caller fills them all before anyone else sees the view. */
  take(length: number): Uint8Array;
  /** Counters for benches and tests. */
  readonly stats: FrameSlabStats;
}

export interface FrameSlabStats {
  /** Slabs allocated so far (never more than maxSlabs). */
  readonly slabs: number;
  /** Times a slab was lent (its first lending included). */
  readonly lendings: number;
  /** Times a slab came back after its alias was collected. */
  readonly returns: number;
  /** Frames given fresh memory: larger than a slab, or every slab lent. */
  readonly freshFrames: number;
  readonly freshBytes: number;
}

/** Calls `onUnreachable` once `alias` can no longer be reached (a FinalizationRegistry in use). */
export interface AliasWatch {
  watch(alias: object, onUnreachable: () => void): void;
}

export interface FrameSlabOptions {
  readonly slabBytes: number;
  readonly maxSlabs: number;
  /** Injected so a test can show what an early return would do; the collector's by default. */
  readonly watch?: AliasWatch;
}

/** A frame's offset in its slab is a multiple of this (typed arrays of 8-byte values fit). */
const frameAlignment = 8;

export const defaultFrameSlabOptions: FrameSlabOptions = {
  slabBytes: 4 * 1024 * 1024,
  maxSlabs: 32,
};

interface Slab {
  readonly memory: SharedArrayBuffer;
  /** Lent: an alias of it exists (the pool's current one, or one not yet collected). */
  lent: boolean;
  /** How many times it was lent; a return names the lending it ends. */
  lending: number;
}

interface Lending {
  readonly slab: Slab;
  readonly alias: SharedArrayBuffer;
  used: number;
}

export function createFrameSlabs(options: FrameSlabOptions = defaultFrameSlabOptions): FrameSlabs {
  const { slabBytes, maxSlabs } = options;
  assert(Number.isSafeInteger(slabBytes), () => `slabBytes ${slabBytes}, allowed an integer`);
  assert(slabBytes >= frameAlignment, () => `slabBytes ${slabBytes}, allowed ≥ ${frameAlignment}`);
  assert(slabBytes % frameAlignment === 0, () => `slabBytes ${slabBytes}, allowed a multiple of 8`);
  assert(Number.isSafeInteger(maxSlabs), () => `maxSlabs ${maxSlabs}, allowed an integer`);
  assert(maxSlabs >= 0, () => `maxSlabs ${maxSlabs}, allowed ≥ 0`);
  const watch = options.watch ?? createCollectorWatch();
  const free: Slab[] = [];
  let slabCount = 0;
  let current: Lending | undefined;
  const stats = { slabs: 0, lendings: 0, returns: 0, freshFrames: 0, freshBytes: 0 };

  const onReturned = (slab: Slab, lending: number): void => {
    assert(slab.lent, () => `slab returned twice (lending ${lending})`);
    assert(slab.lending === lending, () => `slab's lending ${slab.lending} returned as ${lending}`);
    assert(current?.slab !== slab, () => `the pool's current slab returned`);
    slab.lent = false;
    free.push(slab);
    stats.returns++;
  };

  const returnOf = (slab: Slab, lending: number) => (): void => onReturned(slab, lending);

  const lend = (): Lending | undefined => {
    let slab = free.pop();
    if (slab === undefined) {
      if (slabCount >= maxSlabs) return undefined;
      slab = { memory: new SharedArrayBuffer(slabBytes), lent: false, lending: 0 };
      slabCount++;
      stats.slabs = slabCount;
    }
    assert(!slab.lent, () => `slab on the free list is lent (lending ${slab.lending})`);
    slab.lent = true;
    slab.lending++;
    const alias = aliasOf(slab.memory);
    // The callback must not reach the alias (it would keep it alive for ever): it is made in a
    // scope that never saw it.
    watch.watch(alias, returnOf(slab, slab.lending));
    stats.lendings++;
    return { slab, alias, used: 0 };
  };

  const fresh = (length: number): Uint8Array => {
    stats.freshFrames++;
    stats.freshBytes += length;
    return new Uint8Array(length);
  };

  return {
    take(length: number): Uint8Array {
      assert(Number.isSafeInteger(length), () => `frame length ${length}, allowed an integer`);
      assert(length >= 0, () => `frame length ${length}, allowed ≥ 0`);
      if (length > slabBytes) return fresh(length);
      if (current === undefined || current.used + length > slabBytes) {
        current = undefined; // the old alias now lives only in its frames' views
        current = lend();
        if (current === undefined) return fresh(length);
      }
      const start = current.used;
      const aligned = Math.ceil(length / frameAlignment) * frameAlignment;
      current.used = Math.min(slabBytes, start + aligned);
      const used = current.used;
      assert(used >= start + length, () => `frame [${start}, +${length}) beyond ${used}`);
      return new Uint8Array(current.alias, start, length);
    },
    stats,
  };
}

/** A new object over the same memory: its views are the only references to it. */
function aliasOf(memory: SharedArrayBuffer): SharedArrayBuffer {
  const alias = structuredClone(memory);
  assert(alias !== memory, () => "structuredClone returned the slab itself");
  assert(
    alias.byteLength === memory.byteLength,
    () => `alias of ${alias.byteLength} bytes, slab ${memory.byteLength}`,
  );
  return alias;
}

function createCollectorWatch(): AliasWatch {
  const registry = new FinalizationRegistry<() => void>((onUnreachable) => onUnreachable());
  return { watch: (alias, onUnreachable) => registry.register(alias, onUnreachable) };
}
