/**
 * The records the pure raft core works with. They mirror
 * proto/raftkit/v1/raft.proto field for field, with number terms and indexes
 * (exact up to 2^53, which no log reaches).
 */

/** A replica's id inside one raft group. 0 means "none". */
export type NodeId = number;

export const NodeIdNone: NodeId = 0;

export enum EntryType {
  Normal = 0,
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be durable before a node answers a vote or an append (Raft figure 2). */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/**
 * Membership as of a log index. In a joint configuration (Raft thesis §4.3)
 * `votersOutgoing` holds the old voters and `voters` the new ones; decisions
 * need a majority of each.
 */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly votersOutgoing: readonly NodeId[];
  /** Voters of the outgoing config that become learners when the joint config is left. */
  readonly learnersNext: readonly NodeId[];
  readonly autoLeave: boolean;
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** Opaque to the core; a host may stream the real contents out of band. */
  readonly data: Uint8Array;
}

export enum ConfChangeType {
  AddVoter = 0,
  AddLearner = 1,
  RemoveNode = 2,
}

export enum ConfChangeTransition {
  /** One voter changed: simple change. More: joint consensus, left automatically. */
  Auto = 0,
  /** Joint consensus, left automatically once the joint config is applied. */
  JointImplicit = 1,
  /** Joint consensus, left only by proposing an empty ConfChange. */
  JointExplicit = 2,
}

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/** An empty `changes` list with transition Auto leaves a joint configuration. */
export interface ConfChange {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  readonly context: Uint8Array;
}

export enum MessageType {
  Append = 1,
  AppendResponse = 2,
  RequestVote = 3,
  RequestVoteResponse = 4,
  RequestPreVote = 5,
  RequestPreVoteResponse = 6,
  Snapshot = 7,
  Heartbeat = 8,
  HeartbeatResponse = 9,
  TimeoutNow = 10,
  ReadIndex = 11,
  ReadIndexResponse = 12,
}

export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: number;
  /** Term of the entry at `index` (Append: the entry before `entries`; votes: last entry). */
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly snapshot: Snapshot | undefined;
  readonly reject: boolean;
  /** On a rejected append: the follower's hint where the logs may agree. */
  readonly rejectHint: number;
  /** ReadIndex request context, echoed back; empty otherwise. */
  readonly context: Uint8Array;
}

export enum Role {
  Follower = "follower",
  PreCandidate = "pre-candidate",
  Candidate = "candidate",
  Leader = "leader",
}

/** Volatile state worth telling the host about when it changes. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * The answer to a ReadIndex request (Raft thesis §6.4): once the state machine
 * has applied up to `index`, a read with this `context` is linearizable.
 */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * What the host must do, in this order:
 * 1. send `messages` at once (the leader's appends may go out while its own
 *    write is in flight, Raft thesis §10.2.1);
 * 2. persist `snapshot`, `entries` and `hardState` durably, in that order;
 * 3. send `messagesAfterPersist` (they acknowledge what step 2 made durable);
 * 4. apply `snapshot` then `committedEntries` to the state machine;
 * 5. call `advance(ready)`.
 *
 * With RaftConfig.maxReadiesInFlight > 1 the host may take the next Ready
 * before advancing this one, so several saves are in flight. Each Ready then
 * carries only the entries (and snapshot) no earlier Ready did; its step 3
 * and step 5 run only once its own save AND every earlier Ready's save are
 * durable (its messagesAfterPersist may acknowledge entries an earlier Ready
 * is still writing), and Readies are advanced in the order handed out. Its
 * committedEntries are then only entries this replica already persisted, so
 * step 4 may run at once, before the saves (a snapshot is restored only
 * after its own save), in the order of the Readies. A leader counts its own
 * entries toward commit only at advance, i.e. once durable.
 */
export interface Ready {
  readonly softState: SoftState | undefined;
  readonly hardState: HardState | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly entries: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly messagesAfterPersist: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** True when entries, hardState or snapshot must be fsync'd before step 3. */
  readonly mustSync: boolean;
}

export enum ProgressState {
  /** Leader does not know the follower's log end: one append at a time. */
  Probe = "probe",
  /** Follower is caught up: appends pipelined within the in-flight window. */
  Replicate = "replicate",
  /** Follower needs a snapshot; appends paused until it reports. */
  Snapshot = "snapshot",
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly leader: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly confState: ConfState;
  readonly leadTransferee: NodeId;
  /**
   * Index of the newest conf change this replica proposed as leader (0 when
   * none); it is pending while `applied` is below it. A new one is refused
   * until then.
   */
  readonly pendingConfIndex: number;
  /** Per replica, known on the leader only. */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

export type SnapshotStatus = "finish" | "failure";
