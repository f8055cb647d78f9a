import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { HostErrorCode, isHostError } from "../../../framework/host/index.js";
import {
  buildCommand, decodeEnvelopeBatch, encodeEnvelopeBatch, isStateMachineError, readCommandResult, stampEnvelopeBatch, StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import { createManualClock } from "../../../framework/transport/index.js";
import { createInsertChecker, createMemoryFileSystem } from "../engine/index.js";
import { CreateStreamRequestSchema, FieldType } from "../gen/eventstore/v1/eventstore_pb.js";
import { CreateStream, Insert } from "../service/descriptors.js";
import { insertCommandCodec } from "../service/insert-codec.js";
import { InsertColumnar } from "../service/insert-columnar.js";
import { createEventStoreMachine } from "../service/event-store-machine.js";
import { createInsertBuffer, type BufferedStream } from "../service/insert-buffer.js";
import type { ColumnarEvents } from "../service/columnar-events.js";
import { MergeScratch, mergeSorted } from "../service/columnar-events.js";
import fc from "fast-check";
import { Code } from "@connectrpc/connect";
import { OverloadedSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import { earlyInsertRefusal } from "../node/insert-route.js";
import { insertDeadlineHeader, insertStreamHeader } from "../service/insert-wire.js";
import { resolveStreamSettings } from "../service/stream-settings.js";
import { storedSchemaOf, userFieldsOf } from "../service/stream-schema.js";

/**
 * The buffer against a real event store machine (memory file system) as its
 * raft group: proposals apply in order, and can be held back to model a slow
 * commit. Time is a manual clock.
 */
async function setup(flushEvents: number, maxPendingEvents: number, flushWhenIdle = false,
  nextTurn?: (callback: () => void) => { cancel(): void }) {
  const clock = createManualClock();
  const { machine, state } = createEventStoreMachine({ partitionId: 1, fileSystem: createMemoryFileSystem(), directory: "/p" });
  await machine.open();
  let index = 0;
  const apply = async (command: Uint8Array) => {
    index += 1;
    const [result] = await machine.apply([{ index, term: 1, data: stampEnvelopeBatch(command, 1) }]);
    return result!;
  };
  const createRequest = create(CreateStreamRequestSchema, {
    stream: "s", fields: [{ name: "price", type: FieldType.DOUBLE, aggregated: true }] });
  readCommandResult(CreateStream, await apply(buildCommand(CreateStream, createRequest, undefined)));
  const proposed: number[][] = [];
  /** The host deadline each proposal was given (undefined: the host's default). */
  const timeouts: (number | undefined)[] = [];
  let hold: Promise<void> | undefined;
  const leadership = { leader: true, leaderHint: 0 };
  const buffer = createInsertBuffer({
    clock, maxProposalBytes: 1 << 20, flushWhenIdle, ...(nextTurn === undefined ? {} : { nextTurn }),
    target: {
      leadership: () => leadership,
      propose: async (_group, command, timeoutMs) => {
        timeouts.push(timeoutMs);
        const [envelope] = decodeEnvelopeBatch(command);
        proposed.push(Insert.request.decode(envelope!.payload).events!.timestamps);
        if (hold !== undefined) await hold;
        return apply(command);
      },
    },
  });
  const schema = storedSchemaOf("s", createRequest.fields);
  const stream: BufferedStream = {
    groupId: 1, stream: "s", fields: userFieldsOf(schema),
    settings: { ...resolveStreamSettings(undefined, 0), flushEvents, flushDelayMs: 5, maxPendingEvents },
    check: createInsertChecker("s", schema, 32 * 1024),
  };
  const events = (timestamps: number[], ids: string[] = []): ColumnarEvents => ({
    timestamps, columns: { price: timestamps.map((t) => t / 10) },
    ids: ids.length > 0 ? ids : timestamps.map(() => ""),
  });
  const count = () => state.store().aggregate("s").count;
  return {
    clock, buffer, stream, events, proposed, timeouts, count, leadership,
    holdProposals: () => { let release!: () => void; hold = new Promise((r) => { release = r; }); return () => { hold = undefined; release(); }; },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("leader insert buffer", () => {
  it("flushes at flushEvents as one proposal, sorted by timestamp, and answers sync callers once applied", async () => {
    const t = await setup(4, 100);
    const first = t.buffer.insert(t.stream, t.events([40, 10]), false);
    await settle();
    expect(t.proposed).toEqual([]);
    const second = t.buffer.insert(t.stream, t.events([30, 20]), false);
    expect((await first).accepted).toBe(2);
    expect((await second).accepted).toBe(2);
    expect(t.proposed).toEqual([[10, 20, 30, 40]]);
    expect(t.count()).toBe(4);
  });

  it("flushes after flushDelayMs when the size is not reached", async () => {
    const t = await setup(100, 1000);
    const insert = t.buffer.insert(t.stream, t.events([5]), false);
    t.clock.advance(4);
    await settle();
    expect(t.proposed).toEqual([]);
    t.clock.advance(1);
    expect((await insert).accepted).toBe(1);
    expect(t.proposed).toEqual([[5]]);
  });

  it("answers async callers when buffered, before anything is proposed", async () => {
    const t = await setup(100, 1000);
    const response = await t.buffer.insert(t.stream, t.events([1, 2, 3]), true);
    expect(response.accepted).toBe(3);
    expect(t.proposed).toEqual([]);
    t.clock.advance(5);
    await settle();
    expect(t.count()).toBe(3);
  });

  it("slows callers down when full (they wait), refuses with Overloaded beyond the waiting room", async () => {
    const t = await setup(2, 4);
    const release = t.holdProposals();
    const inFlight = [t.buffer.insert(t.stream, t.events([1, 2]), false), t.buffer.insert(t.stream, t.events([3, 4]), false)];
    const waiting = t.buffer.insert(t.stream, t.events([5, 6, 7]), false);
    let waited = false;
    void waiting.then(() => { waited = true; });
    await settle();
    // One proposal in flight before a rate is known (maxInFlightMs), the other buffered behind it.
    expect(t.buffer.statistics()).toMatchObject({ bufferedEvents: 2, inFlightEvents: 2, waitingEvents: 3 });
    await expect(t.buffer.insert(t.stream, t.events([8, 9]), false)).rejects.toSatisfy(
      (error) => isHostError(error, HostErrorCode.Overloaded));
    expect(waited).toBe(false);
    release();
    await Promise.all(inFlight);
    t.clock.advance(5);
    expect((await waiting).accepted).toBe(3);
    expect(t.count()).toBe(7);
  });

  it("fails buffered sync inserts with NotLeader when leadership is lost; nothing of them is applied", async () => {
    const t = await setup(100, 1000);
    const sync = t.buffer.insert(t.stream, t.events([1, 2]), false);
    t.leadership.leader = false;
    t.leadership.leaderHint = 3;
    t.clock.advance(20);
    await expect(sync).rejects.toSatisfy((error) => isHostError(error, HostErrorCode.NotLeader) && error.leaderHint === 3);
    t.clock.advance(100);
    await settle();
    expect(t.proposed).toEqual([]);
    await expect(t.buffer.insert(t.stream, t.events([3]), false)).rejects.toSatisfy(
      (error) => isHostError(error, HostErrorCode.NotLeader));
  });

  it("hands each caller of a merged batch its own duplicate rows", async () => {
    const t = await setup(3, 100);
    const alone = t.buffer.insert(t.stream, t.events([10], ["a"]), false);
    t.clock.advance(5);
    expect((await alone).duplicates).toBe(0);
    const mixed = [t.buffer.insert(t.stream, t.events([30, 10], ["b", "a"]), false),
      t.buffer.insert(t.stream, t.events([20], ["b"]), false)];
    const [first, second] = await Promise.all(mixed);
    // Sorted: 10(a, dup) 20(b) 30(b, dup within the batch, after 20).
    expect(first!.duplicateRows).toEqual([0, 1]);
    expect(second!.duplicateRows).toEqual([]);
    expect(t.count()).toBe(2);
  });

  it("refuses a bad insert alone, before it joins a batch", async () => {
    const t = await setup(2, 100);
    const good = t.buffer.insert(t.stream, t.events([1]), false);
    const refused = t.buffer.insert(t.stream, { ...t.events([2]), columns: { price: [Number.NaN] } }, false);
    await expect(refused).rejects.toThrow(/NaN/);
    // The caller's InvalidArgument (as the apply says it), not an engine error that callers saw as Internal.
    await expect(refused).rejects.toSatisfy((error) => isStateMachineError(error, StateMachineErrorCode.InvalidArgument));
    t.clock.advance(5);
    expect((await good).accepted).toBe(1);
  });
});

describe("leader insert buffer with inserts decoded into the stream's column memory (arenaOf, leases)", () => {
  /** An insert as the binary route decodes it: timestamps and price in rows reserved from the stream's arena. */
  const inArena = (t: Awaited<ReturnType<typeof setup>>, timestamps: number[], price = (ts: number) => ts / 10) => {
    const rows = t.buffer.arenaOf(t.stream).reserve(timestamps.length);
    const column = rows.column("price")!;
    timestamps.forEach((ts, row) => { rows.timestamps[row] = ts; column[row] = price(ts); });
    return { events: { timestamps: rows.timestamps, columns: { price: column }, ids: timestamps.map(() => "") }, lease: rows.lease };
  };

  it("releases the rows once merged into a proposal (before it applies) and stores exactly the events", async () => {
    const t = await setup(6, 100);
    const arena = t.buffer.arenaOf(t.stream);
    const release = t.holdProposals();
    const parts = [[40, 10], [30, 20], [60, 50]].map((timestamps) => inArena(t, timestamps));
    expect(arena.reservedRows()).toBe(6);
    const answers = parts.map(({ events, lease }) => t.buffer.insert(t.stream, events, false, lease));
    await settle();
    expect(t.proposed).toEqual([[10, 20, 30, 40, 50, 60]]);
    // Proposed and not applied: the rows are free already (the proposal holds its own bytes).
    expect(arena.reservedRows()).toBe(0);
    // Rows taken again at once (the same memory) do not change what was proposed.
    const reuse = inArena(t, [1, 2, 3, 4, 5, 6], () => Number.NaN);
    expect(reuse.events.timestamps.buffer).toBe(parts[0]!.events.timestamps.buffer);
    reuse.lease.release();
    release();
    for (const answer of answers) expect((await answer).accepted).toBe(2);
    expect(t.count()).toBe(6);
  });

  it("releases the rows of every insert it refuses or fails: bad, too large, overloaded, not leader, closed", async () => {
    const t = await setup(100, 4);
    const arena = t.buffer.arenaOf(t.stream);
    const bad = inArena(t, [1], () => Number.NaN);
    await expect(t.buffer.insert(t.stream, bad.events, false, bad.lease)).rejects.toThrow(/NaN/);
    expect(arena.reservedRows()).toBe(0);
    const large = inArena(t, Array.from({ length: 70_000 }, (_, row) => row));
    await expect(t.buffer.insert(t.stream, large.events, false, large.lease)).rejects.toThrow(/split it/);
    expect(arena.reservedRows()).toBe(0);
    // Waiting room full: Overloaded.
    const release = t.holdProposals();
    const held = [inArena(t, [1, 2, 3, 4]), inArena(t, [5, 6, 7, 8])];
    const answers = Promise.allSettled(held.map(({ events, lease }) => t.buffer.insert(t.stream, events, false, lease)));
    const over = inArena(t, [9]);
    await expect(t.buffer.insert(t.stream, over.events, false, over.lease)).rejects.toSatisfy(
      (error) => isHostError(error, HostErrorCode.Overloaded));
    expect(arena.reservedRows()).toBe(8);
    // The first insert is proposed (held) and released; the second waits for room.
    t.clock.advance(5);
    await settle();
    expect(arena.reservedRows()).toBe(4);
    // Leadership lost: buffered and waiting inserts fail NotLeader, their rows free.
    t.leadership.leader = false;
    t.clock.advance(20);
    await settle();
    expect(arena.reservedRows()).toBe(0);
    const notLeader = inArena(t, [20]);
    await expect(t.buffer.insert(t.stream, notLeader.events, false, notLeader.lease)).rejects.toSatisfy(
      (error) => isHostError(error, HostErrorCode.NotLeader));
    expect(arena.reservedRows()).toBe(0);
    t.leadership.leader = true;
    release();
    const [proposed, waited] = await answers;
    expect(proposed?.status).toBe("fulfilled");
    expect(waited).toMatchObject({ status: "rejected", reason: { code: HostErrorCode.NotLeader } });
    const buffered = inArena(t, [30]);
    const pending = t.buffer.insert(t.stream, buffered.events, false, buffered.lease);
    expect(arena.reservedRows()).toBe(1);
    t.buffer.close();
    await expect(pending).rejects.toSatisfy((error) => isHostError(error, HostErrorCode.Stopped));
    const closed = inArena(t, [31]);
    await expect(t.buffer.insert(t.stream, closed.events, false, closed.lease)).rejects.toSatisfy(
      (error) => isHostError(error, HostErrorCode.Stopped));
    expect(arena.reservedRows()).toBe(0);
  });
});

describe("leader insert buffer, admission by expected wait", () => {
  it("refuses at once an insert that would wait beyond the admission timeout at the measured apply rate", async () => {
    const t = await setup(100, 100_000);
    // 100 events applied over the first 1000 ms window: 0.1 events/ms, so 5000 ms hold ~500 events.
    const first = t.buffer.insert(t.stream, t.events(Array.from({ length: 100 }, (_, i) => i)), false);
    t.clock.advance(1000);
    expect((await first).accepted).toBe(100);
    const release = t.holdProposals();
    const queued = t.buffer.insert(t.stream, t.events(Array.from({ length: 300 }, (_, i) => 1000 + i)), false);
    await settle();
    const refused = t.buffer.insert(t.stream, t.events(Array.from({ length: 300 }, (_, i) => 2000 + i)), false);
    await expect(refused).rejects.toSatisfy((error) => isHostError(error, HostErrorCode.Overloaded) &&
      /would wait ~6000 ms \(300 events ahead at 100 events\/s\), allowed 5000 ms/.test(String(error)));
    const fits = t.buffer.insert(t.stream, t.events(Array.from({ length: 100 }, (_, i) => 3000 + i)), false);
    t.clock.advance(5);
    release();
    expect((await queued).accepted).toBe(300);
    expect((await fits).accepted).toBe(100);
    expect(t.count()).toBe(500);
  });

  it("slows async callers (they wait) once a second of work is queued, instead of queuing until refused", async () => {
    const t = await setup(50, 100_000);
    // 100 events applied over the first 1000 ms window: 0.1 events/ms, so one second of work is 100 events.
    const first = t.buffer.insert(t.stream, t.events(Array.from({ length: 100 }, (_, i) => i)), false);
    t.clock.advance(1000);
    expect((await first).accepted).toBe(100);
    const release = t.holdProposals();
    expect((await t.buffer.insert(t.stream, t.events(Array.from({ length: 60 }, (_, i) => 1000 + i)), true))
      .accepted).toBe(60);
    let answered = false;
    const second = t.buffer.insert(t.stream, t.events(Array.from({ length: 60 }, (_, i) => 2000 + i)), true);
    void second.then(() => { answered = true; });
    await settle();
    // 60 in flight + 60 would be 1200 ms of work: the second waits, neither refused nor answered.
    expect(answered).toBe(false);
    expect(t.buffer.statistics()).toMatchObject({ inFlightEvents: 60, waitingEvents: 60 });
    release();
    expect((await second).accepted).toBe(60);
    t.clock.advance(5);
    await settle();
    expect(t.count()).toBe(220);
  });

  it("measures the apply rate over busy time only: an idle stream is not refused at its next burst", async () => {
    const t = await setup(100, 100_000);
    const applyHundred = async (from: number) => {
      const insert = t.buffer.insert(t.stream, t.events(Array.from({ length: 100 }, (_, i) => from + i)), false);
      t.clock.advance(500);
      expect((await insert).accepted).toBe(100);
    };
    // Two proposals of 100 events, 500 ms each, 10 s idle between: 200 events in 1000 ms busy.
    await applyHundred(0);
    t.clock.advance(10_000);
    await applyHundred(1000);
    const release = t.holdProposals();
    const queued = t.buffer.insert(t.stream, t.events(Array.from({ length: 600 }, (_, i) => 2000 + i)), false);
    await settle();
    // At 0.2 events/ms, 900 events are 4500 ms of work: admitted (over wall time, 200 / 11 s, it was refused).
    const next = t.buffer.insert(t.stream, t.events(Array.from({ length: 300 }, (_, i) => 3000 + i)), false);
    t.clock.advance(5);
    release();
    expect((await queued).accepted).toBe(600);
    expect((await next).accepted).toBe(300);
    expect(t.count()).toBe(1100);
  });

  it("measures the apply rate over several windows: one slow window does not refuse what the stream drains, a sustained slowdown does", async () => {
    const t = await setup(1000, 1_000_000);
    let next = 0;
    const timestamps = (count: number) => Array.from({ length: count }, () => next++);
    /** One proposal of `count` events in flight for `ms`: one rate window when ms >= 1000. */
    const applyFor = async (count: number, ms: number) => {
      const insert = t.buffer.insert(t.stream, t.events(timestamps(count)), false);
      t.clock.advance(ms);
      expect((await insert).accepted).toBe(count);
    };
    // Three windows at 10 events/ms, then one slow window (a stall: 1000 events in 2000 ms, 0.5 events/ms).
    for (let window = 0; window < 3; window++) await applyFor(10_000, 1000);
    await applyFor(1000, 2000);
    expect(t.buffer.statistics().applyRatePerSecond).toBeCloseTo(31_000 / 5, 6);
    // 6000 events ahead: ~1 s at the rate of the last four windows, 12 s at the slow window's alone
    // (before: refused Overloaded, "would wait ~12000 ms ... at 500 events/s").
    let release = t.holdProposals();
    const held = [t.buffer.insert(t.stream, t.events(timestamps(1000)), false),
      t.buffer.insert(t.stream, t.events(timestamps(2000)), false)];
    await settle();
    held.push(t.buffer.insert(t.stream, t.events(timestamps(3000)), false));
    t.clock.advance(5);
    release();
    expect((await Promise.all(held)).map((answer) => answer.accepted)).toEqual([1000, 2000, 3000]);
    // A sustained slowdown: once the last four windows are all slow, the same queue is refused.
    for (let window = 0; window < 5; window++) await applyFor(1000, 2000);
    expect(t.buffer.statistics().applyRatePerSecond).toBeCloseTo(500, 6);
    release = t.holdProposals();
    const inFlight = t.buffer.insert(t.stream, t.events(timestamps(1000)), false);
    await settle();
    await expect(t.buffer.insert(t.stream, t.events(timestamps(2000)), false)).rejects.toSatisfy((error) =>
      isHostError(error, HostErrorCode.Overloaded) &&
      /would wait ~6000 ms \(1000 events ahead at 500 events\/s\), allowed 5000 ms/.test(String(error)));
    t.clock.advance(5);
    release();
    expect((await inFlight).accepted).toBe(1000);
    expect(t.count()).toBe(next - 2000);
  });

  it("refuses a rateWindows that is not an integer >= 1, naming it", () => {
    const target = { leadership: () => ({ leader: true, leaderHint: 0 }), propose: async () => new Uint8Array(0) };
    for (const rateWindows of [0, -1, 2.5, Number.NaN]) {
      expect(() => createInsertBuffer({ target, clock: createManualClock(), maxProposalBytes: 1 << 20, rateWindows }))
        .toThrow(/rateWindows = .*, allowed an integer >= 1/);
    }
  });

  it("keeps one proposal in flight before a rate is known and proposes the rest as proposals apply", async () => {
    const t = await setup(4, 100);
    const release = t.holdProposals();
    const calls = [0, 1, 2].map((call) => t.buffer.insert(t.stream, t.events([call * 10 + 1, call * 10 + 2, call * 10 + 3, call * 10 + 4]), false));
    await settle();
    expect(t.proposed).toHaveLength(1);
    expect(t.buffer.statistics()).toMatchObject({ bufferedEvents: 8, inFlightEvents: 4 });
    release();
    const answers = await Promise.all(calls);
    expect(answers.map((answer) => answer.accepted)).toEqual([4, 4, 4]);
    // The two held back went as one proposal once the first applied.
    expect(t.proposed).toEqual([[1, 2, 3, 4], [11, 12, 13, 14, 21, 22, 23, 24]]);
    expect(t.count()).toBe(12);
  });

  it("refuses a sync insert still unproposed after the admission timeout with Overloaded; it is never written", async () => {
    const t = await setup(2, 100);
    const release = t.holdProposals();
    const first = t.buffer.insert(t.stream, t.events([1, 2]), false);
    const second = t.buffer.insert(t.stream, t.events([3, 4]), false);
    const asyncCall = t.buffer.insert(t.stream, t.events([5, 6]), true);
    await settle();
    expect(t.proposed).toHaveLength(1);
    expect((await asyncCall).accepted).toBe(2);
    let refused: unknown;
    void second.catch((error: unknown) => { refused = error; });
    for (let elapsed = 0; elapsed < 4_980; elapsed += 20) t.clock.advance(20);
    await settle();
    expect(refused).toBeUndefined();
    t.clock.advance(40);
    await settle();
    expect(isHostError(refused, HostErrorCode.Overloaded)).toBe(true);
    expect(String(refused)).toContain("not proposed within 5000 ms");
    release();
    expect((await first).accepted).toBe(2);
    await t.buffer.insert(t.stream, t.events([7, 8]), false);
    // The refused insert's events were never proposed; the async one (answered) was.
    expect(t.proposed.flat().sort((a, b) => a - b)).toEqual([1, 2, 5, 6, 7, 8]);
    expect(t.count()).toBe(6);
  });
});

describe("leader insert buffer and the caller's deadline", () => {
  /** A stream whose apply rate is measured at 100 events/s (0.1 per ms): 100 events applied over 1000 ms. */
  async function measured(flushEvents = 100) {
    const t = await setup(flushEvents, 100_000);
    const first = t.buffer.insert(t.stream, t.events(Array.from({ length: 100 }, (_, i) => i)), false);
    t.clock.advance(1000);
    expect((await first).accepted).toBe(100);
    return t;
  }
  const timestamps = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

  it("refuses up front, typed and with the estimate, an insert whose deadline is shorter than the queue ahead; it is never stored", async () => {
    const t = await measured();
    const release = t.holdProposals();
    const queued = t.buffer.insert(t.stream, t.events(timestamps(1000, 100)), false);
    await settle();
    // 100 in flight + 100 more: ~2000 ms at 100 events/s. A deadline 1500 ms away (1450 less the margin) is short.
    const short = t.buffer.insert(t.stream, t.events(timestamps(2000, 100)), false, undefined, t.clock.now() + 1500);
    await expect(short).rejects.toSatisfy((error) => isHostError(error, HostErrorCode.Overloaded) &&
      /would wait ~2000 ms \(100 events ahead at 100 events\/s\), the call's deadline leaves 1450 ms: nothing of it written/
        .test(String(error)));
    // A deadline the queue fits in, and none at all: admitted.
    const long = t.buffer.insert(t.stream, t.events(timestamps(3000, 100)), false, undefined, t.clock.now() + 4000);
    const none = t.buffer.insert(t.stream, t.events(timestamps(4000, 50)), false);
    // A deadline already (nearly) passed on arrival: refused whatever the queue.
    await expect(t.buffer.insert(t.stream, t.events(timestamps(5000, 1)), false, undefined, t.clock.now() + 10))
      .rejects.toSatisfy((error) => isHostError(error, HostErrorCode.Overloaded) &&
        /the call's deadline leaves 10 ms \(50 ms are kept for the answer\): nothing of it written/.test(String(error)));
    t.clock.advance(1000);
    release();
    expect((await queued).accepted).toBe(100);
    t.clock.advance(5);
    expect((await long).accepted).toBe(100);
    expect((await none).accepted).toBe(50);
    const stored = t.proposed.flat();
    expect(stored.filter((timestamp) => timestamp >= 2000 && timestamp < 3000)).toEqual([]);
    expect(stored.filter((timestamp) => timestamp >= 5000)).toEqual([]);
    expect(t.count()).toBe(350);
  });

  it("gives each proposal the latest deadline of its sync inserts as its host deadline (none if one has none)", async () => {
    const t = await setup(1000, 100_000);
    const now = t.clock.now();
    const merged = [t.buffer.insert(t.stream, t.events([1, 2]), false, undefined, now + 3000),
      t.buffer.insert(t.stream, t.events([3]), false, undefined, now + 8000),
      t.buffer.insert(t.stream, t.events([4]), true, undefined, now + 60_000)];
    t.clock.advance(5);
    await Promise.all(merged);
    const withoutDeadline = [t.buffer.insert(t.stream, t.events([5]), false, undefined, now + 3000),
      t.buffer.insert(t.stream, t.events([6]), false)];
    t.clock.advance(5);
    await Promise.all(withoutDeadline);
    const asyncOnly = t.buffer.insert(t.stream, t.events([7]), true, undefined, now + 3000);
    t.clock.advance(5);
    await asyncOnly;
    await settle();
    // 8000 ms from arrival, 5 ms later: 7995 (the async insert's deadline does not count: it was answered).
    expect(t.timeouts).toEqual([7995, undefined, undefined]);
    expect(t.count()).toBe(7);
  });

  it("answers an async insert once buffered: a deadline shorter than the queue refuses a sync insert, not an async one", async () => {
    const t = await measured();
    const release = t.holdProposals();
    const inFlight = t.buffer.insert(t.stream, t.events(timestamps(1000, 50)), false);
    t.clock.advance(5);
    await settle();
    expect(t.buffer.statistics().inFlightEvents).toBe(50);
    // 50 in flight + 10: ~600 ms at 100 events/s; the deadline leaves 250 ms.
    await expect(t.buffer.insert(t.stream, t.events(timestamps(2000, 10)), false, undefined, t.clock.now() + 300))
      .rejects.toSatisfy((error) => isHostError(error, HostErrorCode.Overloaded) &&
        /would wait ~600 ms .*the call's deadline leaves 250 ms/.test(String(error)));
    expect((await t.buffer.insert(t.stream, t.events(timestamps(3000, 10)), true, undefined, t.clock.now() + 300))
      .accepted).toBe(10);
    release();
    expect((await inFlight).accepted).toBe(50);
    const last = t.buffer.insert(t.stream, t.events(timestamps(4000, 1)), false);
    await settle();
    t.clock.advance(5);
    expect((await last).accepted).toBe(1);
    expect(t.proposed.flat().filter((timestamp) => timestamp >= 2000 && timestamp < 3000)).toEqual([]);
    expect(t.count()).toBe(161);
  });

  it("refuses a buffered insert, before its deadline, once it could no longer apply by it; never proposes it", async () => {
    const t = await measured();
    const release = t.holdProposals();
    const inFlight = t.buffer.insert(t.stream, t.events(timestamps(1000, 100)), false);
    await settle();
    expect(t.proposed).toHaveLength(2);
    // ~1500 ms of work with it, 2050 ms left: admitted, held back by the in-flight bound (100 events = 1 s of work).
    const deadlineMs = t.clock.now() + 2100;
    let refused: unknown;
    const held = t.buffer.insert(t.stream, t.events(timestamps(2000, 50)), false, undefined, deadlineMs);
    void held.catch((error: unknown) => { refused = error; });
    await settle();
    expect(t.buffer.statistics()).toMatchObject({ bufferedEvents: 50, inFlightEvents: 100 });
    // The proposal in flight stalls: once the insert could not apply by its deadline were it proposed now
    // (1500 ms of work ahead of 2050 ms: from 550 ms on), it is refused — well before the deadline.
    for (let elapsed = 0; elapsed < 500; elapsed += 20) t.clock.advance(20);
    await settle();
    expect(refused).toBeUndefined();
    for (let elapsed = 0; elapsed < 100; elapsed += 20) t.clock.advance(20);
    await settle();
    expect(isHostError(refused, HostErrorCode.Overloaded)).toBe(true);
    expect(String(refused)).toMatch(/the call's deadline leaves \d+ ms and its events would apply in ~1500 ms .*not proposed, nothing of it written/);
    expect(t.clock.now()).toBeLessThan(deadlineMs);
    release();
    expect((await inFlight).accepted).toBe(100);
    await settle();
    expect(t.proposed).toHaveLength(2);
    expect(t.count()).toBe(200);
  });

  it("tells from the queue alone, before an insert's body is read, that it would be refused (refusalBefore, earlyInsertRefusal)", async () => {
    const t = await measured();
    expect(t.buffer.refusalBefore("s")).toBeUndefined();
    const release = t.holdProposals();
    const queued = [t.buffer.insert(t.stream, t.events(timestamps(1000, 100)), false)];
    await settle();
    // 100 events in flight, and the next insert taken as large as the latest (100): ~2000 ms at 100 events/s,
    // within the admission timeout. A deadline shorter than that is left to insert() (an async insert is
    // answered once buffered, and the body says which it is); a deadline (nearly) past is refused here.
    expect(t.buffer.refusalBefore("s")).toBeUndefined();
    expect(t.buffer.refusalBefore("s", t.clock.now() + 1900)).toBeUndefined();
    const short = t.buffer.refusalBefore("s", t.clock.now() + 40);
    expect(short?.groupId).toBe(1);
    expect(isHostError(short?.error, HostErrorCode.Overloaded)).toBe(true);
    expect(String(short?.error)).toMatch(/the call's deadline leaves 40 ms \(50 ms are kept for the answer\): nothing of it written/);
    // Four more inserts of 100 fill the queue to 5000 ms of work: the next of 100 would wait ~6000 ms.
    for (let from = 2000; from < 6000; from += 1000) queued.push(t.buffer.insert(t.stream, t.events(timestamps(from, 100)), false));
    await settle();
    const full = t.buffer.refusalBefore("s");
    expect(String(full?.error)).toMatch(/would wait ~6000 ms \(500 events ahead at 100 events\/s\), allowed 5000 ms/);
    const answer = earlyInsertRefusal(t.buffer, { timeoutMs: undefined, deadlineMs: undefined, headers: { [insertStreamHeader]: "s" } });
    expect(answer?.code).toBe(Code.ResourceExhausted);
    expect(answer?.findDetails(OverloadedSchema).map((detail) => detail.groupId)).toEqual([1n]);
    // Not named, not buffered here, or not led here: the body decides.
    expect(earlyInsertRefusal(t.buffer, { timeoutMs: undefined, deadlineMs: undefined, headers: {} })).toBeUndefined();
    expect(earlyInsertRefusal(t.buffer, { timeoutMs: undefined, deadlineMs: undefined, headers: { [insertStreamHeader]: "other" } }))
      .toBeUndefined();
    expect(t.buffer.refusalBefore("other")).toBeUndefined();
    t.leadership.leader = false;
    expect(t.buffer.refusalBefore("s")).toBeUndefined();
    t.leadership.leader = true;
    release();
    t.clock.advance(5);
    const answers = await Promise.allSettled(queued);
    expect(answers.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(answers.length);
  });

  it("counts the inserts it let through before their bodies arrived: a burst of headers in one turn is not all let through", async () => {
    const t = await measured();
    const release = t.holdProposals();
    const queued = [t.buffer.insert(t.stream, t.events(timestamps(1000, 100)), false)];
    await settle();
    // 100 events in flight at 100 events/s. Headers of five inserts of 100 parsed in one turn: the
    // first four would wait 2000, 3000, 4000, 5000 ms behind those let through before them; the fifth
    // ~6000 ms, over the 5000 ms allowed. Before, each was judged on the same queue and all five passed.
    const decisions = Array.from({ length: 5 }, () => t.buffer.refusalBefore("s"));
    expect(decisions.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
    expect(isHostError(decisions[4]?.error, HostErrorCode.Overloaded)).toBe(true);
    expect(String(decisions[4]?.error)).toMatch(
      /would wait ~6000 ms \(500 events ahead at 100 events\/s, 400 of them in inserts still arriving\), allowed 5000 ms/);
    // A body that arrives takes its own place: the queue ahead is the same, still refused.
    queued.push(t.buffer.insert(t.stream, t.events(timestamps(2000, 100)), false));
    await settle();
    expect(String(t.buffer.refusalBefore("s")?.error)).toMatch(/500 events ahead .*, 300 of them in inserts still arriving/);
    // Calls that never reach insert() (a broken stream) hold their room at most a second.
    t.clock.advance(1000);
    expect(t.buffer.refusalBefore("s")).toBeUndefined();
    release();
    t.clock.advance(5);
    const answers = await Promise.allSettled(queued);
    expect(answers.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(answers.length);
  });

  it("builds its refusals without a stack trace (each cost ~19 µs under overload), typed and with their reason", async () => {
    const t = await measured();
    const release = t.holdProposals();
    const queued = [t.buffer.insert(t.stream, t.events(timestamps(1000, 600)), false)];
    await settle();
    const refused = await t.buffer.insert(t.stream, t.events(timestamps(2000, 100)), false).then(() => undefined, (error: unknown) => error);
    expect(isHostError(refused, HostErrorCode.Overloaded)).toBe(true);
    expect(String(refused)).toMatch(/stream 's': an insert now would wait ~7000 ms .*, allowed 5000 ms, back off/);
    expect((refused as Error).stack).not.toMatch(/\n\s+at /);
    const early = earlyInsertRefusal(t.buffer, { timeoutMs: undefined, deadlineMs: undefined, headers: { [insertStreamHeader]: "s" } });
    expect(early?.code).toBe(Code.ResourceExhausted);
    expect(early?.stack).not.toMatch(/\n\s+at /);
    t.leadership.leader = false;
    const notLeader = await t.buffer.insert(t.stream, t.events(timestamps(3000, 1)), false).then(() => undefined, (error: unknown) => error);
    expect(isHostError(notLeader, HostErrorCode.NotLeader)).toBe(true);
    expect((notLeader as Error).stack).not.toMatch(/\n\s+at /);
    // Other errors keep theirs.
    expect(new Error("x").stack).toMatch(/\n\s+at /);
    t.leadership.leader = true;
    release();
    t.clock.advance(5);
    await Promise.allSettled(queued);
  });

  it("refuses unread an insert arriving over a second past its caller's wall-clock deadline (earlyInsertRefusal)", async () => {
    const t = await measured();
    const call = (deadline: string) => ({ timeoutMs: 5000, deadlineMs: t.clock.now() + 5000,
      headers: { [insertDeadlineHeader]: deadline, [insertStreamHeader]: "s" } });
    const stale = earlyInsertRefusal(t.buffer, call("1700000000000"), () => 1_700_000_001_500);
    expect(stale?.code).toBe(Code.DeadlineExceeded);
    expect(stale?.rawMessage).toBe("insert arrived 1500 ms after its caller's deadline (by the caller's clock): not read, nothing of it written " +
      "(if every insert from this client is refused so, its host's clock is behind this node's by more than 1000 ms: " +
      "synchronise the clocks)");
    // Within the clocks' tolerance, or a header that is not a time: the leader's own checks decide (here: room).
    expect(earlyInsertRefusal(t.buffer, call("1700000000000"), () => 1_700_000_000_900)).toBeUndefined();
    expect(earlyInsertRefusal(t.buffer, call("soon"), () => 1_700_000_001_500)).toBeUndefined();
    expect(earlyInsertRefusal(t.buffer, call(""), () => 1_700_000_001_500)).toBeUndefined();
  });

  it("answers an insert once proposed with its outcome, even after its deadline: a proposal is reported, never withdrawn", async () => {
    const t = await measured();
    const release = t.holdProposals();
    const deadlineMs = t.clock.now() + 2000;
    const proposed = t.buffer.insert(t.stream, t.events(timestamps(1000, 100)), false, undefined, deadlineMs);
    await settle();
    expect(t.proposed).toHaveLength(2);
    // The proposal outlives the deadline (a stall): the insert is not refused — its outcome is the apply's.
    for (let elapsed = 0; elapsed < 3000; elapsed += 20) t.clock.advance(20);
    await settle();
    release();
    expect((await proposed).accepted).toBe(100);
    expect(t.count()).toBe(200);
  });
});

describe("insert decode without a target", () => {
  it("copies packed doubles into plain, aligned ArrayBuffers even from a view into shared memory or a pooled Buffer", () => {
    const encoded = insertCommandCodec.encode({ stream: "s", async: false, events: {
      timestamps: new Float64Array([1.5, 2.5, 3.5]),
      columns: [{ name: "price", values: { case: "doubles", values: new Float64Array([10, 20, 30]) } }], ids: [] } });
    for (const backing of ["shared", "buffer"] as const) {
      // The command at an odd offset of a larger memory, as a received frame slab or a node Buffer holds it.
      const memory = backing === "shared" ? new Uint8Array(new SharedArrayBuffer(encoded.length + 7)) : Buffer.alloc(encoded.length + 7);
      memory.set(encoded, 3);
      const view = memory.subarray(3, 3 + encoded.length);
      const decoded = insertCommandCodec.decode(view);
      const price = decoded.events.columns[0]!.values;
      if (price.case !== "doubles") throw new Error(`price decoded as ${price.case}`);
      const columns = [decoded.events.timestamps, price.values];
      expect(columns.map((column) => Array.from(column))).toEqual([[1.5, 2.5, 3.5], [10, 20, 30]]);
      for (const column of columns) {
        const buffer = column.buffer;
        expect(buffer instanceof ArrayBuffer && !(buffer instanceof SharedArrayBuffer)).toBe(true);
        expect(buffer.byteLength).toBe(24);
      }
    }
  });
});

describe("leader merge with a scratch buffer", () => {
  it("gives what a merge into new arrays gives, merge after merge of the same scratch (growing it)", () => {
    const fields = [{ name: "price", type: "double" as const, aggregated: true },
      { name: "venue", type: "string" as const, aggregated: false }];
    const part = fc.array(fc.record({ timestamp: fc.integer({ min: 0, max: 50 }), price: fc.double(),
      venue: fc.string({ maxLength: 2 }), id: fc.constantFrom("", "", "a", "b") }), { maxLength: 300 });
    const plain = (events: ColumnarEvents): unknown => ({ timestamps: Array.from(events.timestamps),
      price: Array.from(events.columns["price"] as ArrayLike<number>), venue: events.columns["venue"], ids: [...events.ids] });
    const scratch = new MergeScratch();
    let merges = 0;
    fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), fc.boolean(), (parts, typed) => {
      const columnar = parts.map((rows) => ({
        timestamps: Float64Array.from(rows, (row) => row.timestamp),
        columns: { price: typed ? Float64Array.from(rows, (row) => row.price) : rows.map((row) => row.price),
          venue: rows.map((row) => row.venue) },
        ids: rows.map((row) => row.id),
      }));
      const expected = mergeSorted(columnar, fields);
      const merged = mergeSorted(columnar, fields, scratch);
      merges += 1;
      expect(plain(merged.events)).toEqual(plain(expected.events));
      expect(merged.order === undefined ? undefined : Array.from(merged.order))
        .toEqual(expected.order === undefined ? undefined : Array.from(expected.order));
      // The parts themselves are never written to.
      expect(columnar.map((events) => Array.from(events.timestamps))).toEqual(parts.map((rows) => rows.map((row) => row.timestamp)));
    }), { numRuns: 200 });
    expect(merges).toBe(200);
  });

  it("proposes the merged command encoded in place after its envelope header: encode's bytes in the envelope, with the stamp's room", () => {
    const command = { stream: "s", async: false, events: {
      timestamps: Float64Array.from({ length: 3000 }, (_, row) => row * 10),
      columns: [{ name: "price", values: { case: "doubles" as const, values: Float64Array.from({ length: 3000 }, (_, row) => row / 4) } }],
      ids: [] } };
    const built = buildCommand(InsertColumnar, command, undefined);
    const reference = encodeEnvelopeBatch([{ type: InsertColumnar.typeName, session: undefined, timestampMs: 0,
      payload: insertCommandCodec.encode(command) }]);
    // The same envelope (the stamp's room, field 15, is skipped by decoders): its payload is encode's bytes.
    expect(decodeEnvelopeBatch(built)).toEqual(decodeEnvelopeBatch(reference));
    expect(built.length).toBe(reference.length + 9);
    expect(Array.from(Insert.request.decode(decodeEnvelopeBatch(built)[0]!.payload).events!.timestamps))
      .toEqual(Array.from(command.events.timestamps));
  });

  it("flushWhenIdle with nextTurn: the idle flush waits for the next turn, not for any timer; with one in flight, for flushDelayMs", async () => {
    const turns: (() => void)[] = [];
    const nextTurn = (callback: () => void) => {
      turns.push(callback);
      return { cancel: () => { turns.splice(turns.indexOf(callback), 1); } };
    };
    const runTurns = () => { for (const callback of turns.splice(0)) callback(); };
    const t = await setup(3, 1000, true, nextTurn);
    const first = t.buffer.insert(t.stream, t.events([20]), false);
    const sameTurn = t.buffer.insert(t.stream, t.events([10]), false);
    expect(turns).toHaveLength(1);
    // No timer is involved (node clamps a 0 ms timer to 1 ms): only the next turn proposes.
    t.clock.advance(1);
    await settle();
    expect(t.proposed).toEqual([]);
    const release = t.holdProposals();
    runTurns();
    await settle();
    expect(t.proposed).toEqual([[10, 20]]);
    // In flight: the next insert waits for flushDelayMs (or the settle), not for the next turn.
    const later = t.buffer.insert(t.stream, t.events([30]), false);
    expect(turns).toHaveLength(0);
    release();
    expect((await first).accepted).toBe(1);
    expect((await sameTurn).accepted).toBe(1);
    expect((await later).accepted).toBe(1);
    expect(t.proposed).toEqual([[10, 20], [30]]);
    // Idle again, and flushEvents reached before the turn: flushed at once, the turn cancelled.
    const full = [t.buffer.insert(t.stream, t.events([40]), false), t.buffer.insert(t.stream, t.events([50, 60]), false)];
    expect(turns).toHaveLength(0);
    expect((await full[0]!).accepted).toBe(1);
    expect((await full[1]!).accepted).toBe(2);
    expect(t.proposed).toEqual([[10, 20], [30], [40, 50, 60]]);
    expect(t.count()).toBe(6);
  });

  it("flushWhenIdle: an idle stream proposes at the next turn (same-turn inserts merged); with one in flight, inserts wait and batch", async () => {
    const t = await setup(100, 1000, true);
    const first = t.buffer.insert(t.stream, t.events([20]), false);
    const sameTurn = t.buffer.insert(t.stream, t.events([10]), false);
    expect(t.proposed).toEqual([]);
    // No flushDelayMs wait: the timer is due at once.
    const release = t.holdProposals();
    t.clock.advance(0);
    await settle();
    expect(t.proposed).toEqual([[10, 20]]);
    // In flight: later inserts wait for it (not proposed at the next turn), then go as one proposal.
    const later = [t.buffer.insert(t.stream, t.events([40]), false), t.buffer.insert(t.stream, t.events([30]), true)];
    t.clock.advance(0);
    await settle();
    expect(t.proposed).toEqual([[10, 20]]);
    release();
    expect((await first).accepted).toBe(1);
    expect((await sameTurn).accepted).toBe(1);
    expect((await later[0]!).accepted).toBe(1);
    expect(t.proposed).toEqual([[10, 20], [30, 40]]);
    // Idle again: the next insert goes at once.
    const last = t.buffer.insert(t.stream, t.events([50]), false);
    await settle();
    t.clock.advance(0);
    expect((await last).accepted).toBe(1);
    expect(t.proposed).toEqual([[10, 20], [30, 40], [50]]);
    expect(t.count()).toBe(5);
    expect(t.clock.now()).toBe(0);
  });
});
