import type { Entry, HardState, Snapshot } from "../raft/index.js";
import { emptyConfState, emptyHardState, RaftError, RaftErrorCode } from "../raft/index.js";
import { assert } from "./assert.js";
import { EntryLocations } from "./entry-locations.js";
import { StorageError, StorageErrorCode } from "./errors.js";

/**
 * One raft group's log as the store knows it, in memory: the same shape as
 * MemoryStorage (a snapshot, an offset entry standing for it, then entries),
 * with entries replaced by their locations (one row each).
 * @internal
 */
export interface GroupLog {
  readonly groupId: number;
  /**
   * The hard state as numbers, copied from each save: keeping the caller's
   * object would retain one per group per save (promoted by the GC) for nothing.
   */
  hardStateTerm: number;
  hardStateVote: number;
  hardStateCommit: number;
  snapshot: Snapshot;
  /** Index and term of the entry just before the first one (MemoryStorage's dummy entry). */
  offsetIndex: number;
  offsetTerm: number;
  /** Row i is the entry at index offsetIndex + 1 + i. */
  readonly entries: EntryLocations;
  /** The save that last checked this group (finds a group named twice in one save). */
  saveNumber: number;
}

export const emptySnapshot: Snapshot = {
  metadata: { index: 0, term: 0, confState: emptyConfState },
  data: new Uint8Array(0),
};

export function createGroupLog(groupId: number): GroupLog {
  return {
    groupId,
    hardStateTerm: emptyHardState.term,
    hardStateVote: emptyHardState.vote,
    hardStateCommit: emptyHardState.commit,
    snapshot: emptySnapshot,
    offsetIndex: 0,
    offsetTerm: 0,
    entries: new EntryLocations(),
    saveNumber: 0,
  };
}

export function hardStateOf(log: GroupLog): HardState {
  return { term: log.hardStateTerm, vote: log.hardStateVote, commit: log.hardStateCommit };
}

export function setHardState(log: GroupLog, hardState: HardState): void {
  log.hardStateTerm = hardState.term;
  log.hardStateVote = hardState.vote;
  log.hardStateCommit = hardState.commit;
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
  log.entries.clear();
}

/**
 * Truncates any suffix from `firstIndex` on (MemoryStorage.append's overwrite),
 * so the next row pushed is the entry at `firstIndex`.
 */
export function truncateLogFrom(log: GroupLog, firstIndex: number): void {
  const lastIndex = lastIndexOf(log);
  if (!(firstIndex > log.offsetIndex && firstIndex <= lastIndex + 1)) {
    assert(false, `append at ${firstIndex}, allowed (${log.offsetIndex}, ${lastIndex + 1}]`);
  }
  if (firstIndex <= lastIndex) log.entries.truncate(firstIndex - log.offsetIndex - 1);
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
  return log.entries.term(index - log.offsetIndex - 1);
}

/** Discards entries up to and including `index`, which becomes the offset entry. */
export function compactLog(log: GroupLog, index: number, term: number): void {
  assert(index > log.offsetIndex, () => `compact ${index} not after offset ${log.offsetIndex}`);
  const dropCount = Math.min(index - log.offsetIndex, log.entries.length);
  log.entries.dropFront(dropCount);
  log.offsetIndex = index;
  log.offsetTerm = term;
}

function invalid(log: GroupLog, what: string): StorageError {
  return new StorageError(StorageErrorCode.InvalidArgument, `group ${log.groupId}: ${what}`);
}
