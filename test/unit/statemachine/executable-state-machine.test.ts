import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EnvelopeBatchSchema } from "../../../gen/raftkit/v1/envelope_pb.js";
import {
  StateMachineErrorCode,
  buildCommand,
  buildQuery,
  decodeEnvelopeBatch,
  decodeResultBatch,
  encodeEnvelope,
  encodeEnvelopeBatch,
  readCommandResult,
  readQueryResult,
} from "../../../framework/statemachine/index.js";
import type { ExecutionResult } from "../../../framework/statemachine/index.js";
import {
  Add,
  Crash,
  Delete,
  GetCounter,
  GetValue,
  Put,
  Stamp,
} from "./counter-kv-state-machine.js";
import { createCounterKvMachine } from "./counter-kv-state-machine.js";
import { commandEntry, createReplicaLog } from "./replica-log.js";

function onlyResult(bytes: Uint8Array): ExecutionResult {
  const [result] = decodeResultBatch(bytes, 1);
  if (result === undefined) throw new Error("no result");
  return result;
}

function expectError(result: ExecutionResult, code: StateMachineErrorCode, text: string): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.code).toBe(code);
  expect(result.message).toContain(text);
}

describe("executable state machine: commands and queries", () => {
  it("applies commands through executors and answers queries", async () => {
    const { machine, state } = createCounterKvMachine();
    expect(await machine.open()).toBe(0);
    const log = createReplicaLog(machine);
    const first = await log.append(commandEntry(Add, { name: "a", delta: 5 }, undefined));
    expect(readCommandResult(Add, first)).toEqual({ value: 5 });
    const second = await log.append(commandEntry(Add, { name: "a", delta: -2 }, undefined));
    expect(readCommandResult(Add, second)).toEqual({ value: 3 });
    await log.append(commandEntry(Put, { key: "k", value: "v1" }, undefined));
    const put = await log.append(commandEntry(Put, { key: "k", value: "v2" }, undefined));
    expect(readCommandResult(Put, put)).toEqual({ found: true, value: "v1" });

    const counter = await machine.query(buildQuery(GetCounter, { name: "a" }));
    expect(readQueryResult(GetCounter, counter)).toEqual({ value: 3 });
    const value = await machine.query(buildQuery(GetValue, { name: "k" }));
    expect(readQueryResult(GetValue, value)).toEqual({ found: true, value: "v2" });
    expect(state.effects()).toBe(4);
    expect(machine.appliedIndex()).toBe(4);
  });

  it("maps results of a batch entry back to each envelope, in order", async () => {
    const { machine } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    const envelopes = [
      { name: "x", delta: 1 },
      { name: "x", delta: 0 }, // the executor refuses it
      { name: "y", delta: 10 },
    ].map((request) => ({
      type: Add.typeName,
      session: undefined,
      timestampMs: 5,
      payload: Add.request.encode(request),
    }));
    const results = decodeResultBatch(await log.append(encodeEnvelopeBatch(envelopes)), 3);
    expect(results[0]).toEqual({ ok: true, payload: Add.response.encode({ value: 1 }) });
    expectError(results[1]!, StateMachineErrorCode.InvalidArgument, "delta must not be 0");
    expect(results[2]).toEqual({ ok: true, payload: Add.response.encode({ value: 10 }) });
  });

  it("gives executors a deterministic context: clock, position, seeded random", async () => {
    const { machine } = createCounterKvMachine(3);
    const log = createReplicaLog(machine);
    const at = async (timestampMs: number) =>
      readCommandResult(
        Stamp,
        await log.append(commandEntry(Stamp, { draws: 2 }, undefined, timestampMs)),
      );
    const early = await at(1_000);
    const late = await at(900); // a new leader with a slower clock
    expect(early.timestampMs).toBe(1_000);
    expect(late.timestampMs).toBe(1_000);
    expect(late.index).toBe(2);
    expect(early.randoms).toHaveLength(2);
    expect(early.randoms).not.toEqual(late.randoms);
    const again = createCounterKvMachine(3);
    const replay = createReplicaLog(again.machine);
    const replayed = readCommandResult(
      Stamp,
      await replay.append(commandEntry(Stamp, { draws: 2 }, undefined, 1_000)),
    );
    expect(replayed).toEqual(early);
    const query = await machine.query(buildQuery(GetCounter, { name: "none" }));
    expect(readQueryResult(GetCounter, query)).toEqual({ value: 0 });
    expect(machine.clockMs()).toBe(1_000);
  });

  it("turns an executor's StateMachineError into an error result", async () => {
    const { machine, state } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    const result = await log.append(commandEntry(Delete, { name: "missing" }, undefined));
    expect(() => readCommandResult(Delete, result)).toThrowError(
      /\[not_found\] key "missing" not found/,
    );
    expect(state.effects()).toBe(0);
    const after = await log.append(commandEntry(Put, { key: "missing", value: "now" }, undefined));
    expect(readCommandResult(Put, after)).toEqual({ found: false, value: "" });
  });

  it("fails apply on an executor's unexpected exception (a bug), not as a result", async () => {
    const { machine } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    await expect(log.append(commandEntry(Crash, { name: "boom" }, undefined))).rejects.toThrow(
      "bug while handling boom",
    );
  });
});

describe("executable state machine: bad input becomes error results", () => {
  const payloadOf = (request: { name: string; delta: number }) => Add.request.encode(request);

  it("answers unknown type, bad payload, wrong kind and oversized, and keeps working", async () => {
    const { machine, state } = createCounterKvMachine(1, { maxPayloadBytes: 64 });
    const log = createReplicaLog(machine);
    const envelope = (type: string, payload: Uint8Array) =>
      encodeEnvelopeBatch([{ type, session: undefined, timestampMs: 1, payload }]);

    const valid = payloadOf({ name: "a", delta: 1 });
    const unknown = onlyResult(await log.append(envelope("nope.v1.S/Do", valid)));
    expectError(unknown, StateMachineErrorCode.UnknownType, `"nope.v1.S/Do"`);
    const truncated = new Uint8Array([0x0a, 0x05, 0x61]); // field 1 claims 5 bytes, has 1
    const badPayload = onlyResult(await log.append(envelope(Add.typeName, truncated)));
    const payloadText = `payload of ${Add.typeName} (3 bytes)`;
    expectError(badPayload, StateMachineErrorCode.InvalidPayload, payloadText);
    const queryEntry = envelope(GetCounter.typeName, new Uint8Array());
    const queryAsCommand = onlyResult(await log.append(queryEntry));
    expectError(queryAsCommand, StateMachineErrorCode.WrongKind, "is a query, sent as a command");
    const big = payloadOf({ name: "n".repeat(100), delta: 1 });
    const oversized = onlyResult(await log.append(envelope(Add.typeName, big)));
    const sizeText = `payload of ${big.length} bytes, allowed at most 64`;
    expectError(oversized, StateMachineErrorCode.TooLarge, sizeText);

    const commandAsQuery = await machine.query(
      encodeEnvelope({ type: Add.typeName, session: undefined, timestampMs: 0, payload: valid }),
    );
    expect(() => readQueryResult(GetCounter, commandAsQuery)).toThrowError(
      /wrong_kind.*is a command, sent as a query/,
    );

    expect(state.effects()).toBe(0);
    const good = await log.append(commandEntry(Add, { name: "a", delta: 2 }, undefined));
    expect(readCommandResult(Add, good)).toEqual({ value: 2 });
    expect(machine.appliedIndex()).toBe(5);
  });

  it("answers an undecodable or empty entry with one invalid_envelope error", async () => {
    const { machine } = createCounterKvMachine();
    const log = createReplicaLog(machine);
    const garbage = onlyResult(await log.append(new Uint8Array([0xff, 0xff, 0xff, 0xff])));
    const garbageText = "entry 1: envelope batch (4 bytes) does not decode";
    expectError(garbage, StateMachineErrorCode.InvalidEnvelope, garbageText);
    const empty = onlyResult(await log.append(new Uint8Array()));
    expectError(empty, StateMachineErrorCode.InvalidEnvelope, "envelope batch is empty");
    // The one error answers every envelope the proposer put into that entry.
    const forThree = decodeResultBatch(await log.append(new Uint8Array([0xff])), 3);
    expect(forThree).toHaveLength(3);
    const badQuery = await machine.query(new Uint8Array([0xff, 0x01]));
    expect(() => readQueryResult(GetCounter, badQuery)).toThrowError(
      /invalid_envelope.*envelope \(2 bytes\)/,
    );
    const good = await log.append(buildCommand(Add, { name: "a", delta: 1 }, undefined));
    expect(readCommandResult(Add, good)).toEqual({ value: 1 });
  });
});

describe("executable state machine: prepareProposal (the leader, before the log)", () => {
  it("stamps every envelope of a valid batch with the proposer's time", async () => {
    const { machine } = createCounterKvMachine();
    const entry = buildCommand(Add, { name: "a", delta: 1 }, undefined);
    const stamped = machine.prepareProposal(entry, 1_234);
    expect(decodeEnvelopeBatch(stamped)[0]?.timestampMs).toBe(1_234);
    const log = createReplicaLog(machine);
    await log.append(stamped);
    expect(machine.clockMs()).toBe(1_234);
  });

  it("stamps a command built in place (encodeAfter) in its own bytes, once; a second proposal of them is copied", async () => {
    const { machine } = createCounterKvMachine();
    // Add through a codec that encodes in place: buildCommand leaves the stamp's room in the envelope.
    const AddInPlace: typeof Add = {
      ...Add,
      request: {
        ...Add.request,
        encodeAfter: (request, room) => {
          const payload = Add.request.encode(request);
          const out = new Uint8Array(room(payload.length) + payload.length);
          out.set(payload, out.length - payload.length);
          return out;
        },
      },
    };
    const built = buildCommand(AddInPlace, { name: "a", delta: 5 }, undefined);
    const stamped = machine.prepareProposal(built, 1_234);
    expect(stamped).toBe(built);
    expect(decodeEnvelopeBatch(stamped)[0]?.timestampMs).toBe(1_234);
    expect(fromBinary(EnvelopeBatchSchema, stamped).envelopes[0]?.timestampMs).toBe(1_234n);
    const first = stamped.slice();
    // Proposed again: a new buffer with the new time; the first entry's bytes stay as they were.
    const again = machine.prepareProposal(built, 5_678);
    expect(again).not.toBe(built);
    expect(again.buffer).not.toBe(built.buffer);
    expect(decodeEnvelopeBatch(again)[0]?.timestampMs).toBe(5_678);
    expect(Buffer.from(built).equals(Buffer.from(first))).toBe(true);
    const log = createReplicaLog(machine);
    expect(onlyResult(await log.append(stamped))).toEqual({ ok: true, payload: expect.any(Uint8Array) });
    expect(machine.clockMs()).toBe(1_234);
    expect(readQueryResult(GetCounter, await machine.query(buildQuery(GetCounter, { name: "a" })))).toEqual({ value: 5 });
    // Time 0 stamped is stamped too (field 3): not stamped in place a second time.
    const atZero = buildCommand(AddInPlace, { name: "b", delta: 1 }, undefined);
    expect(machine.prepareProposal(atZero, 0)).toBe(atZero);
    const zeroBytes = atZero.slice();
    const later = machine.prepareProposal(atZero, 9);
    expect(later).not.toBe(atZero);
    expect(decodeEnvelopeBatch(later)[0]?.timestampMs).toBe(9);
    expect(Buffer.from(atZero).equals(Buffer.from(zeroBytes))).toBe(true);
    // The largest time fits the room's 8 bytes.
    const latest = buildCommand(AddInPlace, { name: "c", delta: 1 }, undefined);
    expect(machine.prepareProposal(latest, Number.MAX_SAFE_INTEGER)).toBe(latest);
    expect(decodeEnvelopeBatch(latest)[0]?.timestampMs).toBe(Number.MAX_SAFE_INTEGER);
    // Refused before anything is written: an unknown type keeps its room unstamped.
    const unknown = buildCommand({ ...AddInPlace, typeName: "x.v1.S/M" }, { name: "d", delta: 1 }, undefined);
    const unknownBytes = unknown.slice();
    expect(() => machine.prepareProposal(unknown, 1)).toThrowError(/unknown_type/);
    expect(Buffer.from(unknown).equals(Buffer.from(unknownBytes))).toBe(true);
  });

  it("refuses bad input before it costs a log entry, naming the problem and its position", () => {
    const { machine } = createCounterKvMachine(1, { maxPayloadBytes: 16 });
    const envelope = (type: string, payload: Uint8Array) => ({
      type,
      session: undefined,
      timestampMs: 0,
      payload,
    });
    const good = envelope(Add.typeName, Add.request.encode({ name: "a", delta: 1 }));
    const big = envelope(Add.typeName, Add.request.encode({ name: "a".repeat(40), delta: 1 }));
    const query = envelope(GetCounter.typeName, new Uint8Array());
    const unknown = envelope("x.v1.S/M", new Uint8Array());
    expect(() => machine.prepareProposal(encodeEnvelopeBatch([good, big]), 1)).toThrowError(
      /too_large.*envelope 1 of 2: .*payload of 44 bytes, allowed at most 16/,
    );
    expect(() => machine.prepareProposal(encodeEnvelopeBatch([query]), 1)).toThrowError(
      /wrong_kind.*is a query, sent as a command/,
    );
    expect(() => machine.prepareProposal(encodeEnvelopeBatch([unknown]), 1)).toThrowError(
      /unknown_type.*"x\.v1\.S\/M"/,
    );
    expect(() => machine.prepareProposal(new Uint8Array([0xff]), 1)).toThrowError(
      /invalid_envelope.*envelope batch \(1 bytes\) does not decode/,
    );
    expect(machine.appliedIndex()).toBe(0);
  });
});
