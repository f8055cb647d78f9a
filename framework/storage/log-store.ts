import type { Entry, RaftStorage } from "../raft/index.js";
import { assert } from "./assert.js";
import { createEntryCache } from "./entry-cache.js";
import type { EntryCache } from "./entry-cache.js";
import { StorageError, StorageErrorCode } from "./errors.js";
import type { FileSystem, StorageFile } from "./file-system.js";
import type { GroupLog } from "./group-log.js";
import {
  applySnapshotToLog,
  checkCompact,
  checkUpdate,
  compactLog,
  createGroupLog,
  setHardState,
  truncateLogFrom,
} from "./group-log.js";
import { createGroupStorageView } from "./group-storage-view.js";
import type { LogAppender } from "./log-appender.js";
import { createLogAppender } from "./log-appender.js";
import type { LogCommitter } from "./log-committer.js";
import type { PendingRecord } from "./pending-commit.js";
import { createLogCommitter, failedError } from "./log-committer.js";
import type { LogUpdate } from "./log-update.js";
import {
  checkGroupId,
  checkUpdateShape,
  estimateUpdateBytes,
  invalidArgument,
} from "./log-update.js";
import type { StorageLogger } from "./logger.js";
import { silentStorageLogger } from "./logger.js";
import { createNodeFileSystem } from "./node-file-system.js";
import {
  encodeCompactOperation,
  encodeEntriesOperation,
  encodeHardStateOperation,
  encodeRemoveGroupOperation,
  encodeSnapshotOperation,
  entryFieldBytes,
} from "./record-codec.js";
import { recordHeaderBytes } from "./record-frame.js";
import { recoverLog } from "./recovery.js";
import { parseSegmentFileName } from "./segment-name.js";

export interface LogStoreOptions {
  /** Directory of the segment files; created if missing. */
  readonly directory: string;
  readonly fileSystem?: FileSystem;
  readonly logger?: StorageLogger;
  /** Segment size at which a new segment is started. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Entry data kept in memory for reads, across all groups. Default 64 MiB. */
  readonly cacheBytes?: number;
  /** Largest record; one save must fit in one. Default 512 MiB. */
  readonly maxRecordBytes?: number;
}

/**
 * The durable raft log of every group on a host (see docs/storage.md). Writes
 * are asynchronous, batched and pipelined: a call may be made while earlier
 * ones are still in flight; everything that arrives while a commit is being
 * written goes into the next one, which is written while the previous one is
 * fdatasync'd; promises resolve in call order, each only once durable. Reads
 * (`storage(groupId)`) are synchronous and see every call made so far,
 * durable or not yet.
 */
export interface LogStore {
  /** Persists the updates (distinct groups); resolves once they are durable. */
  save(updates: readonly LogUpdate[]): Promise<void>;
  /**
   * Applies the updates like `save`, in call order with every other call,
   * without asking for durability (etcd's `Ready.MustSync` false): they are
   * encoded into the commit being gathered and written only with it — when a
   * later `save`, `compact`, `removeGroup`, `flush` or `close` asks for that
   * commit —, so they never form a write of their own and never leave a hole
   * before a later durable write (a crash keeps a prefix of the calls made).
   * A crash before then loses them. For what a raft replica may learn again
   * after a crash: a hard state whose only change is the commit index.
   * Checks like `save` (a bad update throws and changes nothing); a write
   * failure shows in the later call that writes them.
   */
  saveUnsynced(updates: readonly LogUpdate[]): void;
  /** Resolves once every call made so far (`saveUnsynced` included) is durable. */
  flush(): Promise<void>;
  /** Discards a group's entries up to `index` (MemoryStorage.compact); durable on resolve. */
  compact(groupId: number, index: number): Promise<void>;
  /** Forgets a group entirely; durable on resolve. */
  removeGroup(groupId: number): Promise<void>;
  /** The group's raft storage: live, synchronous. An unknown group reads as empty. */
  storage(groupId: number): RaftStorage;
  /** Ids of the groups with any state, ascending. */
  groupIds(): number[];
  /** Waits for commits in flight and closes the files; later calls fail with Closed. */
  close(): Promise<void>;
  /** The write error that stopped the store, if one did. */
  readonly failure: StorageError | undefined;
}

const defaultSegmentBytes = 64 * 1024 * 1024;
const defaultCacheBytes = 64 * 1024 * 1024;
const defaultMaxRecordBytes = 512 * 1024 * 1024;

/** Opens the log in `options.directory`, recovering what is there, or starts an empty one. */
export async function openLogStore(options: LogStoreOptions): Promise<LogStore> {
  const limits = checkOptions(options);
  const fileSystem = options.fileSystem ?? createNodeFileSystem();
  const cache = createEntryCache(limits.cacheBytes);
  const recovered = await recoverLog({
    fileSystem,
    directory: options.directory,
    logger: options.logger ?? silentStorageLogger,
    maxRecordBytes: limits.maxRecordBytes,
    cache,
  });
  const appender = createLogAppender(recovered.groups, limits, recovered.lastSequence, 1);
  const committer = createLogCommitter({
    fileSystem,
    directory: options.directory,
    appender,
    segments: recovered.segments,
    cache,
  });
  try {
    await committer.commitPending(); // the new segment's header
  } catch (error) {
    for (const file of recovered.segments.values()) await file.close();
    throw error;
  }
  return createStore({
    groups: recovered.groups,
    segments: recovered.segments,
    cache,
    appender,
    committer,
    maxRecordBytes: limits.maxRecordBytes,
    saveCount: 0,
  });
}

/** Like openLogStore, but the directory must not hold a log yet. */
export async function createLogStore(options: LogStoreOptions): Promise<LogStore> {
  const fileSystem = options.fileSystem ?? createNodeFileSystem();
  await fileSystem.mkdir(options.directory);
  const existing = (await fileSystem.readdir(options.directory)).filter(
    (name) => parseSegmentFileName(name) !== undefined,
  );
  if (existing.length > 0) {
    throw invalidArgument(`${options.directory} already holds a log (${existing.length} segments)`);
  }
  return openLogStore({ ...options, fileSystem });
}

function checkOptions(options: LogStoreOptions): {
  segmentBytes: number;
  cacheBytes: number;
  maxRecordBytes: number;
} {
  const segmentBytes = options.segmentBytes ?? defaultSegmentBytes;
  const cacheBytes = options.cacheBytes ?? defaultCacheBytes;
  const maxRecordBytes = options.maxRecordBytes ?? defaultMaxRecordBytes;
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 4096) {
    throw invalidArgument(`segmentBytes = ${segmentBytes}, allowed ≥ 4096`);
  }
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
    throw invalidArgument(`cacheBytes = ${cacheBytes}, allowed ≥ 0`);
  }
  if (
    !Number.isSafeInteger(maxRecordBytes) ||
    maxRecordBytes < 4096 ||
    maxRecordBytes > 0xffff_ffff
  ) {
    throw invalidArgument(`maxRecordBytes = ${maxRecordBytes}, allowed 4096..2^32-1`);
  }
  return { segmentBytes, cacheBytes, maxRecordBytes };
}

interface StoreParts {
  readonly groups: Map<number, GroupLog>;
  readonly segments: Map<number, StorageFile>;
  readonly cache: EntryCache;
  readonly appender: LogAppender;
  readonly committer: LogCommitter;
  readonly maxRecordBytes: number;
  /** Numbers the saves, to find a group named twice in one (GroupLog.saveNumber). */
  saveCount: number;
}

function createStore(parts: StoreParts): LogStore {
  const { groups, appender, committer } = parts;
  let closed = false;
  const writable = (): void => {
    if (closed) throw new StorageError(StorageErrorCode.Closed, "log store is closed");
    if (committer.failure !== undefined) throw failedError(committer.failure);
  };
  const readData = (log: GroupLog, row: number): Uint8Array => readEntryData(parts, log, row);
  const lookup = (groupId: number): GroupLog | undefined => groups.get(groupId);
  return {
    save(updates: readonly LogUpdate[]): Promise<void> {
      try {
        writable();
        encodeSave(parts, updates);
      } catch (error) {
        return Promise.reject(error);
      }
      return committer.commitPending();
    },
    saveUnsynced(updates: readonly LogUpdate[]): void {
      writable();
      encodeSave(parts, updates);
    },
    flush(): Promise<void> {
      try {
        writable();
        appender.recordFor(0); // an empty record if nothing is gathered: the commit has one
      } catch (error) {
        return Promise.reject(error);
      }
      return committer.commitPending();
    },
    compact(groupId: number, index: number): Promise<void> {
      try {
        writable();
        const log = existingGroup(groups, groupId);
        const term = checkCompact(log, index);
        encodeCompactOperation(appender.recordFor(64).writer, groupId, index, term);
        compactLog(log, index, term);
      } catch (error) {
        return Promise.reject(error);
      }
      return committer.commitPending();
    },
    removeGroup(groupId: number): Promise<void> {
      try {
        writable();
        existingGroup(groups, groupId);
        encodeRemoveGroupOperation(appender.recordFor(16).writer, groupId);
        groups.delete(groupId);
      } catch (error) {
        return Promise.reject(error);
      }
      return committer.commitPending();
    },
    storage: (groupId: number): RaftStorage => {
      checkGroupId(groupId);
      return createGroupStorageView(groupId, lookup, readData);
    },
    groupIds: (): number[] => [...groups.keys()].sort((a, b) => a - b),
    async close(): Promise<void> {
      if (closed) return;
      // What saveUnsynced gathered and no later call wrote: a clean close keeps it.
      const unwritten = appender.pending.records.length > 0 && committer.failure === undefined;
      closed = true;
      try {
        if (unwritten) await committer.commitPending();
      } finally {
        await committer.idle();
        for (const file of parts.segments.values()) await file.close();
        parts.segments.clear();
      }
    },
    get failure(): StorageError | undefined {
      return committer.failure;
    },
  };
}

/** Checks every update first (nothing changes if one is bad), then encodes and applies them. */
function encodeSave(parts: StoreParts, updates: readonly LogUpdate[]): void {
  const saveNumber = ++parts.saveCount;
  const logs = new Array<GroupLog>(updates.length);
  const kept = new Array<readonly Entry[]>(updates.length);
  let fresh: Map<number, GroupLog> | undefined; // groups without a log yet
  let estimate = 0;
  for (let i = 0; i < updates.length; i++) {
    const update = updates[i]!;
    checkUpdateShape(update);
    let log = parts.groups.get(update.groupId) ?? fresh?.get(update.groupId);
    if (log === undefined) {
      log = createGroupLog(update.groupId);
      (fresh ??= new Map()).set(update.groupId, log);
    }
    if (log.saveNumber === saveNumber) {
      throw invalidArgument(`group ${update.groupId} twice in one save`);
    }
    log.saveNumber = saveNumber;
    logs[i] = log;
    kept[i] = checkUpdate(log, update.snapshot, update.entries ?? []);
    estimate += estimateUpdateBytes(update);
  }
  if (estimate > parts.maxRecordBytes) {
    throw invalidArgument(
      `save of ${estimate} bytes exceeds maxRecordBytes ${parts.maxRecordBytes}`,
    );
  }
  // One save goes into one record, so a crash keeps all of it or none of it.
  const record = parts.appender.recordFor(estimate);
  const cached: CacheBatch = {
    batch: parts.cache.nextBatchNumber,
    commitNumber: parts.appender.pending.commitNumber,
    data: [],
  };
  for (let i = 0; i < updates.length; i++) {
    const update = updates[i]!;
    const entries = kept[i]!;
    if (update.snapshot === undefined && entries.length === 0 && update.hardState === undefined) {
      continue; // nothing to write; an unknown group stays unknown
    }
    const log = logs[i]!;
    if (!parts.groups.has(update.groupId)) parts.groups.set(update.groupId, log);
    encodeUpdate(record, log, update, entries, cached);
  }
  const added = parts.cache.add(cached.commitNumber, cached.data);
  assert(added === cached.batch, () => `cache batch ${added}, expected ${cached.batch}`);
  assert(
    record.writer.length <= parts.maxRecordBytes,
    () => `record of ${record.writer.length} bytes beyond ${parts.maxRecordBytes}`,
  );
}

/** The save's cache batch: its number, its commit, the data added so far (slot = position). */
interface CacheBatch {
  readonly batch: number;
  readonly commitNumber: number;
  readonly data: Uint8Array[];
}

/** Encodes one checked update into `record` and applies it to `log`; new data goes to `cached`. */
function encodeUpdate(
  record: PendingRecord,
  log: GroupLog,
  update: LogUpdate,
  entries: readonly Entry[],
  cached: CacheBatch,
): void {
  const writer = record.writer;
  if (update.snapshot !== undefined) {
    encodeSnapshotOperation(writer, update.groupId, update.snapshot);
    applySnapshotToLog(log, update.snapshot);
  }
  if (entries.length > 0) {
    const payloadStart = record.position + recordHeaderBytes;
    const offset = encodeEntriesOperation(writer, update.groupId, entries);
    const commitNumber = cached.commitNumber;
    truncateLogFrom(log, entries[0]!.index);
    let dataOffset = offset;
    for (let j = 0; j < entries.length; j++) {
      const entry = entries[j]!;
      const length = entry.data.byteLength;
      dataOffset += entryFieldBytes;
      const position = payloadStart + dataOffset;
      const slot = cached.data.length;
      log.entries.push(
        entry.term,
        entry.type,
        record.segment,
        position,
        length,
        commitNumber,
        cached.batch,
        slot,
      );
      cached.data.push(entry.data);
      dataOffset += length;
    }
  }
  if (update.hardState !== undefined) {
    encodeHardStateOperation(writer, update.groupId, update.hardState);
    setHardState(log, update.hardState);
  }
}

function existingGroup(groups: Map<number, GroupLog>, groupId: number): GroupLog {
  checkGroupId(groupId);
  const log = groups.get(groupId);
  if (log === undefined)
    throw new StorageError(StorageErrorCode.NotFound, `group ${groupId} has no log`);
  return log;
}

/** An entry's data from the cache, or read back from its segment (rare: old entries only). */
function readEntryData(parts: StoreParts, log: GroupLog, row: number): Uint8Array {
  const rows = log.entries;
  const cached = parts.cache.get(rows.cacheBatch(row), rows.cacheSlot(row));
  if (cached !== undefined) return cached;
  const commitNumber = rows.commitNumber(row);
  assert(
    commitNumber <= parts.committer.durableCommit,
    () => `entry of commit ${commitNumber} evicted, durable is ${parts.committer.durableCommit}`,
  );
  const segment = rows.segment(row);
  const position = rows.position(row);
  const file = parts.segments.get(segment);
  if (file === undefined) {
    throw new StorageError(StorageErrorCode.Closed, `segment ${segment} is not open`);
  }
  const data = new Uint8Array(rows.byteLength(row));
  let done = 0;
  while (done < data.byteLength) {
    const count = file.readSync(data.subarray(done), position + done);
    if (count === 0) {
      throw new StorageError(
        StorageErrorCode.Corrupt,
        `entry data of ${data.byteLength} bytes cut short`,
        { file: file.path, offset: position },
      );
    }
    done += count;
  }
  return data;
}
