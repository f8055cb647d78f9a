/**
 * The contract between the framework and a user's replicated state machine
 * (one instance per partition replica). The framework calls it from one
 * place at a time, never concurrently for the same instance.
 *
 * Determinism: `apply` must compute the same state and results on every
 * replica from the same commands — no wall clock, no randomness, no I/O
 * whose outcome differs between replicas. What a command needs of time or
 * randomness arrives inside the command (see ApplyContext).
 */
export interface CommittedCommand {
  /**
   * Raft log index of the entry that carries the command. Strictly
   * increasing across calls for a machine without `packedCommands`; with it,
   * the commands of one entry share its index (see `position`).
   */
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
  /**
   * Position of the command in its entry, from 0 (absent: 0, the entry's only
   * command). Only a machine with `packedCommands` sees values above 0; for
   * it (index, position) is strictly increasing across calls.
   */
  readonly position?: number;
}

export interface StateMachine {
  /**
   * Called once before anything else. Returns the index of the last command
   * whose effect this instance still holds (0 for a fresh or an in-memory
   * machine). The framework replays the log from there; a state machine that
   * keeps its own durable state must make that state and this index durable
   * together, so a crash never applies a command twice or skips one.
   */
  open(): Promise<number>;
  /**
   * Optional opt-in. True: the host may carry several commands in one log
   * entry (it packs the proposals of a group that arrive within one loop
   * iteration) — they share the entry's index and term, have positions 0, 1, …
   * and always arrive together, in position order, in ONE apply call (which
   * may hold further entries). A durable machine then makes an entry's
   * commands durable together, and `open` answers an entry index: all of that
   * entry's commands took effect. Each command still gets its own result.
   * Absent or false: one command per entry, indices strictly increasing.
   * A group's machine must not change this over its log's life (a packed
   * entry is read back as a pack).
   */
  readonly packedCommands?: boolean;
  /**
   * Optional. Called on the leader, before a command enters the log: checks
   * it (throwing refuses the proposal, the caller gets the error's message)
   * and may stamp it — e.g. with the proposer's wall-clock time, which gives
   * every replica the same clock for that command. Returns what to propose.
   */
  prepareProposal?(command: Uint8Array, nowMs: number): Uint8Array;
  /** Applies committed commands in log order. `results[i]` answers `commands[i]`. */
  apply(commands: readonly CommittedCommand[]): Promise<readonly Uint8Array[]>;
  /** Answers a read-only query against the current state. */
  query(request: Uint8Array): Promise<Uint8Array>;
  /** Streams the whole state as of the last applied command, in chunks. */
  saveSnapshot(): AsyncIterable<Uint8Array>;
  /** Replaces the whole state by a snapshot taken at `index` (from saveSnapshot of some replica). */
  restoreSnapshot(index: number, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  close(): Promise<void>;
}

/** Creates the state machine of one replica of one partition (group). */
export type StateMachineFactory = (groupId: number, replicaId: number) => StateMachine;
