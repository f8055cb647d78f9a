import { assert } from "./assert.js";
import { encodeBlockInto } from "./block-codec.js";
import { releaseExported, type Block } from "./block.js";
import type { BlockLayout } from "./block-layout.js";
import type { Manifest } from "./manifest-codec.js";
import type { StoreState } from "./store-state.js";
import { writeManifestFile } from "./store-open.js";
import { streamBlocks } from "./stream.js";
import { createWal, walPath } from "./wal-file.js";

/**
 * Moves the WAL's content into the blocks file and starts a new WAL:
 *
 * 1. every changed block is written to a FREE slot (never one the durable
 *    manifest names: copy-on-write, so a crash mid-way leaves the old
 *    checkpoint intact), then the blocks file is synced;
 * 2. an empty `wal-<g+1>` is created;
 * 3. the new manifest (generation g+1, applied index, slots) is written to
 *    manifest.tmp, synced, renamed over `manifest`, and the directory synced —
 *    the rename is the commit point;
 * 4. `wal-<g>` is removed.
 *
 * A crash before 3 reopens at generation g and replays wal-<g>; after it,
 * at g+1 with an empty WAL. Either way, exactly the acknowledged batches.
 *
 * The content is captured when the call starts (`startCheckpoint`): the
 * manifest then, and the changed blocks pinned as a snapshot export pins
 * them — a later apply copies a pinned block before changing it. So with
 * walSync false (no WAL records to lose) batches may be applied while steps
 * 1–4 run (`state.background`); with walSync true the caller awaits it.
 */
export function checkpoint(state: StoreState): Promise<void> {
  return startCheckpoint(state)();
}

/**
 * Captures the store's content for a checkpoint, synchronously, and returns
 * the writing (steps 1–4) to run. The applied index, annex and slots are the
 * ones of the moment of the call.
 */
export function startCheckpoint(state: StoreState): () => Promise<void> {
  const changed: { layout: BlockLayout; block: Block }[] = [];
  const freeSlots = freeSlotsOf(state);
  for (const stream of state.streams.values()) {
    for (const block of streamBlocks(stream)) {
      if (!block.dirty) continue;
      const slot = freeSlots.next();
      assert(slot.done !== true, "free slots ran out");
      block.slot = slot.value;
      block.exports++;
      changed.push({ layout: stream.layout, block });
    }
  }
  const oldWal = state.wal;
  const manifest = currentManifest(state, oldWal.generation + 1);
  const pin = state.epoch;
  state.pins.push(pin);
  state.epoch++;
  state.unloggedBytes = 0;
  return async () => {
    try {
      await writeBlocks(state, changed);
      const wal = await createWal(state.fileSystem, state.directory, oldWal.generation + 1);
      await writeManifestFile(state.fileSystem, state.directory, manifest);
      state.wal = wal;
      state.durableSlots = new Set(manifest.streams.flatMap((stream) => stream.slots));
      // A block changed since the capture was copied first (it is `replaced`); its copy stays dirty.
      for (const { block } of changed) if (!block.replaced) block.dirty = false;
      await oldWal.file.close();
      await state.fileSystem.unlink(walPath(state.directory, oldWal.generation));
    } finally {
      const index = state.pins.indexOf(pin);
      if (index >= 0) state.pins.splice(index, 1);
      for (const { block } of changed) releaseExported(block);
    }
  };
}

/** Bytes of consecutive slots encoded before one write (fewer, larger writes). */
const WRITE_RUN_BYTES = 1024 * 1024;

/**
 * Bytes of blocks written between two fdatasyncs of the blocks file. With one
 * sync at the end, a checkpoint of tens to hundreds of MiB went to the disk's
 * queue all at once, and every durable write on the machine meanwhile (the
 * raft log's O_DSYNC entry writes, of this node and of the others sharing the
 * disk) waited behind all of it: 100-1,000 ms, the ack latency's worst steps
 * (docs/benchmarks.md, session 13, WRITES: a 200 MiB sync held a 32 KiB
 * O_DSYNC write for its whole 90-130 ms whether that write appended or
 * overwrote). A sync every few MiB bounds what such a write can queue behind.
 * Only the last sync is the checkpoint's durability point; the earlier ones
 * change nothing but when the bytes reach the disk.
 * @internal exported for the test that keeps the rule
 */
export const CHECKPOINT_SYNC_BYTES = 4 * 1024 * 1024;

/**
 * Writes the captured blocks to their slots. Blocks bound for consecutive
 * slots are encoded side by side into one buffer (reused) and written with
 * one call: one write per run of up to WRITE_RUN_BYTES instead of one per block;
 * fdatasync after every CHECKPOINT_SYNC_BYTES written, and at the end.
 */
async function writeBlocks(state: StoreState,
  changed: readonly { layout: BlockLayout; block: Block }[]): Promise<void> {
  const slotBytes = state.blockBytes;
  const runSlots = Math.max(1, Math.floor(WRITE_RUN_BYTES / slotBytes));
  let buffer: Uint8Array | undefined;
  let runStart = 0;
  let runCount = 0;
  let runEnd = 0;
  let unsyncedBytes = 0;
  const flush = async (): Promise<void> => {
    if (runCount === 0 || buffer === undefined) return;
    // The last slot only up to its block's end: the file ends where the old code ended it.
    await state.blocksFile.write([buffer.subarray(0, runEnd)], runStart * slotBytes);
    runCount = 0;
    unsyncedBytes += runEnd;
    if (unsyncedBytes >= CHECKPOINT_SYNC_BYTES) {
      await state.blocksFile.datasync();
      unsyncedBytes = 0;
    }
  };
  for (const { layout, block } of changed) {
    if (runCount > 0 && (block.slot !== runStart + runCount || runCount === runSlots)) await flush();
    if (runCount === 0) runStart = block.slot;
    buffer ??= new Uint8Array(runSlots * slotBytes);
    const at = runCount * slotBytes;
    const length = encodeBlockInto(layout, block, buffer.subarray(at, at + slotBytes));
    // A slot's bytes past its block: zero (no stale bytes of an earlier block in the file).
    buffer.fill(0, at + length, at + slotBytes);
    runEnd = at + length;
    runCount++;
  }
  await flush();
  if (unsyncedBytes > 0) await state.blocksFile.datasync();
}

/** Slots the durable manifest does not name, lowest first, then new ones at the end. */
function* freeSlotsOf(state: StoreState): Generator<number, never> {
  for (let slot = 0; slot < state.slotCount; slot++) {
    if (!state.durableSlots.has(slot)) yield slot;
  }
  for (;;) yield state.slotCount++;
}

export function currentManifest(state: StoreState, generation: number): Manifest {
  return {
    generation,
    blockBytes: state.blockBytes,
    appliedIndex: state.appliedIndex,
    annex: state.annex,
    slotCount: state.slotCount,
    streams: [...state.streams.values()].map((stream) => ({
      name: stream.name,
      schema: stream.schema,
      lateEventCount: stream.lateEventCount,
      blockSplitCount: stream.blockSplitCount,
      slots: [...streamBlocks(stream)].map((block) => block.slot),
    })),
  };
}
