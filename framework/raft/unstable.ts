import { assert } from "./assert.js";
import type { Entry, Snapshot } from "./types.js";

/**
 * Entries and a snapshot the core holds that the host has not yet made
 * durable. `entries[i]` has index `offset + i`. Once the host persists them
 * and calls advance, they move to storage (stableTo).
 *
 * With several Readies in flight (RaftConfig.maxReadiesInFlight), some of
 * them were already handed to the host in an earlier Ready and are being
 * written: `offsetInProgress` is the first index not yet handed over, and
 * `snapshotInProgress` says the snapshot was. A new Ready carries only what
 * is not in progress, so nothing is written twice (the idea of etcd raft's
 * asynchronous storage writes).
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];
  /** First index not yet handed to the host; entries in [offset, offsetInProgress) are being written. */
  offsetInProgress: number;
  snapshotInProgress = false;

  constructor(public offset: number) {
    this.offsetInProgress = offset;
  }

  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.metadata.index === index
        ? this.snapshot.metadata.term
        : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    if (this.snapshot !== undefined && index === this.snapshot.metadata.index && this.entries.length === 0) {
      return this.snapshot.metadata.term;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** Entries not yet handed to the host (the next Ready's). */
  entriesNotInProgress(): readonly Entry[] {
    const from = this.offsetInProgress - this.offset;
    return from === 0 ? this.entries : this.entries.slice(from);
  }

  hasEntriesNotInProgress(): boolean {
    return this.offset + this.entries.length > this.offsetInProgress;
  }

  snapshotNotInProgress(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** The host took everything unstable (a Ready was handed out): it is in progress now. */
  acceptInProgress(): void {
    this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /**
   * The host persisted entries up to (index, term); stop holding them unless
   * they changed since. A term that differs means the entry at `index` was
   * overwritten by a conflicting append after it was handed over: the write
   * acknowledged here holds the old entry, not the one in the log now, so
   * nothing becomes stable (the new one is acknowledged with its own Ready).
   */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const entry = this.entries[index - this.offset];
    if (entry === undefined || entry.term !== term) return; // replaced while being persisted
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = snapshot;
    this.snapshotInProgress = false;
  }

  /** Appends, replacing any suffix from the first new index on. */
  truncateAndAppend(newEntries: readonly Entry[]): void {
    const first = newEntries[0]!.index;
    if (first === this.offset + this.entries.length) {
      this.entries.push(...newEntries);
    } else if (first <= this.offset) {
      // Replaces everything unstable; storage's conflicting suffix is
      // overwritten when these are persisted.
      this.offset = first;
      this.entries = [...newEntries];
    } else {
      this.entries = this.entries.slice(0, first - this.offset).concat(newEntries);
    }
    // Entries from `first` on are new, even where older ones at those
    // indexes were already handed over: they must be handed over again.
    if (this.offsetInProgress > first) this.offsetInProgress = first;
  }

  slice(low: number, high: number): Entry[] {
    assert(low <= high, () => `unstable slice [${low}, ${high}) inverted`);
    const upper = this.offset + this.entries.length;
    assert(
      low >= this.offset && high <= upper,
      () => `unstable slice [${low}, ${high}) out of [${this.offset}, ${upper})`,
    );
    return this.entries.slice(low - this.offset, high - this.offset);
  }
}
