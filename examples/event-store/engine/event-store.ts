import type { ApplySlices } from "./apply-operations.js";
import type { BlockCacheStatistics } from "./block-cache.js";
import { BLOCK_BYTES_MAX, BLOCK_BYTES_MIN } from "./block-layout.js";
import { EventStoreError, EventStoreErrorCode } from "./errors.js";
import { createEventStore } from "./event-store-object.js";
import type { EngineFileSystem } from "./file-system.js";
import type { EventRow, Operation } from "./operation.js";
import type { TimeRange } from "./query-options.js";
import type { RangeAggregate } from "./range-aggregate.js";
import type { ScanOptions, ScanResult } from "./range-scan.js";
import { importSnapshotFiles } from "./snapshot-import.js";
import { openStoreState } from "./store-open.js";
import type { StreamStatistics } from "./stream-query.js";
import type { WindowOptions, WindowResult } from "./window-aggregate.js";

export interface EventStoreOptions {
  readonly fileSystem: EngineFileSystem;
  readonly directory: string;
  /** Slot size of a new store, a multiple of 8; default 32 KiB. An existing store keeps its own. */
  readonly blockBytes?: number;
  /** WAL size that triggers a checkpoint after a batch; default 64 MiB. */
  readonly walCheckpointBytes?: number;
  /**
   * Default true: every batch is written to the WAL and fdatasync'ed before
   * applyBatch resolves.
   * False: for a user that can replay batches from a durable log of its own
   * (a raft state machine: the raft log holds every entry above the
   * store's durable index, or the host restores a snapshot). Batches are
   * then not written to the WAL at all (the raft log already holds them; an
   * unsynced record would only shorten the replay after a process crash) and
   * are durable only at checkpoints, which still run every
   * `walCheckpointBytes` of would-be WAL records: after any crash the store
   * reopens at its last checkpoint. Exception: an empty batch that sets the
   * annex at the current index (no log replays it) runs a checkpoint at once.
   * Open cuts a WAL left by an earlier unsynced store at its first damaged
   * record instead of reporting corruption.
   */
  readonly walSync?: boolean;
  /**
   * Inserts of a batch are applied `rows` at a time, awaiting `yieldNow`
   * between slices (a node process passes a macrotask yield: its timers and
   * sockets run meanwhile). Default: a batch is applied in one synchronous
   * pass. With slices, a query made while applyBatch is pending may see part
   * of that batch — the replicated state machine never does (the host runs
   * applies and queries one at a time).
   */
  readonly applySlices?: ApplySlices;
  /**
   * Memory budget in bytes for block rows kept in memory (default 256 MiB;
   * 0 keeps none beyond the current call). Clean blocks beyond it are evicted,
   * least recently used first, and read back from the blocks file when a
   * query or insert needs them; blocks changed since the last checkpoint stay
   * until it (a checkpoint also runs when they alone exceed the budget).
   * The index (a summary per block) stays in memory whatever the budget.
   */
  readonly cacheBytes?: number;
}

/**
 * A local, durable, time-indexed event store (see docs/event-store.md).
 * Writes go through `applyBatch` only, one at a time in call order; queries
 * are synchronous and see every batch whose promise has resolved.
 */
export interface EventStore {
  /** The applied index of the last durable batch (0 for a new store). */
  appliedIndex(): number;
  /**
   * Applies `operations` and records `appliedIndex` with them in one atomic,
   * durable step (one WAL record, fdatasync'ed before the promise resolves).
   * The whole batch is checked first: on an error nothing changes. To move
   * the applied index past a batch that was rejected, apply `[]` with it.
   * With `annex`, the store's annex becomes those bytes in the same step; an
   * empty batch with an annex may also repeat the current applied index.
   * The operations' arrays (timestamps, columns) are read only until the
   * returned promise settles: the store copies their values into its blocks
   * (and its WAL record) and keeps no reference to them, so a caller may
   * reuse or overwrite that memory afterwards (the event store's apply
   * decodes each Insert into reused memory). Kept by
   * test/unit/event-store/engine-apply-arrays.test.ts.
   */
  applyBatch(operations: readonly Operation[], appliedIndex: number,
    annex?: Uint8Array): Promise<void>;
  /**
   * Opaque bytes kept with the data: the last annex given to applyBatch
   * (empty for a new store or one imported from a snapshot).
   */
  annex(): Uint8Array;
  /** Checks a batch as `applyBatch` would, without applying it (for a leader's buffer). */
  checkBatch(operations: readonly Operation[]): void;
  streamNames(): string[];
  scan(stream: string, options?: ScanOptions): ScanResult;
  aggregate(stream: string, range?: TimeRange): RangeAggregate;
  windows(stream: string, options: WindowOptions): WindowResult;
  latest(stream: string): EventRow | undefined;
  statistics(stream: string): StreamStatistics;
  /** What the block cache holds: resident vs stored blocks, loads, evictions. */
  cacheStatistics(): BlockCacheStatistics;
  /** The content now, as chunks; see snapshot-export.ts. */
  exportSnapshot(): AsyncIterable<Uint8Array>;
  /** Writes changed blocks and starts a new WAL (also done when the WAL grows past its limit). */
  checkpoint(): Promise<void>;
  /** Checks every index invariant against the rows (O(n)); throws AssertionError. */
  checkIntegrity(): void;
  close(): Promise<void>;
}

export const BLOCK_BYTES_DEFAULT = 32 * 1024;
export const WAL_CHECKPOINT_BYTES_DEFAULT = 64 * 1024 * 1024;
export const CACHE_BYTES_DEFAULT = 256 * 1024 * 1024;

export async function openEventStore(options: EventStoreOptions): Promise<EventStore> {
  const blockBytes = options.blockBytes ?? BLOCK_BYTES_DEFAULT;
  if (!Number.isInteger(blockBytes) || blockBytes % 8 !== 0 || blockBytes < BLOCK_BYTES_MIN ||
    blockBytes > BLOCK_BYTES_MAX) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument, `blockBytes = ${blockBytes}, ` +
      `allowed multiples of 8 in [${BLOCK_BYTES_MIN}, ${BLOCK_BYTES_MAX}]`);
  }
  const walCheckpointBytes = options.walCheckpointBytes ?? WAL_CHECKPOINT_BYTES_DEFAULT;
  if (!Number.isSafeInteger(walCheckpointBytes) || walCheckpointBytes < 1) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
      `walCheckpointBytes = ${walCheckpointBytes}, allowed a positive integer`);
  }
  const cacheBytes = options.cacheBytes ?? CACHE_BYTES_DEFAULT;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
      `cacheBytes = ${cacheBytes}, allowed a non-negative integer`);
  }
  const slices = options.applySlices;
  if (slices !== undefined && !(Number.isSafeInteger(slices.rows) && slices.rows >= 1)) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
      `applySlices.rows = ${slices.rows}, allowed a positive integer`);
  }
  const state = await openStoreState({ fileSystem: options.fileSystem,
    directory: options.directory, blockBytes, walCheckpointBytes,
    walSync: options.walSync !== false, cacheBytes }).catch((error: unknown) => {
    throw EventStoreError.from(error);
  });
  return createEventStore(state, slices);
}

/** Builds a new store in `options.directory` (empty) from a snapshot stream, then opens it. */
export async function importEventStore(options: EventStoreOptions,
  chunks: AsyncIterable<Uint8Array>): Promise<EventStore> {
  await importSnapshotFiles(options.fileSystem, options.directory, chunks)
    .catch((error: unknown) => {
      throw EventStoreError.from(error);
    });
  return openEventStore(options);
}
