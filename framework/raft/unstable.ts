import { assert } from "./assert.js";
import type { Entry, Snapshot } from "./types.js";

/**
 * Entries and a snapshot the core holds that the host has not yet made
 * durable. `entries[i]` has index `offset + i`. Once the host persists them
 * and calls advance, they move to storage (stableTo).
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {}

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

  /** The host persisted entries up to (index, term); stop holding them unless they changed since. */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const entry = this.entries[index - this.offset];
    if (entry === undefined || entry.term !== term) return; // replaced while being persisted
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.metadata.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
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
