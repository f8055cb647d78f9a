import type { ConfState, Entry, HardState, Snapshot } from "./types.js";

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/**
 * What the core reads of the durable log (etcd's raft.Storage). Reads are
 * synchronous: the core is a synchronous state machine; an implementation
 * serves recent entries from memory. The host writes to storage after each
 * Ready; the core never writes.
 *
 * Expected failures throw RaftError with code Compacted (index below
 * firstIndex), Unavailable (index above lastIndex) or
 * SnapshotTemporarilyUnavailable.
 */
export interface RaftStorage {
  initialState(): InitialState;
  /**
   * Entries in [low, high), at least one if any exist in the range, and no
   * more than `maxBytes` of data in total after the first.
   */
  entries(low: number, high: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`; valid for firstIndex()-1 (the snapshot's) to lastIndex(). */
  term(index: number): number;
  /** Index of the first entry still in the log (the snapshot's index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  /** The newest snapshot, to send to a follower that needs compacted entries. */
  snapshot(): Snapshot;
}

/** Data size of entries as the limits count it (payload bytes plus a fixed overhead). */
export function entrySize(entry: Entry): number {
  return entry.data.byteLength + 16;
}

export function entriesSize(entries: readonly Entry[]): number {
  let size = 0;
  for (const entry of entries) size += entrySize(entry);
  return size;
}

/** Keeps the longest prefix of `entries` within `maxBytes`, but always at least one. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length === 0) return entries;
  let size = entrySize(entries[0]!);
  let count = 1;
  while (count < entries.length) {
    size += entrySize(entries[count]!);
    if (size > maxBytes) break;
    count++;
  }
  return count === entries.length ? entries : entries.slice(0, count);
}
