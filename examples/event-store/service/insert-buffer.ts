import { create } from "@bufbuild/protobuf";
import { HostError, HostErrorCode } from "../../../framework/host/index.js";
import { withoutStackTrace } from "../../../framework/server/index.js";
import { buildCommand, readCommandResult } from "../../../framework/statemachine/index.js";
import type { Clock, TimerHandle } from "../../../framework/transport/index.js";
import type { FieldSpec as EngineField, InsertOperation } from "../engine/index.js";
import { InsertResponseSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import type { InsertResponse } from "../gen/eventstore/v1/eventstore_pb.js";
import type { ColumnarEvents } from "./columnar-events.js";
import { columnarToWire, concatWithOrder, EVENT_ID_FIELD, MergeScratch } from "./columnar-events.js";
import { toStateMachineError } from "./engine-errors.js";
import { ColumnArena } from "./insert-arena.js";
import type { ColumnLease } from "./insert-arena.js";
import { InsertColumnar } from "./insert-columnar.js";
import type { InsertCommand } from "./insert-wire.js";
import type { StreamSettings } from "./stream-settings.js";

/**
 * The leader-only insert buffer (DESIGN "The reference state machine"):
 * inserts into a stream accumulate until `flushEvents` or `flushDelayMs`,
 * are merged and sorted by timestamp, and go to raft as ONE Insert command —
 * one log entry per flush. Sync callers resolve when their flush is applied,
 * async callers once buffered. Followers never buffer: an insert reaching a
 * node that does not lead the stream's partition is refused with NotLeader.
 *
 * Bounded: a stream holds at most `maxPendingEvents` buffered or in flight;
 * more callers wait in a queue of the same size (back-pressure), beyond that
 * or after `admissionTimeoutMs` they get Overloaded — nothing is dropped
 * silently. Once the stream's apply rate is measured, an insert that would
 * wait longer than `admissionTimeoutMs` behind the work already queued is
 * refused at once: the queue holds at most that much work. When the node
 * loses leadership, every buffered and waiting insert fails with NotLeader
 * (sync callers retry on the new leader; an async insert buffered there is
 * the documented loss window).
 */
export interface BufferTarget {
  /**
   * Proposes one command to the group; resolves with its result bytes once
   * applied here. `timeoutMs`: how long the proposal's callers still wait
   * (the latest deadline among its sync inserts; undefined when one has
   * none, or only async inserts ride on it): the host's request deadline
   * for it, so that a proposal is answered with its outcome while anyone
   * still waits for it instead of DeadlineExceeded at the host's default.
   */
  propose(groupId: number, command: Uint8Array, timeoutMs?: number): Promise<Uint8Array>;
  /** Whether this node leads the group now, else the leader it knows of (0: none). */
  leadership(groupId: number): { readonly leader: boolean; readonly leaderHint: number };
}

/** A stream as the buffer needs it. */
export interface BufferedStream {
  readonly groupId: number;
  readonly stream: string;
  readonly fields: readonly EngineField[];
  readonly settings: StreamSettings;
  /** The engine's insert check: refuses a bad insert before it joins a merged batch. */
  readonly check: (operation: InsertOperation) => void;
}

export interface InsertBufferOptions {
  readonly target: BufferTarget;
  readonly clock: Clock;
  /** Largest command proposed (the host's maxProposalBytes minus envelope room). */
  readonly maxProposalBytes: number;
  /** How often a stream with buffered inserts checks that this node still leads (default 20 ms). */
  readonly leadershipCheckMs?: number;
  /**
   * How long a caller waits for room before Overloaded (default 5000 ms); also
   * the most work (at the measured apply rate) a stream queues, and how long
   * a sync insert may stay buffered without being proposed: past it, it is
   * refused Overloaded (nothing of it reached raft: a known outcome).
   */
  readonly admissionTimeoutMs?: number;
  /**
   * The most work (at the measured apply rate; one proposal before a rate
   * is known, and always at least one) a stream keeps proposed and not yet
   * applied (default 1000 ms). The rest stays buffered. Every proposal runs against
   * the host's request deadline (5 s) from the moment it is proposed: with
   * everything admitted proposed at once (up to maxPendingEvents, 13 s of
   * work at 20,000 events/s), the later proposals timed out — committed or
   * not, an unknown outcome (100k-400k DeadlineExceeded per overload run).
   */
  readonly maxInFlightMs?: number;
  /**
   * Busy time of one apply-rate window (default 1000 ms). The rate is
   * measured over the last `rateWindows` windows (default 4) together: one
   * window alone under load holds a few proposals of up to a second each,
   * and its rate swung 20k-190k events/s between consecutive windows
   * (session 9 trace, open loop 152k events/s in inserts of 256); the
   * estimate then followed the last one, and a slow window's reading (a
   * stall, a GC, proposals settling just after its end) refused inserts as
   * Overloaded while the stream applied 3-5x that (session 8: "wait ~7186 ms
   * at 19,380 events/s" during a phase that acknowledged 63k events/s).
   */
  readonly rateWindowMs?: number;
  /** How many of the latest apply-rate windows the rate is measured over (default 4; an integer >= 1). */
  readonly rateWindows?: number;
  /**
   * The most work (at the measured apply rate) buffered or in flight that an
   * async insert joins (default 1000 ms): an async caller is answered when
   * buffered, so without this bound async producers would fill the stream
   * up to maxPendingEvents (tens of seconds of work: the loss window) and
   * then be refused. Beyond it they wait, like sync callers over the limit.
   */
  readonly asyncQueueMs?: number;
  /**
   * Whether a stream with no proposal in flight proposes what it buffered at
   * the next macrotask (inserts arriving in the same turn still merge)
   * instead of waiting flushDelayMs (default false: always the timer). While
   * a proposal is in flight inserts wait for it as before (its settle
   * proposes what gathered meanwhile, or the flushDelayMs timer): batches
   * stay large under load and an idle stream answers without the 5 ms wait
   * (session 8: open loop 2,000 events/s, p50 ack 25.7 / 18.6 -> 16.0 /
   * 15.2 ms; the wait was most of an idle insert's latency).
   */
  readonly flushWhenIdle?: boolean;
  /**
   * Schedules the idle flush of `flushWhenIdle` at the next turn of the
   * event loop (a node process: setImmediate, after the I/O of this turn,
   * so inserts that arrived together still merge). Default: a 0 ms timer
   * on `clock` — which node clamps to 1 ms and runs in the next timers
   * phase: ~1.1 ms of every idle insert's latency on the leader (LATENCY,
   * session 10: admit -> flush p50 1.16-1.20 ms at 2,000 events/s).
   */
  readonly nextTurn?: (callback: () => void) => TimerHandle;
  /**
   * Time kept back from a caller's deadline (default 50 ms): the answer's
   * way back to the caller, and the header's trip here (the client sends
   * what is left of its deadline when the request leaves it). An insert is
   * proposed only when it is expected to apply by its deadline minus this.
   */
  readonly deadlineMarginMs?: number;
}

export interface BufferStatistics {
  readonly bufferedEvents: number;
  readonly inFlightEvents: number;
  readonly waitingEvents: number;
  readonly flushes: number;
  /** The lowest measured apply rate of the streams (events/s), undefined before one is measured. */
  readonly applyRatePerSecond: number | undefined;
}

export interface InsertBuffer {
  /**
   * Buffers an insert. `lease`: the events' columns lie in the stream's
   * column memory (`arenaOf`); the buffer releases it once they were copied
   * into a proposal or the insert was refused, and reads them no more.
   * `deadlineMs`: the caller's deadline on the buffer's clock (the request's
   * connect-timeout-ms / grpc-timeout from its receipt; undefined: none). See
   * "The caller's deadline" at createInsertBuffer.
   */
  insert(stream: BufferedStream, events: ColumnarEvents, async: boolean, lease?: ColumnLease,
    deadlineMs?: number): Promise<InsertResponse>;
  /**
   * Whether an insert into the stream named `stream`, of as many events as
   * the stream's latest insert, would be refused from the queue (the work
   * ahead of it at the measured apply rate exceeds admissionTimeoutMs; the
   * deadline is past; the waiting room is full — not yet whether the wait
   * exceeds what the deadline leaves: that holds for sync inserts only,
   * and the body says which it is): the Overloaded refusal and the stream's group, or undefined
   * (insert() decides). Asked before a request's body is read or decoded,
   * so that an overloaded leader refuses cheaply; a smaller insert that
   * would have fit is refused too (its caller backs off like the others).
   */
  refusalBefore(stream: string, deadlineMs?: number): { readonly error: HostError; readonly groupId: number } | undefined;
  /** The stream's reused memory for decoded inserts (its double and int64 columns and timestamps). */
  arenaOf(stream: BufferedStream): ColumnArena;
  statistics(): BufferStatistics;
  /** Fails everything buffered or waiting with Stopped; later inserts too. */
  close(): void;
}

interface Pending {
  /** When the insert arrived (clock ms): a sync insert not proposed by arrival + admissionTimeoutMs is refused. */
  readonly arrivedMs: number;
  /** The caller's deadline less the margin (clock ms; Infinity: none): the latest moment its answer may leave. */
  readonly answerByMs: number;
  readonly events: ColumnarEvents;
  readonly bytes: number;
  readonly async: boolean;
  /** The events' column memory, released when they leave the buffer (merged into a proposal, or refused). */
  readonly lease: ColumnLease | undefined;
  readonly resolve: (response: InsertResponse) => void;
  readonly reject: (error: unknown) => void;
}

interface Waiter extends Pending {
  readonly deadline: number;
}

interface StreamBuffer {
  info: BufferedStream;
  /** Applied-rate window: events whose proposals completed, and the busy time they took. */
  windowEvents: number;
  windowBusyMs: number;
  /** The latest completed windows (at most rateWindows), oldest first: the rate is their sum. */
  pastWindows: { readonly events: number; readonly busyMs: number }[];
  /** Since when a proposal of the stream has been in flight (undefined: none is). */
  busySinceMs: number | undefined;
  /** Events applied per ms over the last full window; undefined before the first. */
  appliedPerMs: number | undefined;
  buffered: Pending[];
  bufferedEvents: number;
  bufferedBytes: number;
  inFlightEvents: number;
  waiting: Waiter[];
  waitingEvents: number;
  /**
   * Lower bounds (clock ms) kept so that the checks every leadershipCheckMs
   * scan their queue only when something in it may be due: the earliest
   * deadline of a waiter, the earliest arrival and answer-by time of a
   * buffered sync insert (Infinity: none). Scanning ~1,000 waiters 50 times
   * a second was ~5 % of an overloaded leader's CPU (profile, 500,000
   * events/s offered).
   */
  waitersDueMs: number;
  /** Events of the latest insert into the stream: refusalBefore's guess at the next one's. */
  latestInsertEvents: number;
  /**
   * Events of the inserts refusalBefore let through whose bodies have not
   * reached insert() yet (each counted as latestInsertEvents; insert()
   * takes its own count off): refusalBefore counts them ahead of the next
   * one. Without, a burst of requests whose headers were parsed in one turn
   * all passed on the same queue, and most were then read, decoded and
   * refused by insert() (1.27 M events/s offered, session 12: 400 ms of 590
   * ms of Overloaded refusals built in insert(), after 908 ms of decoding).
   * Dropped every incomingHoldMs: a call that never reaches insert() (a
   * broken stream, a body that does not decode) must not hold room forever.
   */
  incomingEvents: number;
  /** When incomingEvents is next dropped (clock ms). */
  incomingResetMs: number;
  bufferedArrivedMs: number;
  bufferedAnswerByMs: number;
  flushTimer: TimerHandle | undefined;
}

/** Encoded size of an insert, from above: what the merged command may grow by. */
export function estimateInsertBytes(events: ColumnarEvents): number {
  let bytes = 64 + 8 * events.timestamps.length;
  for (const values of Object.values(events.columns)) {
    if (values instanceof Float64Array) {
      bytes += 16 + 8 * values.length;
      continue;
    }
    for (let row = 0; row < values.length; row++) {
      const value = values[row];
      // Numbers travel as 8-byte doubles, booleans as 1 byte, strings as ≤ 3 bytes per UTF-16 unit.
      bytes += typeof value === "string" ? 3 * value.length + 5 : typeof value === "boolean" ? 2 : 9;
    }
  }
  for (const id of events.ids) bytes += id.length === 0 ? 0 : 3 * id.length + 5;
  return bytes;
}

const keyOf = (groupId: number, stream: string): string => `${groupId}/${stream}`;

/**
 * How long refusalBefore counts the inserts it let through whose bodies have
 * not reached insert() (StreamBuffer.incomingEvents) before it forgets them:
 * a body takes far less under any load seen (a turn or a few), and a call
 * that never arrives holds its room at most this long.
 */
const incomingHoldMs = 1000;

// Refusals without a stack trace (withoutStackTrace says why): under overload most inserts get one.
function notLeader(groupId: number, leaderHint: number): HostError {
  return withoutStackTrace(() => new HostError(HostErrorCode.NotLeader, `node does not lead group ${groupId}`, { leaderHint }));
}

function overloaded(stream: string, text: string): HostError {
  return withoutStackTrace(() => new HostError(HostErrorCode.Overloaded, `stream '${stream}': ${text}`));
}

export function createInsertBuffer(options: InsertBufferOptions): InsertBuffer {
  const { target, clock } = options;
  const leadershipCheckMs = options.leadershipCheckMs ?? 20;
  const rateWindowMs = options.rateWindowMs ?? 1000;
  const rateWindows = options.rateWindows ?? 4;
  if (!(Number.isSafeInteger(rateWindows) && rateWindows >= 1)) {
    throw new RangeError(`insert buffer: rateWindows = ${rateWindows}, allowed an integer >= 1`);
  }
  const admissionTimeoutMs = options.admissionTimeoutMs ?? 5000;
  const asyncQueueMs = options.asyncQueueMs ?? 1000;
  const maxInFlightMs = options.maxInFlightMs ?? 1000;
  const flushWhenIdle = options.flushWhenIdle ?? false;
  const deadlineMarginMs = options.deadlineMarginMs ?? 50;
  const streams = new Map<string, StreamBuffer>();
  /** The same buffers by stream name (the latest group a stream was buffered in): refusalBefore. */
  const byName = new Map<string, StreamBuffer>();
  const scratch = new MergeScratch();
  const arenas = new Map<string, { readonly signature: string; readonly arena: ColumnArena }>();
  let flushes = 0;
  let closed = false;
  let watchTimer: TimerHandle | undefined;

  const failQueued = (buffer: StreamBuffer, error: unknown): void => {
    const queued = [...buffer.buffered, ...buffer.waiting];
    buffer.buffered = [];
    buffer.bufferedEvents = 0;
    buffer.bufferedBytes = 0;
    buffer.waiting = [];
    buffer.waitingEvents = 0;
    buffer.waitersDueMs = Infinity;
    buffer.bufferedArrivedMs = Infinity;
    buffer.bufferedAnswerByMs = Infinity;
    buffer.flushTimer?.cancel();
    buffer.flushTimer = undefined;
    // Async callers were answered when buffered: their events are the loss window.
    for (const pending of queued) {
      pending.lease?.release();
      if (!pending.async) pending.reject(error);
    }
  };

  /** Every leadershipCheckMs while anything is queued: a node that lost leadership fails its queue. */
  const watchLeadership = (): void => {
    watchTimer = undefined;
    let queued = false;
    for (const buffer of streams.values()) {
      if (buffer.buffered.length === 0 && buffer.waiting.length === 0) continue;
      const { leader, leaderHint } = target.leadership(buffer.info.groupId);
      if (!leader) failQueued(buffer, notLeader(buffer.info.groupId, leaderHint));
      else queued = true;
      expireWaiters(buffer);
      expireBuffered(buffer);
    }
    if (queued && !closed) watchTimer = clock.setTimeout(watchLeadership, leadershipCheckMs);
  };
  const ensureWatch = (): void => {
    watchTimer ??= clock.setTimeout(watchLeadership, leadershipCheckMs);
  };

  const expireWaiters = (buffer: StreamBuffer): void => {
    const now = clock.now();
    if (buffer.waitersDueMs > now) return;
    const expired: Waiter[] = [];
    const kept: Waiter[] = [];
    let dueMs = Infinity;
    for (const waiter of buffer.waiting) {
      if (waiter.deadline <= now) {
        expired.push(waiter);
        continue;
      }
      kept.push(waiter);
      dueMs = Math.min(dueMs, waiter.deadline);
    }
    buffer.waiting = kept;
    buffer.waitersDueMs = dueMs;
    for (const waiter of expired) {
      buffer.waitingEvents -= waiter.events.timestamps.length;
      waiter.lease?.release();
      waiter.reject(overloaded(buffer.info.stream, waiter.deadline === waiter.answerByMs
        ? `no room before the call's deadline (${Math.round(now - waiter.arrivedMs)} ms after it arrived), ` +
          "nothing of it written, back off"
        : `no room within ${admissionTimeoutMs} ms, back off`));
    }
  };

  /**
   * When a sync insert proposed now, behind `ahead` events already
   * proposed, is expected to have applied (at the measured rate; before
   * one is measured: now, nothing is known to be ahead of it in time).
   */
  const expectedAppliedMs = (buffer: StreamBuffer, now: number, ahead: number): number =>
    buffer.appliedPerMs === undefined ? now : now + ahead / buffer.appliedPerMs;

  /** The refusal of a sync insert that would apply after its caller's deadline: nothing of it proposed. */
  const tooLate = (buffer: StreamBuffer, pending: Pending, now: number, appliedMs: number): HostError =>
    overloaded(buffer.info.stream, `the call's deadline leaves ${Math.max(0, Math.round(pending.answerByMs - now))} ms ` +
      `and its events would apply in ~${Math.round(appliedMs - now)} ms (${buffer.inFlightEvents} events in flight at ` +
      `${Math.round((buffer.appliedPerMs ?? 0) * 1000)} events/s): not proposed, nothing of it written, back off`);

  /**
   * Sync inserts buffered since arrival + admissionTimeoutMs and still not
   * proposed (the in-flight bound held them back): refused, so the caller
   * learns before its deadline that none of its events were written. Async
   * ones were answered already and stay.
   */
  const expireBuffered = (buffer: StreamBuffer): void => {
    const now = clock.now();
    const horizon = now - admissionTimeoutMs;
    // Proposed now, behind what is in flight: a sync insert that would still apply after its caller's
    // deadline is refused now, while the refusal is a known outcome (nothing of it written).
    const late = (pending: Pending): boolean => !pending.async && (pending.arrivedMs <= horizon ||
      expectedAppliedMs(buffer, now, buffer.inFlightEvents + pending.events.timestamps.length) > pending.answerByMs);
    // Nothing can be late while the oldest arrival is within the timeout and the earliest answer-by
    // time is past what all that is in flight and buffered needs (a bound on any one insert's).
    if (buffer.bufferedArrivedMs > horizon &&
      expectedAppliedMs(buffer, now, buffer.inFlightEvents + buffer.bufferedEvents) <= buffer.bufferedAnswerByMs) return;
    const kept: Pending[] = [];
    let arrivedMs = Infinity;
    let answerByMs = Infinity;
    for (const pending of buffer.buffered) {
      if (!late(pending)) {
        kept.push(pending);
        if (!pending.async) {
          arrivedMs = Math.min(arrivedMs, pending.arrivedMs);
          answerByMs = Math.min(answerByMs, pending.answerByMs);
        }
        continue;
      }
      buffer.bufferedEvents -= pending.events.timestamps.length;
      buffer.bufferedBytes -= pending.bytes;
      pending.lease?.release();
      pending.reject(pending.arrivedMs <= horizon ? overloaded(buffer.info.stream,
        `not proposed within ${admissionTimeoutMs} ms (the group applies slower than inserts arrive), back off`)
        : tooLate(buffer, pending, now,
          expectedAppliedMs(buffer, now, buffer.inFlightEvents + pending.events.timestamps.length)));
    }
    buffer.buffered = kept;
    buffer.bufferedArrivedMs = arrivedMs;
    buffer.bufferedAnswerByMs = answerByMs;
  };

  /** Whether another proposal may start: the work in flight is within maxInFlightMs (see the option). */
  const mayPropose = (buffer: StreamBuffer): boolean => {
    if (buffer.inFlightEvents === 0) return true;
    // Before a rate is known, one proposal at a time: on a slow box (800 events/s under load)
    // even one flushEvents (65,536) of work in flight outlasted the host's 5 s deadline.
    const rate = buffer.appliedPerMs;
    return rate !== undefined && buffer.inFlightEvents < rate * maxInFlightMs;
  };

  const hasRoom = (buffer: StreamBuffer, count: number, async: boolean): boolean => {
    const pending = buffer.bufferedEvents + buffer.inFlightEvents;
    if (pending === 0) return true;
    if (pending + count > buffer.info.settings.maxPendingEvents) return false;
    const rate = buffer.appliedPerMs;
    return !async || rate === undefined || (pending + count) / rate <= asyncQueueMs;
  };

  /**
   * How long an insert of `count` arriving now would wait, at the rate the
   * stream's proposals applied lately (undefined before a rate is known).
   * Admission by count alone let a slow cluster queue minutes of work that
   * every caller's deadline then ran out on (overload test: 0 of 131,072
   * accepted events acknowledged within 10 s); a queue holds at most
   * admissionTimeoutMs of work instead.
   */
  const expectedWaitMs = (buffer: StreamBuffer, count: number): number | undefined => {
    if (buffer.appliedPerMs === undefined) return undefined;
    const ahead = buffer.bufferedEvents + buffer.inFlightEvents + buffer.waitingEvents;
    return (ahead + count) / buffer.appliedPerMs;
  };

  /**
   * A proposal of `events` completed. The apply rate is measured over busy
   * time only (while a proposal is in flight): measured over wall time, a
   * stream idle for a while (between two benchmark phases, a quiet feed)
   * showed a fraction of its rate, and the next burst was refused at once
   * (async bench: 21 Overloaded at "2,688 events/s" while it applied 13,000).
   */
  const onSettled = (buffer: StreamBuffer, events: number, applied: boolean): void => {
    const now = clock.now();
    if (buffer.busySinceMs !== undefined) buffer.windowBusyMs += now - buffer.busySinceMs;
    buffer.inFlightEvents -= events;
    buffer.busySinceMs = buffer.inFlightEvents > 0 ? now : undefined;
    if (!applied) return;
    buffer.windowEvents += events;
    if (buffer.windowBusyMs < rateWindowMs) return;
    buffer.pastWindows.push({ events: buffer.windowEvents, busyMs: buffer.windowBusyMs });
    if (buffer.pastWindows.length > rateWindows) buffer.pastWindows.shift();
    let windowsEvents = 0;
    let windowsBusyMs = 0;
    for (const window of buffer.pastWindows) {
      windowsEvents += window.events;
      windowsBusyMs += window.busyMs;
    }
    buffer.appliedPerMs = windowsEvents / windowsBusyMs;
    buffer.windowEvents = 0;
    buffer.windowBusyMs = 0;
  };

  const streamBufferOf = (stream: BufferedStream): StreamBuffer => {
    const key = keyOf(stream.groupId, stream.stream);
    let buffer = streams.get(key);
    if (buffer === undefined) {
      buffer = { info: stream, windowEvents: 0, windowBusyMs: 0, pastWindows: [], busySinceMs: undefined,
        appliedPerMs: undefined,
        buffered: [], bufferedEvents: 0, bufferedBytes: 0, inFlightEvents: 0,
        waiting: [], waitingEvents: 0,
        waitersDueMs: Infinity, latestInsertEvents: 0, incomingEvents: 0, incomingResetMs: -Infinity,
        bufferedArrivedMs: Infinity, bufferedAnswerByMs: Infinity, flushTimer: undefined };
      streams.set(key, buffer);
    }
    buffer.info = stream;
    byName.set(stream.stream, buffer);
    return buffer;
  };

  /**
   * Why an insert of `count` arriving now is refused (Overloaded: nothing of
   * it is written), or undefined when it is buffered or may wait for room:
   * its caller's deadline is (nearly) past; the work ahead of it at the
   * measured apply rate exceeds admissionTimeoutMs or (a sync insert's:
   * an async one is answered once buffered) what its deadline leaves; the
   * waiting room is full. `async` undefined: not known yet (refusalBefore),
   * taken as sync for room and as async for the deadline.
   */
  const queueRefusal = (buffer: StreamBuffer, count: number, async: boolean | undefined, now: number,
    answerByMs: number, incoming = 0): HostError | undefined => {
    const stream = buffer.info.stream;
    if (answerByMs <= now) {
      return overloaded(stream, `the call's deadline leaves ${Math.max(0, Math.round(answerByMs + deadlineMarginMs - now))} ms ` +
        `(${deadlineMarginMs} ms are kept for the answer): nothing of it written, back off`);
    }
    const pendingNow = buffer.bufferedEvents + buffer.inFlightEvents;
    const rate = buffer.appliedPerMs;
    if (pendingNow > 0 && rate !== undefined) {
      const waitMs = expectedWaitMs(buffer, count)!;
      const ahead = `(${pendingNow + buffer.waitingEvents + incoming} events ahead at ${Math.round(rate * 1000)} events/s` +
        `${incoming > 0 ? `, ${incoming} of them in inserts still arriving` : ""})`;
      if (waitMs > admissionTimeoutMs) {
        return overloaded(stream, `an insert now would wait ~${Math.round(waitMs)} ms ${ahead}, ` +
          `allowed ${admissionTimeoutMs} ms, back off`);
      }
      if (async === false && now + waitMs > answerByMs) {
        return overloaded(stream, `an insert now would wait ~${Math.round(waitMs)} ms ${ahead}, ` +
          `the call's deadline leaves ${Math.round(answerByMs - now)} ms: nothing of it written, back off`);
      }
    }
    if (buffer.waiting.length === 0 && hasRoom(buffer, count, async === true)) return undefined;
    if (buffer.waitingEvents + count <= buffer.info.settings.maxPendingEvents) return undefined;
    return overloaded(stream, `${pendingNow} events pending and ${buffer.waitingEvents} waiting ` +
      `${incoming > 0 ? `(and ${incoming} in inserts still arriving) ` : ""}(limit ${buffer.info.settings.maxPendingEvents}), back off`);
  };

  const admit = (buffer: StreamBuffer, pending: Pending): void => {
    buffer.buffered.push(pending);
    buffer.bufferedEvents += pending.events.timestamps.length;
    buffer.bufferedBytes += pending.bytes;
    if (!pending.async) {
      buffer.bufferedArrivedMs = Math.min(buffer.bufferedArrivedMs, pending.arrivedMs);
      buffer.bufferedAnswerByMs = Math.min(buffer.bufferedAnswerByMs, pending.answerByMs);
    }
    if (pending.async) {
      const count = pending.events.timestamps.length;
      pending.resolve(create(InsertResponseSchema, { accepted: count }));
    }
    if (buffer.bufferedEvents >= buffer.info.settings.flushEvents ||
      buffer.bufferedBytes >= options.maxProposalBytes / 2) {
      flush(buffer);
    } else {
      const idle = flushWhenIdle && buffer.inFlightEvents === 0;
      const due = (): void => {
        buffer.flushTimer = undefined;
        flush(buffer);
      };
      buffer.flushTimer ??= idle && options.nextTurn !== undefined ? options.nextTurn(due)
        : clock.setTimeout(due, idle ? 0 : buffer.info.settings.flushDelayMs);
    }
    ensureWatch();
  };

  const admitWaiters = (buffer: StreamBuffer): void => {
    while (buffer.waiting.length > 0 &&
      hasRoom(buffer, buffer.waiting[0]!.events.timestamps.length, buffer.waiting[0]!.async)) {
      const waiter = buffer.waiting.shift()!;
      buffer.waitingEvents -= waiter.events.timestamps.length;
      admit(buffer, waiter);
    }
  };

  const flush = (buffer: StreamBuffer): void => {
    buffer.flushTimer?.cancel();
    buffer.flushTimer = undefined;
    if (buffer.buffered.length === 0) return;
    const { leader, leaderHint } = target.leadership(buffer.info.groupId);
    if (!leader) {
      failQueued(buffer, notLeader(buffer.info.groupId, leaderHint));
      return;
    }
    // One proposal within maxProposalBytes per call, if in-flight work allows: its merge and encoding
    // (~1 µs per event) is the synchronous part; the rest goes at the next settle, flush or timer.
    if (buffer.buffered.length > 0 && mayPropose(buffer)) {
      const batch: Pending[] = [];
      let bytes = 0;
      let events = 0;
      const now = clock.now();
      while (buffer.buffered.length > 0 &&
        (batch.length === 0 || bytes + buffer.buffered[0]!.bytes <= options.maxProposalBytes)) {
        const pending = buffer.buffered.shift()!;
        const count = pending.events.timestamps.length;
        buffer.bufferedEvents -= count;
        buffer.bufferedBytes -= pending.bytes;
        // The last moment to withdraw: once proposed, the outcome can only be reported. A sync insert
        // expected to apply after its caller's deadline (behind what is in flight and this batch) is
        // refused here instead, so its caller never gives up on an insert that is then stored.
        const appliedMs = expectedAppliedMs(buffer, now, buffer.inFlightEvents + events + count);
        if (!pending.async && appliedMs > pending.answerByMs) {
          pending.lease?.release();
          pending.reject(tooLate(buffer, pending, now, appliedMs));
          continue;
        }
        bytes += pending.bytes;
        events += count;
        batch.push(pending);
      }
      if (buffer.buffered.length === 0) {
        buffer.bufferedArrivedMs = Infinity;
        buffer.bufferedAnswerByMs = Infinity;
      }
      if (batch.length === 0) {
        admitWaiters(buffer);
        return;
      }
      if (buffer.inFlightEvents === 0) buffer.busySinceMs = clock.now();
      buffer.inFlightEvents += events;
      flushes += 1;
      void propose(buffer, batch).then((applied) => {
        onSettled(buffer, events, applied);
        // What the in-flight bound held back goes now (its flush delay has passed).
        if (!closed && buffer.buffered.length > 0) flush(buffer);
        admitWaiters(buffer);
      });
    }
  };

  /** Proposes a batch and answers its callers; whether it applied. */
  const propose = async (buffer: StreamBuffer, batch: readonly Pending[]): Promise<boolean> => {
    const { groupId, stream, fields } = buffer.info;
    // The merged columns live in `scratch` until the next merge, or are the inserts' own (views of
    // their column memory): encoded here, before any await, and that memory released at once.
    let proposal: Promise<Uint8Array>;
    let order: Uint32Array | undefined;
    try {
      // Sorted while encoded: the columns as they came (one view when back to back) and their order.
      const merged = concatWithOrder(batch.map((pending) => pending.events), fields, scratch);
      order = merged.order;
      const request: InsertCommand = { stream, events: columnarToWire(merged.events, fields), async: false,
        ...(order === undefined ? {} : { order }) };
      // The latest deadline of its sync callers (margin added back): no one waits for it longer.
      let waitedUntilMs = -Infinity;
      for (const pending of batch) if (!pending.async) waitedUntilMs = Math.max(waitedUntilMs, pending.answerByMs);
      const timeoutMs = waitedUntilMs === -Infinity || waitedUntilMs === Infinity ? undefined
        : Math.max(1, Math.ceil(waitedUntilMs + deadlineMarginMs - clock.now()));
      const command = buildCommand(InsertColumnar, request, undefined);
      proposal = timeoutMs === undefined ? target.propose(groupId, command) : target.propose(groupId, command, timeoutMs);
    } catch (error) {
      proposal = Promise.reject(error);
    } finally {
      for (const pending of batch) pending.lease?.release();
    }
    let response: InsertResponse;
    try {
      response = readCommandResult(InsertColumnar, await proposal);
    } catch (error) {
      for (const pending of batch) if (!pending.async) pending.reject(error);
      return false;
    }
    answerBatch(batch, order, response);
    return true;
  };

  return {
    insert(stream, events, async, lease, deadlineMs) {
      const refused = (error: unknown): Promise<InsertResponse> => {
        lease?.release();
        return Promise.reject(error);
      };
      if (closed) return refused(new HostError(HostErrorCode.Stopped, "insert buffer is closed"));
      const count = events.timestamps.length;
      const { leader, leaderHint } = target.leadership(stream.groupId);
      if (!leader) return refused(notLeader(stream.groupId, leaderHint));
      if (count === 0) {
        lease?.release();
        return Promise.resolve(create(InsertResponseSchema, { accepted: 0 }));
      }
      const buffer = streamBufferOf(stream);
      buffer.latestInsertEvents = count;
      buffer.incomingEvents = Math.max(0, buffer.incomingEvents - count);
      const now = clock.now();
      const answerByMs = deadlineMs === undefined ? Infinity : deadlineMs - deadlineMarginMs;
      // Refused for the queue before the events are checked: under overload most inserts are refused,
      // and the check (~0.3 µs per event) was spent on each of them for nothing.
      const refusal = queueRefusal(buffer, count, async, now, answerByMs);
      if (refusal !== undefined) return refused(refusal);
      try {
        stream.check({ kind: "insert", stream: stream.stream, timestamps: events.timestamps,
          columns: { ...events.columns, [EVENT_ID_FIELD]: events.ids } });
      } catch (error) {
        // The engine's refusal of a bad event (NaN, ±Infinity, a fraction in an int64 field …) is the
        // caller's InvalidArgument, as in the apply; unmapped it reached callers as Internal.
        return refused(toStateMachineError(error));
      }
      const bytes = estimateInsertBytes(events);
      if (bytes > options.maxProposalBytes) {
        return refused(new HostError(HostErrorCode.InvalidArgument,
          `insert of about ${bytes} bytes into '${stream.stream}', allowed ≤ ${options.maxProposalBytes}: split it`));
      }
      return new Promise<InsertResponse>((resolve, reject) => {
        const pending = { arrivedMs: now, answerByMs, events, bytes, async, lease, resolve, reject };
        // queueRefusal found room for it (nothing ran since): buffered now, or waiting for room.
        if (buffer.waiting.length === 0 && hasRoom(buffer, count, async)) {
          admit(buffer, pending);
          return;
        }
        const deadline = Math.min(now + admissionTimeoutMs, answerByMs);
        buffer.waiting.push({ ...pending, deadline });
        buffer.waitingEvents += count;
        buffer.waitersDueMs = Math.min(buffer.waitersDueMs, deadline);
        ensureWatch();
      });
    },
    refusalBefore(streamName, deadlineMs) {
      const buffer = byName.get(streamName);
      if (closed || buffer === undefined || !target.leadership(buffer.info.groupId).leader) return undefined;
      const now = clock.now();
      if (now >= buffer.incomingResetMs) {
        buffer.incomingEvents = 0;
        buffer.incomingResetMs = now + incomingHoldMs;
      }
      // The events are not read yet: as many as the stream's latest insert (the queue is bounded by
      // admission, so only an insert of some size can be over it), behind those let through before
      // whose bodies are still on their way.
      const error = queueRefusal(buffer, buffer.latestInsertEvents + buffer.incomingEvents, undefined, now,
        deadlineMs === undefined ? Infinity : deadlineMs - deadlineMarginMs, buffer.incomingEvents);
      if (error !== undefined) return { error, groupId: buffer.info.groupId };
      buffer.incomingEvents += buffer.latestInsertEvents;
      return undefined;
    },
    arenaOf(stream) {
      const key = keyOf(stream.groupId, stream.stream);
      const columns = stream.fields.filter((field) => field.type === "double" || field.type === "int64")
        .map((field) => field.name);
      const signature = columns.join("\u0000");
      const kept = arenas.get(key);
      if (kept !== undefined && kept.signature === signature) return kept.arena;
      // A new schema: new memory (inserts in the old one keep it until released).
      const arena = new ColumnArena(columns);
      if (arenas.size > 10_000) arenas.clear();
      arenas.set(key, { signature, arena });
      return arena;
    },
    statistics() {
      let bufferedEvents = 0;
      let inFlightEvents = 0;
      let waitingEvents = 0;
      let applyRatePerSecond: number | undefined;
      for (const buffer of streams.values()) {
        bufferedEvents += buffer.bufferedEvents;
        inFlightEvents += buffer.inFlightEvents;
        waitingEvents += buffer.waitingEvents;
        if (buffer.appliedPerMs !== undefined) {
          applyRatePerSecond = Math.min(applyRatePerSecond ?? Infinity, buffer.appliedPerMs * 1000);
        }
      }
      return { bufferedEvents, inFlightEvents, waitingEvents, flushes, applyRatePerSecond };
    },
    close() {
      closed = true;
      watchTimer?.cancel();
      for (const buffer of streams.values()) failQueued(buffer, new HostError(HostErrorCode.Stopped, "node stopping"));
    },
  };
}

/** Hands each caller of a merged batch its share of the result (its own duplicate rows). */
function answerBatch(batch: readonly Pending[], order: Uint32Array | undefined,
  response: InsertResponse): void {
  const starts: number[] = [];
  let offset = 0;
  for (const pending of batch) {
    starts.push(offset);
    offset += pending.events.timestamps.length;
  }
  const duplicateRows: number[][] = batch.map(() => []);
  for (const mergedRow of response.duplicateRows) {
    const flat = order === undefined ? mergedRow : order[mergedRow]!;
    let caller = starts.length - 1;
    while (starts[caller]! > flat) caller -= 1;
    duplicateRows[caller]!.push(flat - starts[caller]!);
  }
  batch.forEach((pending, caller) => {
    if (pending.async) return;
    const rows = duplicateRows[caller]!.sort((a, b) => a - b);
    pending.resolve(create(InsertResponseSchema, {
      accepted: pending.events.timestamps.length - rows.length, duplicates: rows.length, duplicateRows: rows,
    }));
  });
}
