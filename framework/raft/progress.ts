import { assert } from "./assert.js";
import { Inflights } from "./inflights.js";
import { ProgressState } from "./types.js";

/**
 * What the leader knows of one follower's log (Raft figure 2 nextIndex and
 * matchIndex) and how it sends to it (etcd's tracker.Progress).
 * Invariant: match < next.
 */
export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** In Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In Probe state: an append is out; wait for its answer or a heartbeat. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner: boolean,
  ) {
    assert(next >= 1, () => `progress next = ${next}, allowed ≥ 1`);
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  /** A copy, so a configuration change can be computed without touching the live tracker. */
  clone(): Progress {
    const copy = new Progress(this.next, this.inflights.capacity, this.isLearner);
    copy.match = this.match;
    copy.state = this.state;
    copy.pendingSnapshot = this.pendingSnapshot;
    copy.recentActive = this.recentActive;
    copy.probeSent = this.probeSent;
    return copy;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** An ack for `index`: returns whether match moved forward. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append that followed `rejected`; `matchHint` is where
   * the follower's log may agree. Returns false for a stale rejection.
   */
  maybeDecrementTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false; // stale: already matched beyond it
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false; // stale: not the append we are waiting on
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Whether the leader should hold further appends back. */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }

  /** Records that an append ending at `lastIndex` went out (pipelining in Replicate). */
  sentEntries(lastIndex: number, entryCount: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entryCount > 0) {
        this.inflights.add(lastIndex);
        this.next = lastIndex + 1;
      }
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
    assert(this.match < this.next, () => `progress match ${this.match} ≥ next ${this.next}`);
  }
}
