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
 * Group commit: while one commit is being written and synced, every save
 * that arrives is encoded into the next one; when the write finishes, the
 * next commit takes all of them at once. One commit is one writev and one
 * fdatasync (plus a directory fsync when it created a segment).
 *
 * After a failed write nothing more is written: the failing commit's callers
 * get the Io error, everyone after gets Failed naming it (etcd treats a WAL
 * write error as fatal for the same reason: what reached the disk is unknown).
 * @internal
 */
export interface LogCommitter {
  /** Resolves once everything encoded so far is durable. */
  commitPending(): Promise<void>;
  /** The write error that stopped the store, if any. */
  readonly failure: StorageError | undefined;
  /** The newest commit known durable; entries of older commits may be read back from disk. */
  readonly durableCommit: number;
  /** Resolves when no commit is being written. */
  idle(): Promise<void>;
}

export function createLogCommitter(context: CommitterContext): LogCommitter {
  let failure: StorageError | undefined;
  let durableCommit = context.appender.pending.commitNumber - 1;
  let running: Promise<void> | undefined;

  const fail = (error: StorageError, commit: PendingCommit): void => {
    failure = error;
    for (const waiter of commit.waiters) waiter.reject(error);
    const next = context.appender.pending;
    for (const waiter of next.waiters.splice(0)) waiter.reject(failedError(error));
  };
  const run = async (): Promise<void> => {
    while (context.appender.pending.waiters.length > 0) {
      const commit = context.appender.takeCommit();
      try {
        await writeCommit(context, commit);
        await deleteDeadSegments(context, commit.deleteBelow);
      } catch (error) {
        fail(StorageError.from(error), commit);
        return;
      }
      assert(
        commit.commitNumber === durableCommit + 1,
        () => `commit ${commit.commitNumber} after durable ${durableCommit}`,
      );
      durableCommit = commit.commitNumber;
      context.cache.evict(durableCommit);
      for (const waiter of commit.waiters) waiter.resolve();
    }
  };
  const start = (): void => {
    if (running !== undefined) return;
    running = run().finally(() => {
      running = undefined;
      if (failure === undefined && context.appender.pending.waiters.length > 0) start();
    });
  };
  return {
    commitPending(): Promise<void> {
      if (failure !== undefined) return Promise.reject(failedError(failure));
      const done = new Promise<void>((resolve, reject) => {
        context.appender.pending.waiters.push({ resolve, reject });
      });
      start();
      return done;
    },
    get failure(): StorageError | undefined {
      return failure;
    },
    get durableCommit(): number {
      return durableCommit;
    },
    async idle(): Promise<void> {
      while (running !== undefined) await running;
    },
  };
}

export function failedError(cause: StorageError): StorageError {
  return new StorageError(
    StorageErrorCode.Failed,
    `log store refuses writes after an earlier write failure: ${cause.message}`,
    { cause, ...(cause.file === undefined ? {} : { file: cause.file }) },
  );
}

/** Writes the commit's records, one writev and one fdatasync per segment touched. */
async function writeCommit(context: CommitterContext, commit: PendingCommit): Promise<void> {
  let createdSegment = false;
  let index = 0;
  while (index < commit.records.length) {
    const first = commit.records[index]!;
    const run: PendingRecord[] = [];
    while (index < commit.records.length && commit.records[index]!.segment === first.segment) {
      run.push(commit.records[index]!);
      index++;
    }
    const file = await segmentFile(context, first);
    createdSegment ||= first.createsSegment;
    const buffers: Uint8Array[] = [];
    for (const record of run) {
      const payload = record.writer.finish();
      buffers.push(encodeRecordHeader(payload, record.writer.length), ...payload);
    }
    try {
      await file.write(buffers, first.position);
      await file.datasync();
    } catch (error) {
      throw StorageError.from(error, file.path);
    }
  }
  if (createdSegment) await context.fileSystem.syncDirectory(context.directory);
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
