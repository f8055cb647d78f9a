import { assert } from "./assert.js";
import { RaftError, RaftErrorCode } from "./errors.js";
import type { InitialState, RaftStorage } from "./storage.js";
import { limitSize } from "./storage.js";
import type { ConfState, Entry, HardState, Snapshot } from "./types.js";
import { EntryType } from "./types.js";

export const emptyConfState: ConfState = {
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};

export const emptyHardState: HardState = { term: 0, vote: 0, commit: 0 };

/**
 * RaftStorage held in memory: what "durable" means in unit tests and the
 * simulator (the simulator writes to it only at a simulated fsync, and drops
 * the replica's volatile state on crash). Also the reference the durable
 * LogStore is tested against.
 */
export interface MemoryStorage extends RaftStorage {
  setHardState(hardState: HardState): void;
  /** Appends entries, truncating any conflicting suffix first. */
  append(entries: readonly Entry[]): void;
  /** Replaces the whole log with a snapshot (newer than the current one). */
  applySnapshot(snapshot: Snapshot): void;
  /** Records a snapshot of the state at `index` (≤ lastIndex) for sending to followers. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot;
  /** Discards entries before `compactIndex` (which must be ≤ the applied snapshot's index or lastIndex). */
  compact(compactIndex: number): void;
  hardState(): HardState;
}

export function createMemoryStorage(initial?: {
  confState?: ConfState;
  hardState?: HardState;
}): MemoryStorage {
  let hardState: HardState = initial?.hardState ?? emptyHardState;
  let snapshot: Snapshot = {
    metadata: { index: 0, term: 0, confState: initial?.confState ?? emptyConfState },
    data: new Uint8Array(0),
  };
  // entries[0] is a dummy standing for the snapshot's index and term.
  let entries: Entry[] = [dummyEntry(0, 0)];

  const offset = (): number => entries[0]!.index;
  const firstIndex = (): number => offset() + 1;
  const lastIndex = (): number => offset() + entries.length - 1;

  return {
    initialState(): InitialState {
      return { hardState, confState: snapshot.metadata.confState };
    },
    entries(low: number, high: number, maxBytes: number): Entry[] {
      if (low <= offset()) {
        throw new RaftError(RaftErrorCode.Compacted, `entries from ${low}, first is ${firstIndex()}`);
      }
      if (high > lastIndex() + 1) {
        throw new RaftError(RaftErrorCode.Unavailable, `entries to ${high - 1}, last is ${lastIndex()}`);
      }
      if (entries.length === 1) {
        throw new RaftError(RaftErrorCode.Unavailable, "log is empty");
      }
      return limitSize(entries.slice(low - offset(), high - offset()), maxBytes);
    },
    term(index: number): number {
      if (index < offset()) {
        throw new RaftError(RaftErrorCode.Compacted, `term of ${index}, first is ${firstIndex()}`);
      }
      if (index > lastIndex()) {
        throw new RaftError(RaftErrorCode.Unavailable, `term of ${index}, last is ${lastIndex()}`);
      }
      return entries[index - offset()]!.term;
    },
    firstIndex,
    lastIndex,
    snapshot(): Snapshot {
      return snapshot;
    },
    hardState(): HardState {
      return hardState;
    },
    setHardState(next: HardState): void {
      hardState = next;
    },
    append(newEntries: readonly Entry[]): void {
      if (newEntries.length === 0) return;
      const first = newEntries[0]!.index;
      const last = first + newEntries.length - 1;
      if (last < firstIndex()) return; // all already compacted
      let toAppend = newEntries;
      if (first < firstIndex()) toAppend = newEntries.slice(firstIndex() - first);
      const start = toAppend[0]!.index;
      assert(
        start <= lastIndex() + 1,
        () => `append at ${start} leaves a gap after last index ${lastIndex()}`,
      );
      entries = entries.slice(0, start - offset()).concat(toAppend);
    },
    applySnapshot(next: Snapshot): void {
      if (next.metadata.index <= snapshot.metadata.index) {
        throw new RaftError(
          RaftErrorCode.SnapshotOutOfDate,
          `snapshot at ${next.metadata.index}, have ${snapshot.metadata.index}`,
        );
      }
      snapshot = next;
      entries = [dummyEntry(next.metadata.index, next.metadata.term)];
    },
    createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
      if (index <= snapshot.metadata.index) {
        throw new RaftError(
          RaftErrorCode.SnapshotOutOfDate,
          `snapshot at ${index}, have ${snapshot.metadata.index}`,
        );
      }
      assert(index <= lastIndex(), () => `snapshot at ${index} beyond last index ${lastIndex()}`);
      snapshot = { metadata: { index, term: entries[index - offset()]!.term, confState }, data };
      return snapshot;
    },
    compact(compactIndex: number): void {
      if (compactIndex <= offset()) {
        throw new RaftError(RaftErrorCode.Compacted, `compact to ${compactIndex}, first is ${firstIndex()}`);
      }
      assert(compactIndex <= lastIndex(), () => `compact to ${compactIndex} beyond last ${lastIndex()}`);
      const dummy = entries[compactIndex - offset()]!;
      const rest = entries.slice(compactIndex - offset() + 1);
      entries = [dummyEntry(dummy.index, dummy.term), ...rest];
    },
  };
}

function dummyEntry(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(0) };
}
