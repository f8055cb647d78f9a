/**
 * Hand-written wire codec of the hot messages of envelope.proto (Envelope,
 * EnvelopeBatch, Result, ResultBatch): every command of every replica goes
 * through it, and the reflection-based codec of protobuf-es costs several
 * microseconds per envelope. The schema stays envelope.proto; a randomized
 * test checks this codec against protobuf-es (same bytes out, same records
 * in). Proto3 rules: default values are not written, unknown fields are
 * skipped, a repeated scalar's last value wins, a repeated message merges,
 * strings must be valid UTF-8.
 * @internal
 */
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { ExecutionErrorCode } from "../../gen/raftkit/v1/envelope_pb.js";

/** An envelope as it is on the wire (64-bit fields as bigint). */
export interface WireEnvelope {
  type: string;
  session: WireSession | undefined;
  timestampMs: bigint;
  payload: Uint8Array;
}

export interface WireSession {
  clientId: bigint;
  sequence: bigint;
  respondedTo: bigint;
}

export type WireResult =
  | { readonly case: "payload"; readonly payload: Uint8Array }
  | { readonly case: "error"; readonly code: ExecutionErrorCode | number; readonly message: string }
  | { readonly case: undefined };

export function writeEnvelopeBatch(envelopes: readonly WireEnvelope[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const envelope of envelopes) {
    writeEnvelopeFields(writer.tag(1, WireType.LengthDelimited).fork(), envelope).join();
  }
  return writer.finish();
}

export function readEnvelopeBatch(bytes: Uint8Array): WireEnvelope[] {
  const reader = new BinaryReader(bytes);
  const envelopes: WireEnvelope[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) envelopes.push(readEnvelopeFields(nested(reader, field, wireType)));
    else reader.skip(wireType, field);
  }
  return envelopes;
}

export function writeEnvelope(envelope: WireEnvelope): Uint8Array {
  return writeEnvelopeFields(new BinaryWriter(), envelope).finish();
}

export function readEnvelope(bytes: Uint8Array): WireEnvelope {
  return readEnvelopeFields(new BinaryReader(bytes));
}

export function writeResultBatch(results: readonly WireResult[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const result of results) {
    writeResultFields(writer.tag(1, WireType.LengthDelimited).fork(), result).join();
  }
  return writer.finish();
}

export function readResultBatch(bytes: Uint8Array): WireResult[] {
  const reader = new BinaryReader(bytes);
  const results: WireResult[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) results.push(readResultFields(nested(reader, field, wireType)));
    else reader.skip(wireType, field);
  }
  return results;
}

export function writeResult(result: WireResult): Uint8Array {
  return writeResultFields(new BinaryWriter(), result).finish();
}

export function readResult(bytes: Uint8Array): WireResult {
  return readResultFields(new BinaryReader(bytes));
}

function writeEnvelopeFields(writer: BinaryWriter, envelope: WireEnvelope): BinaryWriter {
  if (envelope.type !== "") writer.tag(1, WireType.LengthDelimited).string(envelope.type);
  const session = envelope.session;
  if (session !== undefined) {
    writer.tag(2, WireType.LengthDelimited).fork();
    if (session.clientId !== 0n) writer.tag(1, WireType.Bit64).fixed64(session.clientId);
    if (session.sequence !== 0n) writer.tag(2, WireType.Varint).uint64(session.sequence);
    if (session.respondedTo !== 0n) writer.tag(3, WireType.Varint).uint64(session.respondedTo);
    writer.join();
  }
  if (envelope.timestampMs !== 0n) writer.tag(3, WireType.Varint).int64(envelope.timestampMs);
  if (envelope.payload.length > 0) writer.tag(4, WireType.LengthDelimited).bytes(envelope.payload);
  return writer;
}

function readEnvelopeFields(reader: BinaryReader): WireEnvelope {
  const envelope: WireEnvelope = {
    type: "",
    session: undefined,
    timestampMs: 0n,
    payload: new Uint8Array(0),
  };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    switch (field) {
      case 1:
        requireWireType(wireType, WireType.LengthDelimited, field);
        envelope.type = reader.string(true);
        break;
      case 2:
        envelope.session = readSession(nested(reader, field, wireType), envelope.session);
        break;
      case 3:
        requireWireType(wireType, WireType.Varint, field);
        envelope.timestampMs = BigInt(reader.int64());
        break;
      case 4:
        requireWireType(wireType, WireType.LengthDelimited, field);
        envelope.payload = reader.bytes();
        break;
      default:
        reader.skip(wireType, field);
    }
  }
  return envelope;
}

/** A repeated occurrence of a message field merges into the earlier one. */
function readSession(reader: BinaryReader, earlier: WireSession | undefined): WireSession {
  const session = earlier ?? { clientId: 0n, sequence: 0n, respondedTo: 0n };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    switch (field) {
      case 1:
        requireWireType(wireType, WireType.Bit64, field);
        session.clientId = BigInt(reader.fixed64());
        break;
      case 2:
        requireWireType(wireType, WireType.Varint, field);
        session.sequence = BigInt(reader.uint64());
        break;
      case 3:
        requireWireType(wireType, WireType.Varint, field);
        session.respondedTo = BigInt(reader.uint64());
        break;
      default:
        reader.skip(wireType, field);
    }
  }
  return session;
}

function writeResultFields(writer: BinaryWriter, result: WireResult): BinaryWriter {
  if (result.case === "payload") writer.tag(1, WireType.LengthDelimited).bytes(result.payload);
  if (result.case === "error") {
    writer.tag(2, WireType.LengthDelimited).fork();
    if (result.code !== 0) writer.tag(1, WireType.Varint).int32(result.code);
    if (result.message !== "") writer.tag(2, WireType.LengthDelimited).string(result.message);
    writer.join();
  }
  return writer;
}

function readResultFields(reader: BinaryReader): WireResult {
  let result: WireResult = { case: undefined };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) {
      requireWireType(wireType, WireType.LengthDelimited, field);
      result = { case: "payload", payload: reader.bytes() };
    } else if (field === 2) {
      const earlier = result.case === "error" ? result : undefined;
      result = readError(nested(reader, field, wireType), earlier);
    } else {
      reader.skip(wireType, field);
    }
  }
  return result;
}

function readError(
  reader: BinaryReader,
  earlier: { readonly code: number; readonly message: string } | undefined,
): WireResult {
  let code = earlier?.code ?? 0;
  let message = earlier?.message ?? "";
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1) {
      requireWireType(wireType, WireType.Varint, field);
      code = reader.int32();
    } else if (field === 2) {
      requireWireType(wireType, WireType.LengthDelimited, field);
      message = reader.string(true);
    } else {
      reader.skip(wireType, field);
    }
  }
  return { case: "error", code, message };
}

/** A reader over one length-delimited nested message. */
function nested(reader: BinaryReader, field: number, wireType: WireType): BinaryReader {
  requireWireType(wireType, WireType.LengthDelimited, field);
  return new BinaryReader(reader.bytes());
}

function requireWireType(actual: WireType, expected: WireType, field: number): void {
  if (actual !== expected) {
    throw new Error(`field ${field}: wire type ${actual}, expected ${expected}`);
  }
}
