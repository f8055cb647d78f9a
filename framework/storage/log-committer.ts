import { AssertionError } from "../raft/index.js";
import { assert } from "./assert.js";
import type { EntryCache } from "./entry-cache.js";
import { StorageError, StorageErrorCode } from "./errors.js";
import type { FileSystem, StorageFile } from "./file-system.js";
import type { LogAppender } from "./log-appender.js";
import type { PendingCommit, PendingRecord } from "./pending-commit.js";
import { encodeRecordHeader } from "./record-frame.js";
import { joinPath, segmentFileName } from "./segment-name.js";

export interface CommitterContext {
  readonly fileSystem: FileSystem;
  readonly directory: string;
  readonly appender: LogAppender;
  readonly segments: Map<number, StorageFile>;
  readonly cache: EntryCache;
}

/**
 * Pipelined group commit. Two loops run side by side:
 *
 * - the write loop takes everything encoded so far as one commit and writes
 *   it (one writev at the segment's end), then takes the next one at once,
 *   without waiting for a sync: commit N+1 is written while N is synced;
 * - the sync loop runs one fdatasync at a time; a sync covers every commit
 *   whose write had finished when it started, and when it returns those
 *   commits resolve, in order. Several commits may share one sync.
 *
 * Nothing resolves before a sync that started after its write finished.
 * When the segment's file has a durable write (O_DSYNC: `writeDurable`) and
 * everything written before is durable, a commit is written with it instead
 * and resolves when that write returns: one thread-pool round trip per
 * commit instead of two (a follower's save is on every insert's ack path),
 * and the next commit is written after it. Plain writes and syncs are used
 * only while a sync is outstanding (a durable write makes only its own
 * bytes durable) or by file systems without durable writes.
 * A commit that starts a segment is a barrier: it waits until everything
 * before it is durable, then writes and syncs the old segment's part, creates
 * the new file, writes and syncs it, and syncs the directory.
 *
 * After a failed write or sync nothing more is written: the failing commits'
 * callers get the Io error, every later one gets Failed naming it (etcd
 * treats a WAL write error as fatal for the same reason: what reached the
 * disk is unknown). A sync already running when a write fails still resolves
 * the commits it covers: they are durable.
 * @internal
 */
export interface LogCommitter {
  /** Resolves once everything encoded so far is durable. */
  commitPending(): Promise<void>;
  /** The write error that stopped the store, if any. */
  readonly failure: StorageError | undefined;
  /** The newest commit known durable; entries of older commits may be read back from disk. */
  readonly durableCommit: number;
  /** Resolves when no commit is being written or synced. */
  idle(): Promise<void>;
}

interface CommitterState {
  failure: StorageError | undefined;
  /** Commits in [ioFrom, ioTo] failed themselves (Io); the rest after durableCommit get Failed. */
  ioFrom: number;
  ioTo: number;
  durableCommit: number;
  /** Newest commit whose write finished (commits are written in order). */
  writtenCommit: number;
  /** Taken commits not resolved or rejected yet, in order. */
  readonly unsettled: PendingCommit[];
  /** The segment the written, unsynced commits are in (a barrier drains them first). */
  syncFile: StorageFile | undefined;
  writing: Promise<void> | undefined;
  syncing: Promise<void> | undefined;
}

export function createLogCommitter(context: CommitterContext): LogCommitter {
  const firstDurable = context.appender.pending.commitNumber - 1;
  const state: CommitterState = {
    failure: undefined,
    ioFrom: 0,
    ioTo: 0,
    durableCommit: firstDurable,
    writtenCommit: firstDurable,
    unsettled: [],
    syncFile: undefined,
    writing: undefined,
    syncing: undefined,
  };
  const startSync = (): void => {
    if (state.syncing !== undefined) return;
    state.syncing = runSyncLoop(context, state).finally(() => {
      state.syncing = undefined;
      // A write that finished while the loop was ending found it still running: sync it now.
      if (state.failure === undefined && state.writtenCommit > state.durableCommit) startSync();
      settleFailure(context, state);
    });
  };
  const startWrite = (): void => {
    if (state.writing !== undefined) return;
    state.writing = runWriteLoop(context, state, startSync).finally(() => {
      state.writing = undefined;
      if (state.failure === undefined && context.appender.pending.waiters.length > 0) startWrite();
      settleFailure(context, state);
    });
  };
  return {
    commitPending(): Promise<void> {
      if (state.failure !== undefined) return Promise.reject(failedError(state.failure));
      const done = new Promise<void>((resolve, reject) => {
        context.appender.pending.waiters.push({ resolve, reject });
      });
      startWrite();
      return done;
    },
    get failure(): StorageError | undefined {
      return state.failure;
    },
    get durableCommit(): number {
      return state.durableCommit;
    },
    async idle(): Promise<void> {
      while (state.writing !== undefined || state.syncing !== undefined) {
        await (state.writing ?? state.syncing);
      }
    },
  };
}

/** Writes commits as they come, without waiting for their syncs (barriers excepted). */
async function runWriteLoop(
  context: CommitterContext,
  state: CommitterState,
  startSync: () => void,
): Promise<void> {
  while (state.failure === undefined && context.appender.pending.waiters.length > 0) {
    const commit = context.appender.takeCommit();
    state.unsettled.push(commit);
    const barrier = commit.records.some((record) => record.createsSegment);
    try {
      if (barrier) {
        // Everything written before must be durable first: the new segment's checkpoint
        // and the deletion of old segments rely on it.
        while (state.syncing !== undefined) await state.syncing;
        if (state.failure !== undefined) return;
        assert(
          state.durableCommit === commit.commitNumber - 1,
          () => `barrier ${commit.commitNumber} after durable ${state.durableCommit}`,
        );
        await writeCommitThrough(context, commit);
        await deleteDeadSegments(context, commit.deleteBelow);
        state.writtenCommit = commit.commitNumber;
        settleDurable(context, state, commit.commitNumber);
      } else if (await writeCommitDurably(context, state, commit)) {
        // Written with O_DSYNC after everything before was durable: durable now, no sync.
        state.writtenCommit = commit.commitNumber;
        settleDurable(context, state, commit.commitNumber);
      } else {
        state.syncFile = (await writeCommitRecords(context, commit)) ?? state.syncFile;
        state.writtenCommit = commit.commitNumber;
        startSync();
      }
    } catch (error) {
      // A broken invariant is never carried on from.
      if (error instanceof AssertionError) throw error;
      failAt(state, StorageError.from(error), commit.commitNumber, commit.commitNumber);
      return;
    }
  }
}

/** One fdatasync at a time, each covering every commit written before it started. */
async function runSyncLoop(context: CommitterContext, state: CommitterState): Promise<void> {
  while (state.failure === undefined && state.writtenCommit > state.durableCommit) {
    const target = state.writtenCommit;
    const file = state.syncFile;
    assert(file !== undefined, () => `commits up to ${target} written to no segment`);
    try {
      await file.datasync();
    } catch (error) {
      failAt(state, StorageError.from(error, file.path), state.durableCommit + 1, target);
      return;
    }
    settleDurable(context, state, target);
  }
}

function failAt(state: CommitterState, error: StorageError, from: number, to: number): void {
  if (state.failure !== undefined) return;
  state.failure = error;
  state.ioFrom = from;
  state.ioTo = to;
}

/** Resolves the commits up to `commitNumber`, in order: they are durable. */
function settleDurable(
  context: CommitterContext,
  state: CommitterState,
  commitNumber: number,
): void {
  assert(
    commitNumber >= state.durableCommit,
    () => `durable ${commitNumber} before ${state.durableCommit}`,
  );
  while (state.unsettled.length > 0 && state.unsettled[0]!.commitNumber <= commitNumber) {
    const commit = state.unsettled.shift()!;
    assert(
      commit.commitNumber === state.durableCommit + 1,
      () => `commit ${commit.commitNumber} after durable ${state.durableCommit}`,
    );
    state.durableCommit = commit.commitNumber;
    for (const waiter of commit.waiters) waiter.resolve();
  }
  context.cache.evict(state.durableCommit);
}

/** After a failure, once both loops stopped: rejects everything not durable, in order. */
function settleFailure(context: CommitterContext, state: CommitterState): void {
  const failure = state.failure;
  if (failure === undefined || state.writing !== undefined || state.syncing !== undefined) return;
  for (const commit of state.unsettled.splice(0)) {
    const own = commit.commitNumber >= state.ioFrom && commit.commitNumber <= state.ioTo;
    for (const waiter of commit.waiters) waiter.reject(own ? failure : failedError(failure));
  }
  for (const waiter of context.appender.pending.waiters.splice(0)) {
    waiter.reject(failedError(failure));
  }
}

export function failedError(cause: StorageError): StorageError {
  return new StorageError(
    StorageErrorCode.Failed,
    `log store refuses writes after an earlier write failure: ${cause.message}`,
    { cause, ...(cause.file === undefined ? {} : { file: cause.file }) },
  );
}

/**
 * Writes a commit that stays in the current segment with the file's durable
 * write (O_DSYNC), if it has one and nothing written before is waiting for a
 * sync: a durable write makes only its own bytes durable. Returns false,
 * having written nothing, when that does not hold (the caller writes and
 * syncs as usual). One thread-pool round trip per save instead of two.
 */
async function writeCommitDurably(
  context: CommitterContext,
  state: CommitterState,
  commit: PendingCommit,
): Promise<boolean> {
  const first = commit.records[0];
  if (first === undefined) return false;
  const file = context.segments.get(first.segment);
  assert(file !== undefined, () => `segment ${first.segment} is not open`);
  const writeDurable = file.writeDurable?.bind(file);
  if (
    writeDurable === undefined ||
    state.syncing !== undefined ||
    state.writtenCommit !== state.durableCommit
  ) {
    return false;
  }
  await writeRecords(file, commit.records, first.position, writeDurable);
  return true;
}

/**
 * Writes a commit that stays in the current segment (no sync); returns its
 * file, or undefined if the commit has no record.
 */
async function writeCommitRecords(
  context: CommitterContext,
  commit: PendingCommit,
): Promise<StorageFile | undefined> {
  const first = commit.records[0];
  if (first === undefined) return undefined;
  const file = context.segments.get(first.segment);
  assert(file !== undefined, () => `segment ${first.segment} is not open`);
  await writeRecords(file, commit.records, first.position);
  return file;
}

/** Writes `records` (contiguous, one segment) with one writev, then frees their scratch. */
async function writeRecords(
  file: StorageFile,
  records: readonly PendingRecord[],
  position: number,
  write: (buffers: readonly Uint8Array[], position: number) => Promise<void> = (buffers, at) =>
    file.write(buffers, at),
): Promise<void> {
  const buffers: Uint8Array[] = [];
  for (const record of records) {
    assert(record.segment === records[0]!.segment, () => `records of two segments in one write`);
    const payload = record.writer.finish();
    buffers.push(encodeRecordHeader(payload, record.writer.length), ...payload);
  }
  try {
    await write(buffers, position);
  } catch (error) {
    throw StorageError.from(error, file.path);
  }
  for (const record of records) record.writer.release();
}

/**
 * A commit that starts a segment, once everything before it is durable: per
 * segment touched one writev and one fdatasync, then a directory fsync.
 */
async function writeCommitThrough(context: CommitterContext, commit: PendingCommit): Promise<void> {
  let index = 0;
  while (index < commit.records.length) {
    const first = commit.records[index]!;
    const run: PendingRecord[] = [];
    while (index < commit.records.length && commit.records[index]!.segment === first.segment) {
      run.push(commit.records[index]!);
      index++;
    }
    const file = await segmentFile(context, first);
    await writeRecords(file, run, first.position);
    try {
      await file.datasync();
    } catch (error) {
      throw StorageError.from(error, file.path);
    }
  }
  await context.fileSystem.syncDirectory(context.directory);
}

async function segmentFile(context: CommitterContext, record: PendingRecord): Promise<StorageFile> {
  const existing = context.segments.get(record.segment);
  if (!record.createsSegment) {
    assert(existing !== undefined, () => `segment ${record.segment} is not open`);
    return existing;
  }
  assert(existing === undefined, () => `segment ${record.segment} already exists`);
  const path = joinPath(context.directory, segmentFileName(record.segment));
  try {
    const file = await context.fileSystem.open(path, "create");
    context.segments.set(record.segment, file);
    return file;
  } catch (error) {
    throw StorageError.from(error, path);
  }
}

async function deleteDeadSegments(context: CommitterContext, deleteBelow: number): Promise<void> {
  const dead = [...context.segments.keys()].filter((sequence) => sequence < deleteBelow);
  if (dead.length === 0) return;
  dead.sort((a, b) => a - b);
  for (const sequence of dead) {
    const file = context.segments.get(sequence)!;
    context.segments.delete(sequence);
    await file.close();
    await context.fileSystem.unlink(file.path);
  }
  await context.fileSystem.syncDirectory(context.directory);
}
