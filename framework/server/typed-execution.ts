/**
 * The gateway's typed form: a message type name and a proto3 JSON request,
 * for callers without generated code. The group's executable state machine
 * converts the JSON with the message's codec into the envelope a typed
 * client would have sent, and its result back into JSON.
 */
import { fromJson, toJson } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import type { Value } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { HostError, HostErrorCode } from "../host/index.js";
import {
  decodeResult,
  decodeResultBatch,
  encodeEnvelope,
  encodeEnvelopeBatch,
  ExecutableKind,
  isExecutableStateMachine,
  isStateMachineError,
  StateMachineError,
  StateMachineErrorCode,
} from "../statemachine/index.js";
import type { ExecutionResult, RegisteredExecutable, SessionStamp, StateMachine } from "../statemachine/index.js";
import type { EnvelopeSession } from "../../gen/raftkit/v1/envelope_pb.js";
import { ExecuteKind } from "../../gen/raftkit/v1/gateway_pb.js";
import type { ExecuteRequest } from "../../gen/raftkit/v1/gateway_pb.js";
import { connectErrorFromExecution } from "./host-error-mapping.js";

/** A typed request made raw: what to execute, and how to read its answer. */
export interface PreparedTyped {
  readonly kind: ExecuteKind.COMMAND | ExecuteKind.QUERY;
  /** The envelope bytes (a command's batch of one, or a query's envelope). */
  readonly payload: Uint8Array;
  /** The result bytes as the response message's JSON; throws ConnectError for an error result. */
  readonly render: (result: Uint8Array) => Value;
}

/** Finds the executable, converts the JSON and builds the envelope; throws ConnectError or HostError. */
export function prepareTyped(request: ExecuteRequest, groupId: number, machine: StateMachine | undefined): PreparedTyped {
  if (request.payload.length > 0) {
    throw invalid(`group ${groupId}: both payload (${request.payload.length} bytes) and type "${request.type}" set; send one`);
  }
  if (machine === undefined) {
    throw new HostError(HostErrorCode.GroupNotFound, `group ${groupId} does not run on this node`);
  }
  if (!isExecutableStateMachine(machine)) {
    throw invalid(`group ${groupId}: its state machine has no executable messages; send raw payload bytes`);
  }
  const executable = machine.executable(request.type);
  if (executable === undefined) {
    const known = machine.typeNames();
    throw execution(
      StateMachineErrorCode.UnknownType,
      `no executor for message type "${request.type}" on group ${groupId} (registered: ${known.join(", ") || "none"})`,
    );
  }
  const kind = kindOf(executable, request);
  const payload = convertJson(executable, request.json);
  if (kind === ExecuteKind.QUERY) {
    if (request.session !== undefined) throw invalid(`${request.type} is a query: queries take no session`);
    const envelope = encodeEnvelope({ type: request.type, session: undefined, timestampMs: 0, payload });
    return { kind, payload: envelope, render: (result) => renderResult(executable, decodeResult(result)) };
  }
  const session = sessionOf(request.session);
  const batch = encodeEnvelopeBatch([{ type: request.type, session, timestampMs: 0, payload }]);
  return { kind, payload: batch, render: (result) => renderResult(executable, firstOf(decodeResultBatch(result, 1))) };
}

function kindOf(executable: RegisteredExecutable, request: ExecuteRequest): ExecuteKind.COMMAND | ExecuteKind.QUERY {
  const kind = executable.kind === ExecutableKind.Command ? ExecuteKind.COMMAND : ExecuteKind.QUERY;
  if (request.kind !== ExecuteKind.UNSPECIFIED && request.kind !== kind) {
    const sentAs = request.kind === ExecuteKind.COMMAND ? "command" : "query";
    throw execution(StateMachineErrorCode.WrongKind, `${request.type} is a ${executable.kind}, sent as a ${sentAs}`);
  }
  return kind;
}

function convertJson(executable: RegisteredExecutable, json: Value | undefined): Uint8Array {
  const plain: JsonValue = json === undefined ? {} : toJson(ValueSchema, json);
  try {
    return executable.requestFromJson(plain);
  } catch (error) {
    if (isStateMachineError(error)) throw connectErrorFromExecution(error);
    throw execution(StateMachineErrorCode.InvalidPayload, `JSON request of ${executable.typeName}: ${String(error)}`);
  }
}

function sessionOf(session: EnvelopeSession | undefined): SessionStamp | undefined {
  if (session === undefined || session.clientId === 0n) return undefined;
  const { sequence, respondedTo } = session;
  if (!(sequence >= 1n && sequence <= BigInt(Number.MAX_SAFE_INTEGER))) {
    throw invalid(`session.sequence ${sequence}, allowed 1 … ${Number.MAX_SAFE_INTEGER}`);
  }
  if (respondedTo >= sequence) throw invalid(`session.responded_to ${respondedTo}, allowed < sequence ${sequence}`);
  return { clientId: session.clientId, sequence: Number(sequence), respondedTo: Number(respondedTo) };
}

function renderResult(executable: RegisteredExecutable, result: ExecutionResult): Value {
  if (!result.ok) throw connectErrorFromExecution(new StateMachineError(result.code, result.message));
  let json: unknown;
  try {
    json = executable.responseToJson(result.payload);
  } catch (error) {
    if (isStateMachineError(error)) throw connectErrorFromExecution(error);
    throw new ConnectError(`response of ${executable.typeName} does not convert to JSON: ${String(error)}`, Code.Internal);
  }
  // A codec's toJson may leave undefined members; JSON text has none.
  const normalised: JsonValue = JSON.parse(JSON.stringify(json ?? null));
  return fromJson(ValueSchema, normalised);
}

function firstOf(results: readonly ExecutionResult[]): ExecutionResult {
  const first = results[0];
  if (first === undefined) throw new ConnectError("command result batch is empty", Code.Internal);
  return first;
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}

function execution(code: StateMachineErrorCode, message: string): ConnectError {
  return connectErrorFromExecution(new StateMachineError(code, message));
}
