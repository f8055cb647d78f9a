/**
 * Client sessions for exactly-once commands (Raft thesis §6.3), as pure,
 * deterministic bookkeeping: its only inputs are the envelopes' session
 * stamps and the state machine's clock (the largest proposer timestamp
 * applied), so every replica holds the same table after the same entries.
 *
 * Expiry rule: before each command, sessions idle for more than
 * `sessionTimeoutMs` of that clock are dropped; a new session beyond
 * `maxSessions` evicts the least recently active one. A command of an
 * unknown session opens it if its responded_to is 0 (the client has no
 * result yet), and is refused with SESSION_EXPIRED otherwise.
 */
import { assert } from "./assert.js";
import { errorResult } from "./envelope-codec.js";
import type { ExecutionResult, SessionStamp } from "./envelope-codec.js";
import { StateMachineErrorCode } from "./errors.js";
import type { ExecutableLimits } from "./session-limits.js";

/** One session as it is kept and snapshotted. @internal */
export interface SessionState {
  readonly clientId: bigint;
  respondedTo: number;
  lastActiveMs: number;
  /** Results of applied sequences > respondedTo, by sequence. */
  readonly results: Map<number, ExecutionResult>;
}

/** What to do with one session command. */
export type SessionDecision =
  | { readonly action: "execute" }
  /** Applied before: answer with its result, do not apply again. */
  | { readonly action: "duplicate"; readonly result: ExecutionResult }
  /** Not applied, now or ever: answer with this error, cache nothing. */
  | { readonly action: "reject"; readonly result: ExecutionResult };

export interface SessionTable {
  readonly size: number;
  /** Drops every session idle for more than the timeout at `clockMs`. */
  expire(clockMs: number): void;
  /** Opens or touches the stamp's session, drops acknowledged results, decides. */
  begin(stamp: SessionStamp, clockMs: number): SessionDecision;
  /** Caches the result of a command `begin` said to execute. */
  complete(stamp: SessionStamp, result: ExecutionResult): void;
  /** Sessions, least recently active first, results in ascending sequence. */
  list(): SessionState[];
  /** Replaces the whole table (snapshot restore); `sessions` least recently active first. */
  replace(sessions: readonly SessionState[]): void;
  /** The live sessions, least recently active first, without copying (do not change them). */
  values(): IterableIterator<SessionState>;
  /**
   * Client ids whose session was opened, changed or dropped since the last
   * call (for incremental encoders); resets the set.
   */
  takeChanged(): Set<bigint>;
}

const execute: SessionDecision = { action: "execute" };

/** `trackChanges`: keep the set takeChanged returns (only an incremental encoder needs it). */
export function createSessionTable(limits: ExecutableLimits, trackChanges = false): SessionTable {
  // Map order is recency order: a touched session is deleted and re-inserted,
  // so the first entry is always the least recently active. The clock never
  // goes backwards, so lastActiveMs ascends along this order too.
  let sessions = new Map<bigint, SessionState>();
  let changed = new Set<bigint>();
  const noteChange = (clientId: bigint): void => {
    if (trackChanges) changed.add(clientId);
  };
  return {
    get size() {
      return sessions.size;
    },
    expire(clockMs) {
      for (const session of sessions.values()) {
        if (clockMs - session.lastActiveMs <= limits.sessionTimeoutMs) return;
        sessions.delete(session.clientId);
        noteChange(session.clientId);
      }
    },
    begin(stamp, clockMs) {
      const known = sessions.get(stamp.clientId);
      if (known === undefined && stamp.respondedTo > 0) return rejectExpired(stamp);
      const session =
        known === undefined
          ? openSession(sessions, stamp.clientId, clockMs, limits.maxSessions, noteChange)
          : touchSession(sessions, known, clockMs);
      noteChange(stamp.clientId);
      acknowledge(session, stamp.respondedTo);
      return decide(session, stamp, limits.maxResultsPerSession);
    },
    complete(stamp, result) {
      const session = sessions.get(stamp.clientId);
      assert(session !== undefined, () => `complete: session ${stamp.clientId} vanished`);
      assert(!session.results.has(stamp.sequence), () =>
        `sequence ${stamp.sequence} completed twice`,
      );
      assert(stamp.sequence > session.respondedTo, () => `sequence ${stamp.sequence} acknowledged`);
      session.results.set(stamp.sequence, result);
      noteChange(stamp.clientId);
    },
    list() {
      return [...sessions.values()].map((session) => ({
        clientId: session.clientId,
        respondedTo: session.respondedTo,
        lastActiveMs: session.lastActiveMs,
        results: new Map([...session.results].sort(([left], [right]) => left - right)),
      }));
    },
    replace(restored) {
      const next = new Map<bigint, SessionState>();
      let previousActiveMs = 0;
      for (const session of restored) {
        assert(!next.has(session.clientId), () => `session ${session.clientId} restored twice`);
        assert(session.lastActiveMs >= previousActiveMs, "restored sessions out of recency order");
        previousActiveMs = session.lastActiveMs;
        next.set(session.clientId, session);
      }
      for (const clientId of sessions.keys()) noteChange(clientId);
      for (const clientId of next.keys()) noteChange(clientId);
      sessions = next;
    },
    values: () => sessions.values(),
    takeChanged() {
      assert(trackChanges, "takeChanged on a session table that does not track changes");
      const taken = changed;
      changed = new Set();
      return taken;
    },
  };
}

/** A new session, after evicting the least recently active ones beyond the limit. */
function openSession(
  sessions: Map<bigint, SessionState>,
  clientId: bigint,
  clockMs: number,
  maxSessions: number,
  noteChange: (clientId: bigint) => void,
): SessionState {
  while (sessions.size >= maxSessions) {
    const oldest = sessions.keys().next();
    assert(oldest.done !== true, "session table full but empty");
    sessions.delete(oldest.value);
    noteChange(oldest.value);
  }
  const results = new Map<number, ExecutionResult>();
  const session: SessionState = { clientId, respondedTo: 0, lastActiveMs: clockMs, results };
  sessions.set(clientId, session);
  return session;
}

/** Moves the session to the most recently active end. */
function touchSession(
  sessions: Map<bigint, SessionState>,
  session: SessionState,
  clockMs: number,
): SessionState {
  assert(clockMs >= session.lastActiveMs, () =>
    `clock ${clockMs} < last active ${session.lastActiveMs}`,
  );
  sessions.delete(session.clientId);
  sessions.set(session.clientId, session);
  session.lastActiveMs = clockMs;
  return session;
}

function acknowledge(session: SessionState, respondedTo: number): void {
  if (respondedTo <= session.respondedTo) return;
  session.respondedTo = respondedTo;
  for (const sequence of session.results.keys()) {
    if (sequence <= respondedTo) session.results.delete(sequence);
  }
}

function decide(session: SessionState, stamp: SessionStamp, maxResults: number): SessionDecision {
  if (stamp.sequence <= session.respondedTo) {
    return reject(
      StateMachineErrorCode.ResultDiscarded,
      `session ${stamp.clientId}: sequence ${stamp.sequence} was acknowledged ` +
        `(responded_to ${session.respondedTo}); its result is gone`,
    );
  }
  const cached = session.results.get(stamp.sequence);
  if (cached !== undefined) return { action: "duplicate", result: cached };
  if (session.results.size >= maxResults) {
    return reject(
      StateMachineErrorCode.SessionFull,
      `session ${stamp.clientId}: ${session.results.size} unacknowledged results ` +
        `(limit ${maxResults}); acknowledge results (responded_to) before sending more`,
    );
  }
  return execute;
}

function rejectExpired(stamp: SessionStamp): SessionDecision {
  return reject(
    StateMachineErrorCode.SessionExpired,
    `session ${stamp.clientId} is unknown (expired or evicted) while the client holds results ` +
      `up to ${stamp.respondedTo}; sequence ${stamp.sequence} was not applied now, its earlier ` +
      `outcome is unknown: open a new session`,
  );
}

function reject(code: StateMachineErrorCode, message: string): SessionDecision {
  return { action: "reject", result: errorResult(code, message) };
}
