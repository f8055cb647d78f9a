import { HostError, HostErrorCode } from "./errors.js";

export interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  /** Milliseconds on the host clock after which the request fails with DeadlineExceeded. */
  readonly deadline: number;
}

interface PendingEntry {
  /** The proposals took effect iff the entry applied at their index has this term. */
  readonly term: number;
  /** One per command of the entry, by position (undefined once settled or expired). */
  readonly waiters: (Waiter<unknown> | undefined)[];
  /** Waiters still set. */
  live: number;
}

/**
 * The proposals of one replica waiting for their entries to apply, by log
 * index. An entry carries one command, a conf change, or a pack of several
 * commands (command-pack.ts): each command has its own waiter, settled by
 * its position, with its own deadline. Every waiter is settled exactly once.
 * @internal
 */
export class PendingProposals {
  private readonly entries = new Map<number, PendingEntry>();
  /** Waiters not yet settled, over all entries. */
  private waiting = 0;

  constructor(private readonly groupId: number) {}

  get size(): number {
    return this.waiting;
  }

  add(index: number, term: number, waiters: readonly Waiter<unknown>[]): void {
    if (waiters.length === 0) throw new RangeError(`group ${this.groupId}: proposal at ${index} without a waiter`);
    const existing = this.entries.get(index);
    // An index proposed again by a later leader term: the older proposal lost its entry.
    if (existing !== undefined) this.replaced(index, existing, term);
    this.entries.set(index, { term, waiters: [...waiters], live: waiters.length });
    this.waiting += waiters.length;
  }

  /** Commands in the entry proposed here at `index`, if one is pending (for a consistency check at apply). */
  commandsAt(index: number, term: number): number | undefined {
    const entry = this.entries.get(index);
    return entry === undefined || entry.term !== term ? undefined : entry.waiters.length;
  }

  /**
   * The entry at `index` applied with `term`: `resultOf(position)` answers
   * each waiter if the terms match; otherwise every waiter of the entry fails
   * with ProposalDropped (its entry was replaced).
   */
  settle(index: number, term: number, resultOf: (position: number) => unknown, leaderHint: number): void {
    const entry = this.entries.get(index);
    if (entry === undefined) return;
    this.entries.delete(index);
    if (entry.term === term) {
      entry.waiters.forEach((waiter, position) => {
        if (waiter === undefined) return;
        this.waiting--;
        waiter.resolve(resultOf(position));
      });
      return;
    }
    this.rejectEntry(
      entry,
      new HostError(
        HostErrorCode.ProposalDropped,
        `group ${this.groupId}: entry ${index} of term ${entry.term} was replaced by term ${term}`,
        { leaderHint },
      ),
    );
  }

  /** Fails the waiters of entries at or below `index` (replaced by a snapshot: outcome unknown). */
  failUpTo(index: number): void {
    for (const [entryIndex, entry] of this.entries) {
      if (entryIndex > index) continue;
      this.entries.delete(entryIndex);
      this.rejectEntry(
        entry,
        new HostError(
          HostErrorCode.DeadlineExceeded,
          `group ${this.groupId}: replaced by a snapshot at ${index}; outcome of entry ${entryIndex} unknown`,
        ),
      );
    }
  }

  /** Fails every waiter whose deadline has passed; the others of its entry keep waiting. */
  expire(now: number): void {
    for (const [index, entry] of this.entries) {
      for (let position = 0; position < entry.waiters.length; position++) {
        const waiter = entry.waiters[position];
        if (waiter === undefined || waiter.deadline > now) continue;
        entry.waiters[position] = undefined;
        entry.live--;
        this.waiting--;
        waiter.reject(
          new HostError(
            HostErrorCode.DeadlineExceeded,
            `group ${this.groupId}: entry ${index} not applied before the deadline; it may still be`,
          ),
        );
      }
      if (entry.live === 0) this.entries.delete(index);
    }
  }

  failAll(error: HostError): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) this.rejectEntry(entry, error);
  }

  private replaced(index: number, entry: PendingEntry, term: number): void {
    this.entries.delete(index);
    this.rejectEntry(
      entry,
      new HostError(
        HostErrorCode.ProposalDropped,
        `group ${this.groupId}: entry ${index} of term ${entry.term} was replaced by term ${term}`,
      ),
    );
  }

  private rejectEntry(entry: PendingEntry, error: HostError): void {
    for (let position = 0; position < entry.waiters.length; position++) {
      const waiter = entry.waiters[position];
      if (waiter === undefined) continue;
      entry.waiters[position] = undefined;
      this.waiting--;
      waiter.reject(error);
    }
    entry.live = 0;
  }
}
