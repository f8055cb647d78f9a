import type { Entry, EntryType, HardState, Snapshot } from "../raft/index.js";
import { emptyConfState, emptyHardState, RaftError, RaftErrorCode } from "../raft/index.js";
import { assert } from "./assert.js";
import { StorageError, StorageErrorCode } from "./errors.js";

/** Where one entry's data lives: in a segment at a byte offset, and maybe in the cache. */
export interface EntryLocation {
  readonly term: number;
  readonly type: EntryType;
  /** Sequence number of the segment holding the entry's record. */
  readonly segment: number;
  /** File offset of the entry's data inside that segment. */
  readonly position: number;
  readonly length: number;
  /** The commit that writes it; the data can be read back from disk once that commit is durable. */
  readonly commitNumber: number;
  /** Cached copy of the data; undefined once evicted (then read from the segment). */
  data: Uint8Array | undefined;
}

/**
 * One raft group's log as the store knows it, in memory: the same shape as
 * MemoryStorage (a snapshot, an offset entry standing for it, then entries),
 * with entry data replaced by locations.
 * @internal
 */
export interface GroupLog {
  readonly groupId: number;
  hardState: HardState;
  snapshot: Snapshot;
  /** Index and term of the entry just before the first one (MemoryStorage's dummy entry). */
  offsetIndex: number;
  offsetTerm: number;
  /** entries[i] has index offsetIndex + 1 + i. */
  entries: EntryLocation[];
}

export const emptySnapshot: Snapshot = {
  metadata: { index: 0, term: 0, confState: emptyConfState },
  data: new Uint8Array(0),
};

export function createGroupLog(groupId: number): GroupLog {
  return {
    groupId,
    hardState: emptyHardState,
    snapshot: emptySnapshot,
    offsetIndex: 0,
    offsetTerm: 0,
    entries: [],
  };
}

export function lastIndexOf(log: GroupLog): number {
  return log.offsetIndex + log.entries.length;
}

/**
 * Checks a save of `snapshot` then `entries` against the log, as
 * MemoryStorage.applySnapshot and append would, without changing anything.
 * Returns the entries to write: those not already compacted away.
 */
export function checkUpdate(
  log: GroupLog,
  snapshot: Snapshot | undefined,
  entries: readonly Entry[],
): readonly Entry[] {
  let offsetIndex = log.offsetIndex;
  let lastIndex = lastIndexOf(log);
  if (snapshot !== undefined) {
    if (snapshot.metadata.index <= log.snapshot.metadata.index) {
      throw new RaftError(
        RaftErrorCode.SnapshotOutOfDate,
        `group ${log.groupId}: snapshot at ${snapshot.metadata.index}, ` +
          `have ${log.snapshot.metadata.index}`,
      );
    }
    offsetIndex = snapshot.metadata.index;
    lastIndex = offsetIndex;
  }
  if (entries.length === 0) return entries;
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.index !== entries[0]!.index + i) {
      throw invalid(
        log,
        `entry ${i} has index ${entries[i]!.index}, expected ${entries[0]!.index + i}`,
      );
    }
  }
  const first = entries[0]!.index;
  const last = first + entries.length - 1;
  if (last <= offsetIndex) return [];
  const kept = first <= offsetIndex ? entries.slice(offsetIndex + 1 - first) : entries;
  if (kept[0]!.index > lastIndex + 1) {
    throw invalid(log, `append at ${kept[0]!.index} leaves a gap after last index ${lastIndex}`);
  }
  return kept;
}

export function applySnapshotToLog(log: GroupLog, snapshot: Snapshot): void {
  assert(
    snapshot.metadata.index > log.snapshot.metadata.index,
    () => `snapshot ${snapshot.metadata.index} not after ${log.snapshot.metadata.index}`,
  );
  log.snapshot = snapshot;
  log.offsetIndex = snapshot.metadata.index;
  log.offsetTerm = snapshot.metadata.term;
  log.entries = [];
}

/** Truncates any suffix from `firstIndex` on, then appends `locations` (MemoryStorage.append). */
export function appendToLog(log: GroupLog, firstIndex: number, locations: EntryLocation[]): void {
  const lastIndex = lastIndexOf(log);
  if (!(firstIndex > log.offsetIndex && firstIndex <= lastIndex + 1)) {
    assert(false, `append at ${firstIndex}, allowed (${log.offsetIndex}, ${lastIndex + 1}]`);
  }
  if (firstIndex <= lastIndex) log.entries.length = firstIndex - log.offsetIndex - 1;
  for (const location of locations) log.entries.push(location);
}

/** Checks a compaction as MemoryStorage.compact would; returns the term at `index`. */
export function checkCompact(log: GroupLog, index: number): number {
  if (!Number.isSafeInteger(index)) throw invalid(log, `compact index ${index} is not an integer`);
  if (index <= log.offsetIndex) {
    throw new RaftError(
      RaftErrorCode.Compacted,
      `group ${log.groupId}: compact to ${index}, first is ${log.offsetIndex + 1}`,
    );
  }
  if (index > lastIndexOf(log)) {
    throw invalid(log, `compact to ${index} beyond last index ${lastIndexOf(log)}`);
  }
  return log.entries[index - log.offsetIndex - 1]!.term;
}

/** Discards entries up to and including `index`, which becomes the offset entry. */
export function compactLog(log: GroupLog, index: number, term: number): void {
  assert(index > log.offsetIndex, () => `compact ${index} not after offset ${log.offsetIndex}`);
  const dropCount = Math.min(index - log.offsetIndex, log.entries.length);
  log.entries.splice(0, dropCount);
  log.offsetIndex = index;
  log.offsetTerm = term;
}

function invalid(log: GroupLog, what: string): StorageError {
  return new StorageError(StorageErrorCode.InvalidArgument, `group ${log.groupId}: ${what}`);
}
