/**
 * The user's state that executors work on, seen by the framework only for
 * its lifecycle: the executable layer owns apply and query, the state owns
 * its data. Semantics as in StateMachine (state-machine.ts).
 */
export interface ExecutableState {
  /**
   * Returns the index of the last command whose effect the state holds (0
   * for an in-memory state). A state that keeps durable data must make its
   * data and this index durable together.
   */
  open(): Promise<number>;
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
