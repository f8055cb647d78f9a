import { describe, expect, it } from "vitest";
import {
  StateMachineErrorCode,
  createClientSession,
  createDeterministicRandom,
  decodeResultBatch,
  readCommandResult,
} from "../../../framework/statemachine/index.js";
import type { SessionStamp } from "../../../framework/statemachine/index.js";
import { Add, Delete, Put, createCounterKvMachine } from "./counter-kv-state-machine.js";
import { chunked, collect, commandEntry, createReplicaLog } from "./replica-log.js";

const random = () => createDeterministicRandom(99, 1, 0);

function errorCodeOf(bytes: Uint8Array): StateMachineErrorCode | "ok" {
  const [result] = decodeResultBatch(bytes, 1);
  if (result === undefined) throw new Error("no result");
  return result.ok ? "ok" : result.code;
}

function stamp(clientId: bigint, sequence: number, respondedTo = 0): SessionStamp {
  return { clientId, sequence, respondedTo };
}

describe("sessions: exactly-once", () => {
  it("applies a retried command once and returns the original result (lost ack)", async () => {
    const { machine, state } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    const session = createClientSession(random());
    const first = session.nextStamp();
    const entry = commandEntry(Add, { name: "c", delta: 5 }, first);
    const original = await log.append(entry);
    // The ack was lost; another client's command commits in between; the client retries.
    await log.append(commandEntry(Add, { name: "c", delta: 100 }, undefined));
    const retried = await log.append(entry);
    expect(retried).toEqual(original);
    expect(readCommandResult(Add, retried)).toEqual({ value: 5 });
    expect(state.counters.get("c")).toBe(105);
    expect(state.effects()).toBe(2);
    // A retry re-stamped by a later proposer (other time) is still the same command.
    const restamped = await log.append(commandEntry(Add, { name: "c", delta: 5 }, first, 9_000));
    expect(restamped).toEqual(original);
    expect(state.effects()).toBe(2);
  });

  it("caches error results too: a retried refused command answers the same error", async () => {
    const { machine, state } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    const entry = commandEntry(Delete, { name: "k" }, stamp(7n, 1));
    const first = await log.append(entry);
    expect(errorCodeOf(first)).toBe(StateMachineErrorCode.NotFound);
    // Someone else creates the key; the retry must not delete it now.
    await log.append(commandEntry(Put, { key: "k", value: "v" }, undefined));
    expect(await log.append(entry)).toEqual(first);
    expect(state.values.get("k")).toBe("v");
    expect(state.effects()).toBe(1);
  });

  it("applies pipelined sequences arriving out of order once each", async () => {
    const { machine, state } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    const two = commandEntry(Add, { name: "c", delta: 2 }, stamp(7n, 2));
    const one = commandEntry(Add, { name: "c", delta: 1 }, stamp(7n, 1));
    await log.append(two);
    await log.append(one); // the first proposal was dropped and retried after the second
    await log.append(two);
    await log.append(one);
    expect(state.counters.get("c")).toBe(3);
    expect(state.effects()).toBe(2);
  });

  it("survives snapshot and restore: a retry after restore is not applied again", async () => {
    const { machine } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    const entry = commandEntry(Put, { key: "k", value: "v" }, stamp(11n, 1));
    const original = await log.append(entry);
    await log.append(commandEntry(Put, { key: "k", value: "w" }, undefined));
    const snapshot = await collect(machine.saveSnapshot());

    const restored = createCounterKvMachine();
    await restored.machine.open();
    await restored.machine.restoreSnapshot(log.lastIndex(), chunked(snapshot, 7));
    expect(restored.machine.sessionCount()).toBe(1);
    const restoredLog = createReplicaLog(restored.machine);
    expect(await restoredLog.append(entry)).toEqual(original);
    expect(restored.state.values.get("k")).toBe("w");
    expect(restored.state.effects()).toBe(2);
  });

  it("drops acknowledged results; a late retry of one gets result_discarded", async () => {
    const { machine, state } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    const session = createClientSession(random());
    const first = session.nextStamp();
    const firstEntry = commandEntry(Add, { name: "c", delta: 1 }, first);
    await log.append(firstEntry);
    session.onDone(first.sequence);
    const second = session.nextStamp();
    expect(second.respondedTo).toBe(1);
    await log.append(commandEntry(Add, { name: "c", delta: 1 }, second));
    const late = await log.append(firstEntry);
    expect(errorCodeOf(late)).toBe(StateMachineErrorCode.ResultDiscarded);
    expect(state.effects()).toBe(2);
  });

  it("refuses, without applying, commands beyond maxResultsPerSession", async () => {
    const { machine, state } = createCounterKvMachine(1, { maxResultsPerSession: 2 });
    const log = createReplicaLog(machine);
    const session = createClientSession(random());
    const stamps = [session.nextStamp(), session.nextStamp(), session.nextStamp()];
    const codes: string[] = [];
    for (const each of stamps) {
      codes.push(errorCodeOf(await log.append(commandEntry(Add, { name: "c", delta: 1 }, each))));
    }
    expect(codes).toEqual(["ok", "ok", StateMachineErrorCode.SessionFull]);
    expect(state.effects()).toBe(2);
    session.onDone(1);
    session.onDone(2);
    // The refused sequence is retried with a fresh acknowledgement mark.
    const retry = { ...stamps[2]!, respondedTo: session.respondedTo() };
    const retried = await log.append(commandEntry(Add, { name: "c", delta: 1 }, retry));
    expect(readCommandResult(Add, retried)).toEqual({ value: 3 });
  });
});

describe("sessions: deterministic expiry", () => {
  it("expires a session idle longer than the timeout, by proposer timestamps only", async () => {
    const { machine, state } = createCounterKvMachine(1, { sessionTimeoutMs: 1_000 });
    const log = createReplicaLog(machine);
    const entryA = commandEntry(Add, { name: "a", delta: 1 }, stamp(1n, 1), 10_000);
    await log.append(entryA);
    // Exactly at the timeout the session still lives.
    await log.append(commandEntry(Add, { name: "b", delta: 1 }, stamp(2n, 1), 11_000));
    expect(await log.append(entryA)).toEqual(await log.append(entryA));
    expect(state.counters.get("a")).toBe(1);
    expect(machine.sessionCount()).toBe(2);
    await log.append(commandEntry(Add, { name: "b", delta: 1 }, stamp(2n, 2, 1), 11_500));
    expect(machine.sessionCount()).toBe(2);
    // Later than the timeout, measured from A's last activity (its retry, at clock 11 000).
    await log.append(commandEntry(Add, { name: "b", delta: 1 }, stamp(2n, 3, 2), 12_001));
    expect(machine.sessionCount()).toBe(1);
    const next = commandEntry(Add, { name: "a", delta: 1 }, stamp(1n, 2, 1), 12_002);
    expect(errorCodeOf(await log.append(next))).toBe(StateMachineErrorCode.SessionExpired);
    expect(state.counters.get("a")).toBe(1);
  });

  it("evicts the least recently active session when maxSessions is reached", async () => {
    const { machine, state } = createCounterKvMachine(1, { maxSessions: 2 });
    const log = createReplicaLog(machine);
    const add = (clientId: bigint, sequence: number, respondedTo = 0) =>
      log.append(
        commandEntry(
          Add,
          { name: String(clientId), delta: 1 },
          stamp(clientId, sequence, respondedTo),
        ),
      );
    await add(1n, 1);
    await add(2n, 1);
    await add(1n, 2, 1); // client 1 is now the most recently active
    await add(3n, 1); // evicts client 2
    expect(machine.sessionCount()).toBe(2);
    expect(errorCodeOf(await add(2n, 2, 1))).toBe(StateMachineErrorCode.SessionExpired);
    expect(errorCodeOf(await add(1n, 3, 2))).toBe("ok");
    expect(state.counters.get("2")).toBe(1);
  });

  it("expires identically on a replica restored from a snapshot", async () => {
    const limits = { sessionTimeoutMs: 500, maxSessions: 3 };
    const live = createCounterKvMachine(1, limits);
    const log = createReplicaLog(live.machine);
    for (let client = 1n; client <= 4n; client++) {
      const at = 1_000 + Number(client) * 200;
      await log.append(commandEntry(Add, { name: "x", delta: 1 }, stamp(client, 1), at));
    }
    const snapshot = await collect(live.machine.saveSnapshot());
    const copy = createCounterKvMachine(1, limits);
    await copy.machine.restoreSnapshot(log.lastIndex(), chunked(snapshot, 1));
    const copyLog = createReplicaLog(copy.machine);
    const tail = [2n, 3n, 4n].map((client) =>
      commandEntry(Add, { name: "x", delta: 1 }, stamp(client, 2, 1), 1_950),
    );
    const liveResults = await log.appendAll(tail);
    const copyResults = await copyLog.appendAll(tail);
    expect(copyResults).toEqual(liveResults);
    const codes = liveResults.map(errorCodeOf);
    expect(codes).toEqual([StateMachineErrorCode.SessionExpired, "ok", "ok"]);
    const liveSnapshot = await collect(live.machine.saveSnapshot());
    expect(await collect(copy.machine.saveSnapshot())).toEqual(liveSnapshot);
  });
});

describe("client session", () => {
  it("draws a non-zero 64-bit id from the injected source and numbers commands", () => {
    let calls = 0;
    const zeros = { nextUint32: () => (calls++ < 2 ? 0 : 0xdead_beef) };
    const session = createClientSession(zeros);
    expect(session.clientId).toBe(0xdead_beef_dead_beefn);
    const first = session.nextStamp();
    expect(first).toEqual({ clientId: session.clientId, sequence: 1, respondedTo: 0 });
    expect(createClientSession(random()).clientId).toBe(createClientSession(random()).clientId);
  });

  it("advances responded_to only over a contiguous run of done sequences", () => {
    const session = createClientSession(random());
    for (let count = 0; count < 4; count++) session.nextStamp();
    session.onDone(2);
    session.onDone(4);
    expect(session.respondedTo()).toBe(0);
    expect(session.pendingCount()).toBe(2);
    session.onDone(1);
    expect(session.respondedTo()).toBe(2);
    session.onDone(3);
    expect(session.respondedTo()).toBe(4);
    expect(session.nextStamp().respondedTo).toBe(4);
    expect(() => session.onDone(9)).toThrowError(
      /onDone\(9\): allowed a handed-out sequence in \[1, 5\]/,
    );
  });
});
