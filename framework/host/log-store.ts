import type { ConfState, Entry, HardState, RaftStorage, Snapshot, SnapshotMetadata } from "../raft/index.js";

/** What one group's Ready asks to be made durable. */
export interface GroupUpdate {
  readonly groupId: number;
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  /** Replaces the group's log (a snapshot received from the leader). */
  readonly snapshot: Snapshot | undefined;
}

/**
 * The durable raft log of every group on a node, as the host needs it.
 * framework/storage's LogStore implements it on disk; MemoryLogStore in
 * memory (tests, simulator).
 */
export interface HostLogStore {
  /** The synchronous read view the group's raft core uses. */
  storage(groupId: number): RaftStorage;
  /** Makes every update durable in ONE commit; resolves only after that. */
  save(updates: readonly GroupUpdate[]): Promise<void>;
  /**
   * Records updates that need not be durable before the host goes on (the
   * raft core's `Ready.mustSync` is false: a hard state whose only change is
   * the commit index, which a restarted replica learns again from its
   * leader). Reads see them at once; they become durable with the next
   * `save`, `recordSnapshot`, `removeGroup` or `flush` (they are ordered
   * before it), and a crash before that loses them. Never a write of their
   * own. Throws on bad input, changing nothing.
   */
  saveUnsynced(updates: readonly GroupUpdate[]): void;
  /** Resolves once everything recorded so far (saveUnsynced included) is durable. */
  flush(): Promise<void>;
  /**
   * Records a snapshot this replica made of its own state at
   * `metadata.index` and discards entries up to `compactIndex` (≤ index).
   * The log after the snapshot stays.
   */
  recordSnapshot(groupId: number, metadata: SnapshotMetadata, compactIndex: number): Promise<void>;
  /**
   * Starts a group's log on this node.
   * - With `confState` (an initial member): a snapshot at index 1, term 1
   *   holding the initial membership (and the state machine's initial
   *   state). The log of every group starts after 1, so no replica ever
   *   replays entries from before its first configuration.
   * - Without (a replica joining a running group): an empty log at index 0.
   *   Nothing of the leader's log can match it, so its first contact is a
   *   snapshot, which brings the configuration; never a bare log suffix
   *   applied to an empty configuration (that would make it a group of one).
   */
  bootstrap(groupId: number, confState: ConfState | undefined): Promise<void>;
  /** Groups that have durable state, with it. */
  groupIds(): number[];
  removeGroup(groupId: number): Promise<void>;
  close(): Promise<void>;
}
