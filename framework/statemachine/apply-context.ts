import type { DeterministicRandom } from "./deterministic-random.js";

/**
 * What a command's executor may know beyond its request. Everything here is
 * equal on every replica: executors use it instead of Date.now,
 * Math.random or anything of the machine they run on.
 */
export interface ApplyContext {
  readonly partitionId: number;
  /** Raft log index of the entry holding the command. */
  readonly index: number;
  readonly term: number;
  /** Position of the command in its entry's batch (0 for a single command). */
  readonly position: number;
  /**
   * The state machine's clock, milliseconds since the Unix epoch: the
   * largest proposer timestamp applied so far, this command's included.
   * Never goes backwards, even when a new leader's clock is behind.
   */
  readonly timestampMs: number;
  /** Seeded from (partitionId, index, position); created on first use. */
  readonly random: DeterministicRandom;
  /** The client's session, or undefined for a command without one. */
  readonly session: { readonly clientId: bigint; readonly sequence: number } | undefined;
  /**
   * Lets the process's event loop run before the executor goes on (the
   * machine's `applyTurns.yieldNow`; resolves at once without applyTurns).
   * An executor with a long command (thousands of rows) may await it
   * between slices of its work. Nothing may depend on it: the state it
   * leaves and the result it returns are the same with or without yields.
   */
  yieldTurn(): Promise<void>;
}

/** What a query's executor may know beyond its request. */
export interface QueryContext {
  readonly partitionId: number;
  /** Index of the last command applied to the state this query reads. */
  readonly appliedIndex: number;
  /** The state machine's clock as of `appliedIndex` (see ApplyContext.timestampMs). */
  readonly timestampMs: number;
}
