/**
 * The gateway's typed form against a real executable machine (no node):
 * JSON in, the envelope a typed client would send out, the result rendered
 * as JSON, every refusal a ConnectError with a clear message.
 */
import { fromJson, toJson } from "@bufbuild/protobuf";
import type { JsonValue, MessageInitShape } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { connectCodeOfExecution } from "../../../framework/server/index.js";
import { prepareTyped } from "../../../framework/server/typed-execution.js";
import { createKvStateMachine, decodeEnvelopeBatch, StateMachineErrorCode } from "../../../framework/statemachine/index.js";
import { ExecutionErrorSchema } from "../../../gen/raftkit/v1/envelope_pb.js";
import { ExecuteKind, ExecuteRequestSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import { createCounterKvMachine } from "../statemachine/counter-kv-state-machine.js";

function typed(type: string, json: JsonValue, extra: MessageInitShape<typeof ExecuteRequestSchema> = {}) {
  return create(ExecuteRequestSchema, { groupId: 1n, type, json: fromJson(ValueSchema, json), ...extra });
}

function refusal(run: () => unknown): ConnectError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConnectError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("gateway typed form", () => {
  it("builds the command envelope from JSON and renders the result as JSON", async () => {
    const { machine } = createCounterKvMachine(1);
    await machine.open();
    const session = { clientId: 9n, sequence: 1n, respondedTo: 0n };
    const prepared = prepareTyped(typed("counter.v1.CounterService/Add", { name: "c", delta: 4 }, { session }), 1, machine);
    expect(prepared.kind).toBe(ExecuteKind.COMMAND);
    const [envelope] = decodeEnvelopeBatch(prepared.payload);
    expect(envelope).toMatchObject({ type: "counter.v1.CounterService/Add", session: { clientId: 9n, sequence: 1, respondedTo: 0 } });
    const [result] = await machine.apply([{ index: 1, term: 1, data: machine.prepareProposal(prepared.payload, 5) }]);
    expect(toJson(ValueSchema, prepared.render(result!))).toEqual({ value: "4" });
  });

  it("answers queries, and an executor's error as its Connect code with an ExecutionError detail", async () => {
    const { machine } = createCounterKvMachine(1);
    await machine.open();
    const query = prepareTyped(typed("counter.v1.CounterService/Get", { name: "none" }), 1, machine);
    expect(query.kind).toBe(ExecuteKind.QUERY);
    expect(toJson(ValueSchema, query.render(await machine.query(query.payload)))).toEqual({ value: "0" });
    const bad = prepareTyped(typed("counter.v1.CounterService/Add", { name: "c", delta: 0 }), 1, machine);
    const [result] = await machine.apply([{ index: 1, term: 1, data: bad.payload }]);
    const error = refusal(() => bad.render(result!));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("delta must not be 0");
    expect(error.findDetails(ExecutionErrorSchema)[0]?.message).toBe("delta must not be 0");
  });

  it("refuses what it cannot execute, naming the problem", async () => {
    const { machine } = createCounterKvMachine(1);
    const unknown = refusal(() => prepareTyped(typed("x.v1.Y/Z", {}), 1, machine));
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect(unknown.rawMessage).toMatch(/no executor for message type "x\.v1\.Y\/Z" on group 1 \(registered: .*kv\.v1\.KvService\/Put/);
    const badJson = refusal(() => prepareTyped(typed("kv.v1.KvService/Put", { key: 3 }), 1, machine));
    expect(badJson.rawMessage).toMatch(/JSON request of kv\.v1\.KvService\/Put does not convert/);
    const noJson = refusal(() => prepareTyped(typed("kv.v1.KvService/Stamp", {}), 1, machine));
    expect(noJson.code).toBe(Code.Unimplemented);
    const wrongKind = refusal(() => prepareTyped(typed("kv.v1.KvService/Get", { name: "k" }, { kind: ExecuteKind.COMMAND }), 1, machine));
    expect(wrongKind.rawMessage).toMatch(/kv\.v1\.KvService\/Get is a query, sent as a command/);
    const both = refusal(() => prepareTyped(typed("kv.v1.KvService/Get", {}, { payload: new Uint8Array([1]) }), 1, machine));
    expect(both.rawMessage).toMatch(/both payload \(1 bytes\) and type/);
    const badSession = refusal(() =>
      prepareTyped(typed("kv.v1.KvService/Put", { key: "k" }, { session: { clientId: 1n, sequence: 2n, respondedTo: 2n } }), 1, machine),
    );
    expect(badSession.rawMessage).toMatch(/session.responded_to 2, allowed < sequence 2/);
    const raw = refusal(() => prepareTyped(typed("kv.v1.KvService/Put", {}), 1, createKvStateMachine()));
    expect(raw.rawMessage).toMatch(/no executable messages; send raw payload bytes/);
    expect(() => prepareTyped(typed("kv.v1.KvService/Put", {}), 1, undefined)).toThrow(/group 1 does not run on this node/);
  });

  it("maps every state machine code to a Connect code (closed mapping, as gateway.proto lists it)", () => {
    const expected: Record<StateMachineErrorCode, Code> = {
      [StateMachineErrorCode.UnknownType]: Code.InvalidArgument,
      [StateMachineErrorCode.WrongKind]: Code.InvalidArgument,
      [StateMachineErrorCode.InvalidEnvelope]: Code.InvalidArgument,
      [StateMachineErrorCode.InvalidPayload]: Code.InvalidArgument,
      [StateMachineErrorCode.TooLarge]: Code.InvalidArgument,
      [StateMachineErrorCode.SessionExpired]: Code.FailedPrecondition,
      [StateMachineErrorCode.ResultDiscarded]: Code.FailedPrecondition,
      [StateMachineErrorCode.SessionFull]: Code.ResourceExhausted,
      [StateMachineErrorCode.InvalidArgument]: Code.InvalidArgument,
      [StateMachineErrorCode.NotFound]: Code.NotFound,
      [StateMachineErrorCode.AlreadyExists]: Code.AlreadyExists,
      [StateMachineErrorCode.FailedPrecondition]: Code.FailedPrecondition,
      [StateMachineErrorCode.OutOfRange]: Code.OutOfRange,
      [StateMachineErrorCode.ResourceExhausted]: Code.ResourceExhausted,
      [StateMachineErrorCode.PermissionDenied]: Code.PermissionDenied,
      [StateMachineErrorCode.Aborted]: Code.Aborted,
      [StateMachineErrorCode.Unimplemented]: Code.Unimplemented,
    };
    for (const code of Object.values(StateMachineErrorCode)) expect([code, connectCodeOfExecution(code)]).toEqual([code, expected[code]]);
  });
});
