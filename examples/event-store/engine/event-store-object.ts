import { applyOperations, applyOperationsInSlices, type ApplySlices } from "./apply-operations.js";
import { checkBatch } from "./batch-check.js";
import { dirtyBlockCount, enforceBudget } from "./block-cache.js";
import type { CheckedOperation } from "./checked-operation.js";
import { checkpoint, startCheckpoint } from "./checkpoint.js";
import { EventStoreError, EventStoreErrorCode } from "./errors.js";
import type { EventStore } from "./event-store.js";
import type { Operation } from "./operation.js";
import { checkRange } from "./query-options.js";
import { summarizeRange, toRangeAggregate } from "./range-aggregate.js";
import { scanStream } from "./range-scan.js";
import { exportSnapshot } from "./snapshot-export.js";
import { writeEpochs, type StoreState } from "./store-state.js";
import type { Stream } from "./stream.js";
import { latestEvent, streamStatistics } from "./stream-query.js";
import { checkTree } from "./tree-check.js";
import { encodeWalRecord, walRecordBytes } from "./wal-codec.js";
import { appendWal } from "./wal-file.js";
import { aggregateWindows } from "./window-aggregate.js";

/** The EventStore over an opened state. @internal */
export function createEventStore(state: StoreState, slices?: ApplySlices): EventStore {
  let tail: Promise<void> = Promise.resolve();
  const serialize = (work: () => Promise<void>): Promise<void> => {
    const run = tail.then(work);
    tail = run.catch(() => undefined);
    return run;
  };
  // Eviction runs between calls: a query's positions and rows stay put while it runs.
  const query = <T>(run: () => T): T => {
    try {
      return run();
    } finally {
      if (!state.closed) enforceBudget(state.cache);
    }
  };
  const stream = (name: string): Stream => {
    if (state.closed) throw new EventStoreError(EventStoreErrorCode.Closed, "store is closed");
    const found = state.streams.get(name);
    if (found === undefined) {
      throw new EventStoreError(EventStoreErrorCode.UnknownStream, `no stream '${name}'`);
    }
    return found;
  };
  return {
    appliedIndex: () => state.appliedIndex,
    applyBatch: (operations, appliedIndex, annex) =>
      serialize(() => applyBatchNow(state, operations, appliedIndex, annex, slices)),
    annex: () => state.annex,
    checkBatch: (operations) => {
      checkBatch(state.streams, state.blockBytes, operations);
    },
    streamNames: () => [...state.streams.keys()],
    scan: (name, options = {}) => query(() => scanStream(stream(name), options)),
    aggregate: (name, range = {}) => query(() => {
      const found = stream(name);
      const { from, to } = checkRange(range);
      return toRangeAggregate(found.layout, summarizeRange(found.layout, found.tree, from, to));
    }),
    windows: (name, options) => query(() => aggregateWindows(stream(name), options)),
    latest: (name) => query(() => latestEvent(stream(name))),
    statistics: (name) => streamStatistics(stream(name)),
    cacheStatistics: () => {
      let storedBlocks = 0;
      for (const found of state.streams.values()) storedBlocks += found.blockCount;
      return {
        budgetBytes: state.cache.budgetBytes, residentBlocks: state.cache.resident.size,
        residentBytes: state.cache.residentBytes, dirtyBlocks: dirtyBlockCount(state.cache),
        storedBlocks, loads: state.cache.loads, evictions: state.cache.evictions,
      };
    },
    exportSnapshot: () => {
      checkWritable(state, false);
      const snapshot = state.exportsAfterApply === undefined ? exportSnapshot(state) : exportAfterApply(state);
      if (!state.walSync) {
        // A raft host compacts its log after saving the snapshot; a checkpoint now keeps the
        // store's durable index close to it, so a crash replays the log rather than restoring
        // the whole snapshot. After the batches already queued; in the background.
        void serialize(async () => {
          if (!state.closed && state.failure === undefined && !state.backgroundRunning &&
            state.unloggedBytes > 0) startBackground(state);
        }).catch(() => undefined);
      }
      return snapshot;
    },
    checkpoint: () => serialize(async () => {
      await settleBackground(state);
      await guardWrite(state, () => checkpointAndEvict(state));
    }),
    checkIntegrity: () => query(() => {
      for (const found of state.streams.values()) checkTree(found.layout, found.tree);
    }),
    close: () => serialize(async () => {
      if (state.closed) return;
      await settleBackground(state).catch(() => undefined); // a failure: closed without a checkpoint
      if (state.failure === undefined) await guardWrite(state, () => checkpoint(state));
      state.closed = true;
      await state.wal.file.close();
      await state.blocksFile.close();
    }),
  };
}

function checkWritable(state: StoreState, forWrite: boolean): void {
  if (state.closed) throw new EventStoreError(EventStoreErrorCode.Closed, "store is closed");
  if (forWrite && state.failure !== undefined) {
    throw new EventStoreError(EventStoreErrorCode.Failed,
      `an earlier write failed (${state.failure.message}); reopen the store`,
      { cause: state.failure });
  }
}

/**
 * An export called while a batch applies in slices: the content once that
 * batch has applied (before any later one), taken then; the iteration waits
 * for it. If the batch fails part way, iterating throws its error.
 */
function exportAfterApply(state: StoreState): AsyncIterable<Uint8Array> {
  let taken: AsyncIterable<Uint8Array> | undefined;
  let failure: unknown;
  const ready = new Promise<void>((resolve) => {
    state.exportsAfterApply!.push((batchFailure) => {
      if (batchFailure !== undefined) failure = batchFailure;
      else {
        try {
          taken = exportSnapshot(state);
        } catch (error) {
          failure = error;
        }
      }
      resolve();
    });
  });
  let started = false;
  return {
    [Symbol.asyncIterator]: () => {
      if (started) {
        throw new EventStoreError(EventStoreErrorCode.InvalidArgument, "a snapshot export can be iterated once");
      }
      started = true;
      return (async function* chunks(): AsyncGenerator<Uint8Array> {
        await ready;
        if (taken === undefined) {
          throw EventStoreError.from(failure ?? new Error("the batch applying at the export did not complete"));
        }
        yield* taken;
      })();
    },
  };
}

/** Runs a disk write; a failure marks the store failed (memory may be ahead of disk). */
async function guardWrite(state: StoreState, write: () => Promise<void>): Promise<void> {
  checkWritable(state, true);
  try {
    await write();
  } catch (error) {
    state.failure = EventStoreError.from(error);
    throw state.failure;
  }
}

async function applyBatchNow(state: StoreState, operations: readonly Operation[],
  appliedIndex: number, annex: Uint8Array | undefined, slices: ApplySlices | undefined): Promise<void> {
  checkWritable(state, true);
  // An annex alone may be written at the current index (after a snapshot import).
  const annexOnly = operations.length === 0 && annex !== undefined &&
    appliedIndex === state.appliedIndex;
  if (!Number.isSafeInteger(appliedIndex) || (appliedIndex <= state.appliedIndex && !annexOnly)) {
    throw new EventStoreError(EventStoreErrorCode.StaleBatch, `applied index ${appliedIndex}, ` +
      `expected an integer above ${state.appliedIndex}`);
  }
  const checked = checkBatch(state.streams, state.blockBytes, operations);
  // A large batch: its check, its WAL record's encoding and its inserts run in turns of their own.
  const yieldBetween = slices !== undefined && insertedRows(checked) > slices.rows;
  if (yieldBetween) await slices.yieldNow();
  if (state.walSync) {
    const record = encodeWalRecord(state.wal.generation, appliedIndex, checked, annex);
    if (yieldBetween) await slices.yieldNow();
    await guardWrite(state, () => appendWal(state.wal, record, true));
  } else if (!annexOnly) {
    // No WAL record: unsynced, it would survive only a process crash, and the user replays
    // batches above the last checkpoint from a durable log of its own (walSync's contract).
    state.unloggedBytes += walRecordBytes(checked, annex);
  }
  if (slices === undefined) {
    applyOperations(state.streams, state.blockBytes, checked, writeEpochs(state), state.cache);
    state.appliedIndex = appliedIndex;
    if (annex !== undefined) state.annex = new Uint8Array(annex); // a copy (a Buffer's slice is a view)
  } else {
    // Between its slices the tree is part way through the batch: an export called then is taken
    // when the batch ends (exportAfterApply), not of the rows applied so far under the previous index.
    const exports: ((failure: unknown) => void)[] = [];
    state.exportsAfterApply = exports;
    try {
      await applyOperationsInSlices(state.streams, state.blockBytes, checked, writeEpochs(state),
        state.cache, slices);
    } catch (error) {
      state.exportsAfterApply = undefined;
      for (const take of exports) take(error);
      throw error;
    }
    state.appliedIndex = appliedIndex;
    if (annex !== undefined) state.annex = new Uint8Array(annex); // a copy (a Buffer's slice is a view)
    state.exportsAfterApply = undefined;
    for (const take of exports) take(undefined);
  }
  if (annexOnly && !state.walSync) {
    // An annex alone at the current index: no log of the user's replays it (it moves no
    // index), so it is made durable at once — by a checkpoint, not a WAL record (a record
    // at this index would claim, on replay, the unlogged batches below it).
    await settleBackground(state);
    await guardWrite(state, () => checkpointAndEvict(state));
    return;
  }
  // Dirty blocks alone over the budget: a checkpoint makes them evictable.
  const needsCheckpoint = enforceBudget(state.cache);
  if (state.wal.size + state.unloggedBytes >= state.walCheckpointBytes || needsCheckpoint) {
    if (state.walSync) {
      await guardWrite(state, () => checkpointAndEvict(state));
    } else {
      // No WAL records to lose: the checkpoint's writes and syncs go on while later batches
      // apply (issue #8: a 64 MiB checkpoint stalled every replica's apply for 0.4-1.1 s).
      // A running one is waited for: not only a bound on dirty memory and replay length — a
      // caller whose loop never yields to I/O (these batches do none) lets it progress here.
      await settleBackground(state);
      startBackground(state);
    }
  }
}

/** Starts a checkpoint of the content now whose writing runs in the background (walSync false). */
function startBackground(state: StoreState): void {
  checkWritable(state, true);
  let write: () => Promise<void>;
  try {
    write = startCheckpoint(state);
  } catch (error) {
    state.failure = EventStoreError.from(error);
    throw state.failure;
  }
  state.backgroundRunning = true;
  state.background = write().then(() => {
    state.backgroundRunning = false;
    if (!state.closed) enforceBudget(state.cache);
  }, (error: unknown) => {
    state.backgroundRunning = false;
    state.failure = EventStoreError.from(error);
  });
}

/** Waits for a background checkpoint; throws if it (or an earlier write) failed. */
async function settleBackground(state: StoreState): Promise<void> {
  if (state.background === undefined) return;
  await state.background;
  state.background = undefined;
  checkWritable(state, true);
}

async function checkpointAndEvict(state: StoreState): Promise<void> {
  await checkpoint(state);
  enforceBudget(state.cache);
}

function insertedRows(operations: readonly CheckedOperation[]): number {
  let rows = 0;
  for (const operation of operations) if (operation.kind === "insert") rows += operation.source.count;
  return rows;
}
