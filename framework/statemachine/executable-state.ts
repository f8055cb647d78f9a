/**
 * The user's state that executors work on, seen by the framework only for
 * its lifecycle: the executable layer owns apply and query, the state owns
 * its data. Semantics as in StateMachine (state-machine.ts).
 *
 * A durable state (one that keeps its data across restarts) also keeps the
 * framework's own state — the client session table and the state machine's
 * clock, as opaque bytes — in the same durable step as its data and applied
 * index: `persist` hands the bytes over after every applied batch, `open`
 * gives them back. Without that, a restart forgets the sessions and a
 * client's retry could apply a second time.
 */
export interface OpenedState {
  /** The index of the last command whose effect the state holds. */
  readonly appliedIndex: number;
  /**
   * The bytes last given to `persist` together with this index; absent
   * when the state holds none yet (fresh, or never persisted).
   */
  readonly frameworkState?: Uint8Array;
}

export interface ExecutableState {
  /**
   * Returns the index of the last command whose effect the state holds (0
   * for an in-memory state), either as a number or, for a state that
   * persists the framework's bytes, with those bytes. A state that keeps
   * durable data must make its data and this index durable together.
   */
  open(): Promise<number | OpenedState>;
  /**
   * Optional, for durable states. Called after every applied batch of log
   * entries (and after a snapshot restore), before the results reach any
   * caller: make the state's data, `appliedIndex` and `frameworkState`
   * durable in one atomic step, and return `frameworkState` unchanged from
   * the next `open()`. Throwing fails apply (the host stops the group).
   */
  persist?(appliedIndex: number, frameworkState: Uint8Array): Promise<void>;
  /**
   * The whole state as of the last applied command. Called synchronously by
   * the framework at the snapshot point; the returned stream may be consumed
   * later, while more commands apply, so capture what it needs now.
   */
  saveSnapshot(): AsyncIterable<Uint8Array>;
  /** Replaces the whole state by the bytes `saveSnapshot` produced at `index`. */
  restoreSnapshot(index: number, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  close(): Promise<void>;
}
