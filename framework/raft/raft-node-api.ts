import type {
  ConfChange,
  ConfState,
  Message,
  NodeId,
  RaftStatus,
  Ready,
  SnapshotStatus,
} from "./types.js";

/** Where a proposal landed in the leader's log; it took effect iff the entry at `index` still has `term` when applied. */
export interface ProposalPosition {
  readonly index: number;
  readonly term: number;
}

/**
 * One replica of one raft group: a pure state machine. Inputs are method
 * calls; outputs are collected into a Ready. No method does I/O, reads a
 * clock or draws randomness other than from the injected RandomSource.
 */
export interface RaftNode {
  readonly id: NodeId;
  /** Advances logical time by one tick (election and heartbeat timeouts count ticks). */
  tick(): void;
  /** Feeds a message from a peer. Messages of a stale term or a non-member are ignored. */
  step(message: Message): void;
  /** Leader only: appends `data` to the log. Throws RaftError NotLeader / ProposalDropped. */
  propose(data: Uint8Array): ProposalPosition;
  /** Leader only; one pending change at a time. Throws RaftError. */
  proposeConfChange(change: ConfChange): ProposalPosition;
  /**
   * Requests a linearizable read point; the answer arrives as a ReadState with
   * the same context. A follower forwards the request to its leader.
   * Throws RaftError NotLeader when no leader is known.
   */
  readIndex(context: Uint8Array): void;
  /** Leader only: hands leadership to `to` once it is caught up (Raft thesis §3.10). */
  transferLeadership(to: NodeId): void;
  /**
   * Nothing left to replicate or commit, as far as this replica knows: a
   * leader is known, every entry of its log is committed, and (on a leader)
   * every member's log matches it and no transfer is under way, and the
   * caller's state machine has applied up to `applied` ≥ the last index; a
   * candidate or pre-candidate never is settled. What `status()` would say,
   * without building it (the host asks on every tick of every awake group,
   * for quiescence).
   */
  settled(applied: number): boolean;
  /** Starts an election now (pre-vote first, when enabled). */
  campaign(): void;
  /**
   * Follower only (otherwise nothing happens): forgets the current leader and
   * stays a leaderless follower of the same term, without campaigning. With
   * check-quorum it then grants pre-votes at once instead of ignoring them
   * for the rest of the leader's lease (thesis §4.2.3), so when a quorum of
   * followers has strong evidence the leader is gone (its node's connection
   * broke) a new leader is elected without waiting out an election timeout.
   * The next message of a live leader restores it. etcd-io/raft ForgetLeader.
   */
  forgetLeader(): void;
  /**
   * The host calls it when it ticks this replica again after a pause
   * (quiescence: no ticks while the group was idle). A leader's check-quorum
   * window then starts now: frozen where it stopped, it could close one tick
   * after waking, before the followers — woken by the same traffic — had
   * time to answer, and a healthy leader would step down (seen as elections
   * of the idle meta group under load). Followers keep their timers: one
   * woken because its leader's node went silent must still campaign soon.
   * Nothing changes for a leader serving lease reads (see ReadOnlyOption).
   */
  resumeTicking(): void;
  /**
   * Applies a committed conf change entry to the tracker; the host calls it
   * when it applies that entry. Returns the resulting configuration.
   */
  applyConfChange(change: ConfChange): ConfState;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, status: SnapshotStatus): void;
  /**
   * Removes and returns the queued Heartbeat and HeartbeatResponse messages,
   * also while a Ready is outstanding; the next Ready no longer holds them.
   * They depend on nothing durable, so a host whose loop is busy (a long
   * apply, a slow disk) sends them at once instead of after its iteration:
   * otherwise a leader starved that way stops heartbeating and its followers
   * elect another (issue #8, overload).
   */
  takeHeartbeats(): readonly Message[];
  hasReady(): boolean;
  ready(): Ready;
  /** Acknowledges that the host has done everything `ready` asked (see Ready). */
  advance(ready: Ready): void;
  status(): RaftStatus;
}
