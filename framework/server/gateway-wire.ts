/**
 * The binary proto wire of GatewayService.ExecuteBatch without protobuf-es's
 * reflection per request and per outcome (a batch carries hundreds of each;
 * protobuf-es cost ~1.5 µs to decode an ExecuteRequest and ~2 µs to create and
 * encode an ExecuteOutcome, 12-16 % of a node's CPU in the cluster bench).
 *
 * The bytes on the wire are exactly proto/raftkit/v1/gateway.proto's: the
 * batch messages are read and written through "wire" schemas that declare the
 * repeated message field as what it is on the wire (length-delimited bytes),
 * or declare no field at all and carry the pre-encoded body as the message's
 * one unknown field entry (protobuf-es writes unknown fields verbatim after
 * their tag). The elements are decoded and encoded here by hand; anything
 * this codec does not handle itself (the typed form's `type`/`json`/`session`,
 * fields unknown to it, a group id beyond 2^53, a failure outcome) goes
 * through protobuf-es with the real schemas, so every valid message means the
 * same as before. Only the binary formats use this (Connect proto, gRPC,
 * gRPC-Web); JSON keeps connect's generic path (node-process.ts routes).
 */
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethodUnary, Message, MessageInitShape } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { FieldDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ExecuteOutcome, ExecuteRequest } from "../../gen/raftkit/v1/gateway_pb.js";
import { ExecuteOutcomeSchema, ExecuteRequestSchema, GatewayService } from "../../gen/raftkit/v1/gateway_pb.js";

/** A malformed element of an ExecuteBatch message: which one, which field, at which byte. */
export class GatewayWireError extends Error {
  override readonly name = "GatewayWireError";
  /** E.g. "requests[3].payload" or "outcomes[0]". */
  readonly field: string;
  /** Byte offset inside the element where the fault was found. */
  readonly offset: number;

  constructor(field: string, offset: number, problem: string) {
    super(`${field}: ${problem} at byte ${offset}`);
    this.field = field;
    this.offset = offset;
  }
}

export function isGatewayWireError(value: unknown): value is GatewayWireError {
  return value instanceof Error && value.name === "GatewayWireError";
}

type RepeatedBytes<Name extends string, Field extends string> = Message<Name> & { [key in Field]: Uint8Array[] };
type RequestsWire = RepeatedBytes<"raftkit.internal.ExecuteBatchRequestWire", "requests">;
type OutcomesWire = RepeatedBytes<"raftkit.internal.ExecuteBatchResponseWire", "outcomes">;
/** A batch message with no declared field: its body travels as one unknown field entry. */
type BodyWire = Message<"raftkit.internal.ExecuteBatchBodyWire">;

const wireFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "raftkit/internal/gateway_wire.proto",
    package: "raftkit.internal",
    syntax: "proto3",
    messageType: [
      { name: "ExecuteBatchRequestWire", field: [repeatedBytes("requests")] },
      { name: "ExecuteBatchResponseWire", field: [repeatedBytes("outcomes")] },
      { name: "ExecuteBatchBodyWire", field: [] },
    ],
  }),
  () => undefined,
);

function repeatedBytes(name: string): MessageInitShape<typeof FieldDescriptorProtoSchema> {
  return { name, number: 1, label: FieldDescriptorProto_Label.REPEATED, type: FieldDescriptorProto_Type.BYTES, jsonName: name };
}

function wireMessage<T extends Message>(typeName: string): GenMessage<T> {
  const desc: DescMessage | undefined = wireFile.getMessage(typeName);
  if (desc === undefined) throw new Error(`gateway wire: schema ${typeName} missing`);
  return desc as GenMessage<T>;
}

const requestsWireSchema = wireMessage<RequestsWire>("raftkit.internal.ExecuteBatchRequestWire");
const outcomesWireSchema = wireMessage<OutcomesWire>("raftkit.internal.ExecuteBatchResponseWire");
const bodyWireSchema = wireMessage<BodyWire>("raftkit.internal.ExecuteBatchBodyWire");

/** ExecuteBatch as the node reads it: the requests as raw elements, the answer as a pre-encoded body. */
export const executeBatchServerMethod: DescMethodUnary<typeof requestsWireSchema, typeof bodyWireSchema> = {
  ...GatewayService.method.executeBatch,
  input: requestsWireSchema,
  output: bodyWireSchema,
};

/** ExecuteBatch as the client sends it: a pre-encoded body, the outcomes as raw elements. */
export const executeBatchClientMethod: DescMethodUnary<typeof bodyWireSchema, typeof outcomesWireSchema> = {
  ...GatewayService.method.executeBatch,
  input: bodyWireSchema,
  output: outcomesWireSchema,
};

/** The path ExecuteBatch is served at (the same for both methods above). */
export const executeBatchPath = `/${GatewayService.typeName}/${GatewayService.method.executeBatch.name}`;

/** Content types of the binary protocols (Connect unary proto, gRPC, gRPC-Web); JSON is absent on purpose. */
export function isBinaryBatchContentType(contentType: string | undefined): boolean {
  switch (contentType) {
    case "application/proto":
    case "application/grpc":
    case "application/grpc+proto":
    case "application/grpc-web":
    case "application/grpc-web+proto":
      return true;
    default:
      return false;
  }
}

const lengthDelimited = 2;
const varint = 0;
const maxSafe = Number.MAX_SAFE_INTEGER;

/**
 * A raw request of the common form, decoded by hand into a reused object.
 * `general` is set when the element needs protobuf-es (typed form, unknown
 * field, group id above 2^53, an enum value out of int32's positive range);
 * the other fields are then meaningless.
 */
export interface RawExecuteRequest {
  general: boolean;
  groupId: number;
  kind: number;
  payload: Uint8Array;
  consistency: number;
  timeoutMs: number;
}

export function newRawExecuteRequest(): RawExecuteRequest {
  return { general: false, groupId: 0, kind: 0, payload: emptyBytes, consistency: 0, timeoutMs: 0 };
}

const emptyBytes = new Uint8Array(0);

/** Decodes requests[index] (an ExecuteRequest's bytes) into `into`; throws GatewayWireError when malformed. */
export function decodeExecuteRequest(bytes: Uint8Array, index: number, into: RawExecuteRequest): RawExecuteRequest {
  into.general = false;
  into.groupId = 0;
  into.kind = 0;
  into.payload = emptyBytes;
  into.consistency = 0;
  into.timeoutMs = 0;
  const end = bytes.length;
  let at = 0;
  while (at < end) {
    const tagAt = at;
    const tag = bytes[at++]!;
    if (tag >= 0x80) {
      // Field numbers above 15: none of the fast fields; protobuf-es decides (and rejects malformed tags).
      into.general = true;
      return into;
    }
    const field = tag >>> 3;
    const wireType = tag & 7;
    switch (field) {
      case 1:
      case 2:
      case 4:
      case 5: {
        if (wireType !== varint) throw wrongWireType(index, field, wireType, tagAt);
        // Inline varint read (by multiplication: exact up to 2^53).
        const valueAt = at;
        let value = 0;
        let scale = 1;
        let byte: number;
        let read = 0;
        do {
          if (at >= end) throw new GatewayWireError(fieldName(index, field), at, "varint runs past the end of the element");
          byte = bytes[at++]!;
          read++;
          if (read > 10) throw new GatewayWireError(fieldName(index, field), valueAt, "varint longer than 10 bytes");
          value += (byte & 0x7f) * scale;
          scale *= 128;
        } while (byte >= 0x80);
        if (read > 7 || value > maxSafe) {
          // Beyond 2^49 by length or 2^53 by value: a group id the general path rejects with its own message,
          // or a negative enum / oversized uint32 — protobuf-es's semantics apply.
          into.general = true;
          return into;
        }
        if (field === 1) into.groupId = value;
        else if (field === 2) into.kind = value;
        else if (field === 4) into.consistency = value;
        else {
          if (value > 0xffffffff) {
            into.general = true;
            return into;
          }
          into.timeoutMs = value;
        }
        if ((field === 2 || field === 4) && value > 0x7fffffff) {
          into.general = true;
          return into;
        }
        break;
      }
      case 3: {
        if (wireType !== lengthDelimited) throw wrongWireType(index, field, wireType, tagAt);
        const lengthAt = at;
        let length = 0;
        let scale = 1;
        let byte: number;
        let read = 0;
        do {
          if (at >= end) throw new GatewayWireError(fieldName(index, 3), at, "length runs past the end of the element");
          byte = bytes[at++]!;
          if (++read > 5) throw new GatewayWireError(fieldName(index, 3), lengthAt, "length longer than 5 bytes");
          length += (byte & 0x7f) * scale;
          scale *= 128;
        } while (byte >= 0x80);
        if (length > end - at) {
          throw new GatewayWireError(fieldName(index, 3), at, `length ${length} runs past the end of the element (${end - at} bytes left)`);
        }
        into.payload = bytes.subarray(at, at + length);
        at += length;
        break;
      }
      default:
        // type, json, session, or a field this codec does not know: the general decoder.
        into.general = true;
        return into;
    }
  }
  return into;
}

const requestFieldNames = ["?", "group_id", "kind", "payload", "consistency", "timeout_ms"];

function fieldName(index: number, field: number): string {
  return `requests[${index}].${requestFieldNames[field] ?? `field ${field}`}`;
}

function wrongWireType(index: number, field: number, wireType: number, at: number): GatewayWireError {
  return new GatewayWireError(fieldName(index, field), at, `wire type ${wireType}, expected ${field === 3 ? lengthDelimited : varint}`);
}

/** The general decoder for an element the hand decoder leaves to protobuf-es. */
export function decodeExecuteRequestGeneral(bytes: Uint8Array, index: number): ExecuteRequest {
  try {
    return fromBinary(ExecuteRequestSchema, bytes);
  } catch (error) {
    throw new GatewayWireError(`requests[${index}]`, 0, `not an ExecuteRequest (${error instanceof Error ? error.message : String(error)})`);
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(target: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    target[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  target[at++] = value;
  return at;
}

/**
 * Outcomes of a batch on the node, filled in any order, encoded once all are
 * in: a successful request's result bytes, or a failure outcome already
 * encoded by protobuf-es (rare: refusals, redirects).
 */
export class OutcomeWriter {
  private readonly parts: Uint8Array[];
  private readonly failed: Uint8Array;

  constructor(count: number) {
    this.parts = new Array<Uint8Array>(count).fill(emptyBytes);
    this.failed = new Uint8Array(count);
  }

  get count(): number {
    return this.parts.length;
  }

  /** outcomes[index] = { response: { result } } */
  response(index: number, result: Uint8Array): void {
    this.parts[index] = result;
    this.failed[index] = 0;
  }

  /** outcomes[index] = the given outcome (any case), through protobuf-es. */
  outcome(index: number, outcome: MessageInitShape<typeof ExecuteOutcomeSchema>): void {
    this.parts[index] = toBinary(ExecuteOutcomeSchema, create(ExecuteOutcomeSchema, outcome));
    this.failed[index] = 1;
  }

  /** The ExecuteBatchResponse's bytes as the node's answer message. */
  message(): BodyWire {
    return bodyMessage(this.encode());
  }

  /** The ExecuteBatchResponse's bytes (field 1 repeated ExecuteOutcome). */
  encode(): Uint8Array {
    const { parts, failed } = this;
    let size = 0;
    for (let i = 0; i < parts.length; i++) {
      const length = outcomeLength(parts[i]!, failed[i] === 1);
      size += 1 + varintSize(length) + length;
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const length = outcomeLength(part, failed[i] === 1);
      out[at++] = 0x0a; // outcomes = 1, length-delimited
      at = writeVarint(out, at, length);
      if (failed[i] === 1) {
        out.set(part, at);
        at += part.length;
      } else {
        out[at++] = 0x0a; // ExecuteOutcome.response = 1
        const responseLength = part.length === 0 ? 0 : 1 + varintSize(part.length) + part.length;
        at = writeVarint(out, at, responseLength);
        if (part.length > 0) {
          out[at++] = 0x0a; // ExecuteResponse.result = 1 (proto3: absent when empty)
          at = writeVarint(out, at, part.length);
          out.set(part, at);
          at += part.length;
        }
      }
    }
    return out;
  }
}

function outcomeLength(part: Uint8Array, failed: boolean): number {
  if (failed) return part.length;
  const responseLength = part.length === 0 ? 0 : 1 + varintSize(part.length) + part.length;
  return 1 + varintSize(responseLength) + responseLength;
}

/**
 * A message of a field-less schema whose encoding is `body` (the encoding of
 * repeated field 1, every element with its tag): the first tag is the unknown
 * field's own, the rest of the body its data, written verbatim.
 */
function bodyMessage(body: Uint8Array): BodyWire {
  if (body.length === 0) return { $typeName: "raftkit.internal.ExecuteBatchBodyWire" };
  if (body[0] !== 0x0a) throw new Error("gateway wire: a batch body starts with field 1's tag");
  return {
    $typeName: "raftkit.internal.ExecuteBatchBodyWire",
    $unknown: [{ no: 1, wireType: lengthDelimited, data: body.subarray(1) }],
  };
}

export type ExecuteRequestInit = MessageInitShape<typeof ExecuteRequestSchema>;

/** The ExecuteBatchRequest's message for the client method: `requests` encoded (common form by hand). */
export function executeBatchRequestMessage(requests: readonly ExecuteRequestInit[]): BodyWire {
  return bodyMessage(encodeExecuteBatchRequest(requests));
}

/** ExecuteBatchRequest bytes, the same as toBinary(ExecuteBatchRequestSchema, …) gives. */
export function encodeExecuteBatchRequest(requests: readonly ExecuteRequestInit[]): Uint8Array {
  const general: (Uint8Array | undefined)[] = new Array(requests.length);
  let size = 0;
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    let length: number;
    if (isCommonForm(request)) {
      length = commonFormLength(request);
    } else {
      const bytes = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, request));
      general[i] = bytes;
      length = bytes.length;
    }
    size += 1 + varintSize(length) + length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    const bytes = general[i];
    out[at++] = 0x0a; // requests = 1
    if (bytes !== undefined) {
      at = writeVarint(out, at, bytes.length);
      out.set(bytes, at);
      at += bytes.length;
      continue;
    }
    at = writeVarint(out, at, commonFormLength(request));
    const groupId = Number(request.groupId ?? 0);
    const kind = request.kind ?? 0;
    const payload = request.payload ?? emptyBytes;
    const consistency = request.consistency ?? 0;
    const timeoutMs = request.timeoutMs ?? 0;
    if (groupId !== 0) {
      out[at++] = 0x08;
      at = writeVarint(out, at, groupId);
    }
    if (kind !== 0) {
      out[at++] = 0x10;
      at = writeVarint(out, at, kind);
    }
    if (payload.length > 0) {
      out[at++] = 0x1a;
      at = writeVarint(out, at, payload.length);
      out.set(payload, at);
      at += payload.length;
    }
    if (consistency !== 0) {
      out[at++] = 0x20;
      at = writeVarint(out, at, consistency);
    }
    if (timeoutMs !== 0) {
      out[at++] = 0x28;
      at = writeVarint(out, at, timeoutMs);
    }
  }
  return out;
}

/** Raw form with values the hand encoder writes exactly as protobuf-es would. */
function isCommonForm(request: ExecuteRequestInit): boolean {
  if ((request.type ?? "") !== "" || request.json !== undefined || request.session !== undefined) return false;
  if ("$unknown" in request && request.$unknown !== undefined && request.$unknown.length > 0) return false;
  const groupId = request.groupId ?? 0;
  if (typeof groupId === "bigint" ? groupId < 0n || groupId > BigInt(maxSafe) : !Number.isSafeInteger(groupId) || groupId < 0) {
    return false;
  }
  const kind = request.kind ?? 0;
  const consistency = request.consistency ?? 0;
  const timeoutMs = request.timeoutMs ?? 0;
  return (
    Number.isInteger(kind) && kind >= 0 && kind <= 0x7fffffff &&
    Number.isInteger(consistency) && consistency >= 0 && consistency <= 0x7fffffff &&
    Number.isInteger(timeoutMs) && timeoutMs >= 0 && timeoutMs <= 0xffffffff
  );
}

function commonFormLength(request: ExecuteRequestInit): number {
  const groupId = Number(request.groupId ?? 0);
  const kind = request.kind ?? 0;
  const payloadLength = request.payload?.length ?? 0;
  const consistency = request.consistency ?? 0;
  const timeoutMs = request.timeoutMs ?? 0;
  return (
    (groupId === 0 ? 0 : 1 + varintSize(groupId)) +
    (kind === 0 ? 0 : 1 + varintSize(kind)) +
    (payloadLength === 0 ? 0 : 1 + varintSize(payloadLength) + payloadLength) +
    (consistency === 0 ? 0 : 1 + varintSize(consistency)) +
    (timeoutMs === 0 ? 0 : 1 + varintSize(timeoutMs))
  );
}

/** outcomes[index] of an answer; a successful outcome of the common form without protobuf-es. */
export function decodeExecuteOutcome(bytes: Uint8Array, index: number): ExecuteOutcome {
  const result = commonResponseResult(bytes);
  if (result !== undefined) {
    return {
      $typeName: "raftkit.v1.ExecuteOutcome",
      outcome: { case: "response", value: { $typeName: "raftkit.v1.ExecuteResponse", result } },
    };
  }
  try {
    return fromBinary(ExecuteOutcomeSchema, bytes);
  } catch (error) {
    throw new GatewayWireError(`outcomes[${index}]`, 0, `not an ExecuteOutcome (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** The result of `{ response: { result } }` encoded exactly so (one field each), else undefined. */
function commonResponseResult(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x0a) return undefined;
  let at = 1;
  const responseLength = readShortLength(bytes, at);
  if (responseLength === undefined) return undefined;
  at += varintSize(responseLength);
  if (at + responseLength !== bytes.length) return undefined;
  if (responseLength === 0) return emptyBytes;
  if (bytes[at] !== 0x0a) return undefined;
  at++;
  const resultLength = readShortLength(bytes, at);
  if (resultLength === undefined) return undefined;
  at += varintSize(resultLength);
  if (at + resultLength !== bytes.length) return undefined;
  return bytes.subarray(at, at + resultLength);
}

/** A length varint in its shortest form (≤ 4 bytes), or undefined. */
function readShortLength(bytes: Uint8Array, at: number): number | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 4 && at + i < bytes.length; i++) {
    const byte = bytes[at + i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return varintSize(value) === i + 1 ? value : undefined;
    scale *= 128;
  }
  return undefined;
}
