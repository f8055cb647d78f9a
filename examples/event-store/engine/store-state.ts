import type { BlockCache } from "./block-cache.js";
import type { EventStoreError } from "./errors.js";
import type { EngineFile, EngineFileSystem } from "./file-system.js";
import type { Stream } from "./stream.js";
import type { WriteEpochs } from "./stream-insert.js";
import type { WalFile } from "./wal-file.js";

/**
 * Everything an open store holds. Owned by one EventStore object; the apply
 * path (batch check, apply, checkpoint) runs one call at a time.
 * @internal
 */
export interface StoreState {
  readonly fileSystem: EngineFileSystem;
  readonly directory: string;
  readonly blockBytes: number;
  readonly walCheckpointBytes: number;
  /** EventStoreOptions.walSync. */
  readonly walSync: boolean;
  /** In creation order (iteration order is part of the snapshot bytes). */
  readonly streams: Map<string, Stream>;
  appliedIndex: number;
  /**
   * Opaque bytes of the store's user (the replicated state machine keeps the
   * framework's session table here), durable with the batch that set them.
   */
  annex: Uint8Array;
  wal: WalFile;
  /**
   * walSync false: the bytes of the WAL records this store did not write
   * since the last checkpoint (it writes none); they count towards
   * walCheckpointBytes as written ones do.
   */
  unloggedBytes: number;
  /**
   * walSync false: the checkpoint writing in the background while batches
   * go on (checkpoint.ts), if any. It never rejects: a failure is recorded
   * in `failure`. Settled before the next checkpoint, a WAL write, and close.
   */
  background: Promise<void> | undefined;
  /** `background` is still writing (not yet committed or failed). */
  backgroundRunning: boolean;
  readonly blocksFile: EngineFile;
  /** Which blocks have their rows in memory (block-cache.ts). */
  readonly cache: BlockCache;
  /** Slots the blocks file has room for (it grows, never shrinks). */
  slotCount: number;
  /** Slots referenced by the durable manifest: never overwritten. */
  durableSlots: Set<number>;
  /** Snapshot epoch for new blocks; exports pin earlier epochs (copy-on-write). */
  epoch: number;
  /** Epochs pinned by running exports. */
  readonly pins: number[];
  /**
   * Set while a batch's inserts apply in slices (the tree is part way
   * through it between yields): exports called meanwhile, each run with the
   * batch's outcome (undefined: applied) once it ends, before the next batch.
   */
  exportsAfterApply: ((failure: unknown) => void)[] | undefined;
  /** Set when a write failed: the store refuses further writes until reopened. */
  failure: EventStoreError | undefined;
  closed: boolean;
}

export const BLOCKS_FILE = "blocks";
export const MANIFEST_FILE = "manifest";
export const MANIFEST_TEMPORARY_FILE = "manifest.tmp";

export function writeEpochs(state: StoreState): WriteEpochs {
  return { current: state.epoch, pinned: state.pins.length === 0 ? -1 : Math.max(...state.pins) };
}
