import { assert } from "./assert.js";
import { isRaftError, RaftError, RaftErrorCode } from "./errors.js";
import type { RaftStorage } from "./storage.js";
import { limitSize } from "./storage.js";
import { Unstable } from "./unstable.js";
import type { Entry, Snapshot } from "./types.js";

/**
 * One replica's log: durable entries in storage, then the unstable tail.
 * Invariants: applied ≤ applying ≤ committed ≤ lastIndex; committed never
 * decreases; no committed entry is ever overwritten (Raft §5.3, log matching).
 */
export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  /** Highest index the host has applied (acknowledged by advance). */
  applied: number;
  /** Highest index handed to the host for applying (≥ applied). */
  applying: number;

  constructor(
    readonly storage: RaftStorage,
    private readonly maxCommittedSize: number,
  ) {
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.unstable = new Unstable(lastIndex + 1);
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = firstIndex - 1;
    this.applied = firstIndex - 1;
    this.applying = firstIndex - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term at `index`. Throws RaftError Compacted / Unavailable outside [firstIndex-1, lastIndex]. */
  term(index: number): number {
    const dummyIndex = this.firstIndex() - 1;
    if (index < dummyIndex) {
      throw new RaftError(RaftErrorCode.Compacted, `term of ${index}, log starts after ${dummyIndex}`);
    }
    if (index > this.lastIndex()) {
      throw new RaftError(RaftErrorCode.Unavailable, `term of ${index}, last is ${this.lastIndex()}`);
    }
    return this.unstable.maybeTerm(index) ?? this.storage.term(index);
  }

  /** Term at `index`, or 0 when the log does not have it (compacted or beyond the end). */
  termOrZero(index: number): number {
    // Checked here first, not only by term()'s throw: a follower asks this for
    // every entry an append brings beyond its last index, and building a
    // RaftError (with its stack) per new entry showed in node profiles.
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return 0;
    try {
      return this.term(index);
    } catch (error) {
      if (isRaftError(error, RaftErrorCode.Compacted) || isRaftError(error, RaftErrorCode.Unavailable)) return 0;
      throw error;
    }
  }

  matchTerm(index: number, term: number): boolean {
    return this.termOrZero(index) === term;
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourLastTerm = this.lastTerm();
    return term > ourLastTerm || (term === ourLastTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries (figure 2): if our entry at `index`
   * has `logTerm`, append what is new, truncating a conflicting suffix, and
   * commit up to min(leaderCommit, last new index). Returns the last new
   * index, or undefined when the consistency check fails.
   */
  maybeAppend(index: number, logTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNewIndex = index + entries.length;
    const conflictIndex = this.findConflict(entries);
    if (conflictIndex !== 0) {
      assert(
        conflictIndex > this.committed,
        () => `entry ${conflictIndex} conflicts with committed entry (committed ${this.committed})`,
      );
      this.append(entries.slice(conflictIndex - (index + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return lastNewIndex;
  }

  /** Index of the first entry that is new or conflicts with ours; 0 if all are present. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with that term: where
   * a leader with a log ending in `term` could agree with us (fast backtracking,
   * Raft §5.3's optimisation as etcd does it).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    if (index > this.lastIndex()) return { index, term: 0 };
    for (let at = index; ; at--) {
      const ourTerm = this.termOrZero(at);
      if (ourTerm <= term || at <= 0) return { index: at, term: ourTerm };
    }
  }

  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    assert(after >= this.committed, () => `append after ${after}, allowed ≥ committed ${this.committed}`);
    assert(after <= this.lastIndex(), () => `append after ${after} leaves a gap after ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  commitTo(index: number): void {
    if (this.committed >= index) return; // never decrease commit
    assert(
      index <= this.lastIndex(),
      () => `commit to ${index} beyond last index ${this.lastIndex()}; was the log lost or truncated?`,
    );
    this.committed = index;
  }

  /** Commits `index` if it carries `term` — only entries of the leader's current term count (Raft §5.4.2). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.termOrZero(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    assert(
      index >= this.applied && index <= this.committed,
      () => `applied ${index}, allowed [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
    if (this.applying < index) this.applying = index;
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable.entries;
  }

  /**
   * Whether committed entries wait to be handed out. `allowUnstable` false:
   * only those this replica has persisted (below unstable.offset), so that
   * applying them never waits for a save in flight (several Readies in
   * flight; etcd's asynchronous storage writes apply only stable entries).
   */
  hasNextCommittedEntries(allowUnstable: boolean): boolean {
    const low = Math.max(this.applying + 1, this.firstIndex());
    return this.unstable.snapshot === undefined && this.maxAppliable(allowUnstable) + 1 > low;
  }

  /** Committed entries not yet handed out, within the per-Ready byte limit (see hasNextCommittedEntries). */
  nextCommittedEntries(allowUnstable: boolean): Entry[] {
    if (!this.hasNextCommittedEntries(allowUnstable)) return [];
    const low = Math.max(this.applying + 1, this.firstIndex());
    return this.slice(low, this.maxAppliable(allowUnstable) + 1, this.maxCommittedSize);
  }

  private maxAppliable(allowUnstable: boolean): number {
    return allowUnstable ? this.committed : Math.min(this.committed, this.unstable.offset - 1);
  }

  /** Entries in [low, high) within `maxBytes` (at least one). Throws Compacted / Unavailable. */
  slice(low: number, high: number, maxBytes: number): Entry[] {
    if (low === high) return [];
    assert(low < high, () => `slice [${low}, ${high}) inverted`);
    const first = this.firstIndex();
    if (low < first) throw new RaftError(RaftErrorCode.Compacted, `slice from ${low}, first is ${first}`);
    const last = this.lastIndex();
    if (high > last + 1) throw new RaftError(RaftErrorCode.Unavailable, `slice to ${high - 1}, last is ${last}`);
    let result: Entry[] = [];
    const offset = this.unstable.offset;
    if (low < offset) {
      const stored = this.storage.entries(low, Math.min(high, offset), maxBytes);
      // Storage stopped early at the size limit: unstable entries would not fit either.
      if (stored.length < Math.min(high, offset) - low) return stored;
      result = stored;
    }
    if (high > offset) {
      const fresh = this.unstable.slice(Math.max(low, offset), high);
      result = result.length > 0 ? result.concat(fresh) : fresh;
    }
    return limitSize(result, maxBytes);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapshotTo(index: number): void {
    this.unstable.stableSnapshotTo(index);
  }
}
