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
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
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
  const sizes = envelopes.map(envelopeSize);
  let length = 0;
  for (const size of sizes) length += 1 + varintSize(size) + size;
  const out = new SizedWriter(length);
  envelopes.forEach((envelope, index) => {
    out.byte(tagByte(1, WireType.LengthDelimited));
    out.varint(sizes[index]!);
    writeEnvelopeTo(out, envelope);
  });
  return out.finish();
}

/**
 * The stamp's room in an envelope built in place (buildCommand with
 * MessageCodec.encodeAfter): field 15, not in envelope.proto, so every
 * decoder (this one, protobuf-es, any other) skips it and reads timestamp 0,
 * holding a varint 0 padded to 8 bytes. The proposer's stamp
 * (stampEnvelopeInPlace) turns it into field 3, timestamp_ms, with the time
 * padded to the same 8 bytes (56 bits; times are < 2^53): the log entry is
 * the built bytes, no copy of its (up to ~1 MB) payload. Padded varints are
 * valid protobuf (parsers read up to 10 bytes). The tag changes from 15 to
 * 3 in the stamp, so bytes stamped once are never stamped in place again
 * (a second proposal of them is copied): an entry's bytes never change
 * after they were proposed.
 */
const stampRoomField = 15;
const stampVarintBytes = 8;
/** Tag and padded varint. */
const stampRoomBytes = 1 + stampVarintBytes;

/**
 * The bytes before the payload of an envelope batch holding one envelope
 * of `type` and a payload of `payloadLength` bytes (no session, the stamp's
 * room): what buildCommand writes in front of a payload encoded in place
 * (MessageCodec.encodeAfter). Those bytes followed by the payload decode
 * as writeEnvelopeBatch's bytes for that batch (timestamp 0).
 */
export function singleEnvelopeHeaderSize(type: string, payloadLength: number): number {
  const content = singleEnvelopeSize(type, payloadLength);
  return 1 + varintSize(content) + content - payloadLength;
}

/** The envelope's own size (without its tag and length in the batch), payload included. */
function singleEnvelopeSize(type: string, payloadLength: number): number {
  return (type === "" ? 0 : delimitedSize(utf8Length(type))) + stampRoomBytes +
    (payloadLength > 0 ? delimitedSize(payloadLength) : 0);
}

/** Writes that header at the start of `target`, whose last `payloadLength` bytes are the payload. */
export function writeSingleEnvelopeHeader(target: Uint8Array, type: string, payloadLength: number): void {
  const header = singleEnvelopeHeaderSize(type, payloadLength);
  if (target.length !== header + payloadLength) {
    throw new Error(`envelope header: ${target.length} bytes for ${header} of header and ${payloadLength} of payload`);
  }
  const out = new SizedWriter(header, target);
  out.byte(tagByte(1, WireType.LengthDelimited));
  out.varint(singleEnvelopeSize(type, payloadLength));
  if (type !== "") out.string(1, type);
  out.byte(tagByte(stampRoomField, WireType.Varint));
  out.paddedVarint(0, stampVarintBytes);
  if (payloadLength > 0) {
    out.byte(tagByte(4, WireType.LengthDelimited));
    out.varint(payloadLength);
  }
  out.finish();
}

/**
 * Stamps `timestampMs` into the stamp's room of a batch writeSingleEnvelopeHeader
 * built (one envelope, the room still unstamped), in place; false, nothing
 * written, for any other bytes (the caller copies them with the stamp).
 */
export function stampEnvelopeInPlace(bytes: Uint8Array, timestampMs: number): boolean {
  if (!(Number.isSafeInteger(timestampMs) && timestampMs >= 0)) {
    throw new RangeError(`timestamp ${timestampMs} ms, allowed safe integer >= 0`);
  }
  if (bytes[0] !== tagByte(1, WireType.LengthDelimited)) return false;
  const envelope = readVarint(bytes, 1);
  // One envelope, exactly the batch.
  if (envelope === undefined || envelope.end + envelope.value !== bytes.length) return false;
  let at = envelope.end;
  if (bytes[at] === tagByte(1, WireType.LengthDelimited)) {
    const type = readVarint(bytes, at + 1);
    if (type === undefined) return false;
    at = type.end + type.value;
  }
  if (at + stampRoomBytes > bytes.length || bytes[at] !== tagByte(stampRoomField, WireType.Varint)) return false;
  for (let index = 1; index < stampVarintBytes; index++) if (bytes[at + index] !== 0x80) return false;
  if (bytes[at + stampVarintBytes] !== 0) return false;
  const out = new SizedWriter(stampRoomBytes, bytes.subarray(at, at + stampRoomBytes));
  out.byte(tagByte(3, WireType.Varint));
  out.paddedVarint(timestampMs, stampVarintBytes);
  out.finish();
  return true;
}

/** A varint of at most 5 bytes at `at` (a length), or undefined past the end or longer. */
function readVarint(bytes: Uint8Array, at: number): { readonly value: number; readonly end: number } | undefined {
  let value = 0;
  for (let index = 0; index < 5 && at + index < bytes.length; index++) {
    const byte = bytes[at + index]!;
    value += (byte & 0x7f) * 2 ** (7 * index);
    if (byte < 0x80) return { value, end: at + index + 1 };
  }
  return undefined;
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
  const out = new SizedWriter(envelopeSize(envelope));
  writeEnvelopeTo(out, envelope);
  return out.finish();
}

export function readEnvelope(bytes: Uint8Array): WireEnvelope {
  return readEnvelopeFields(new BinaryReader(bytes));
}

export function writeResultBatch(results: readonly WireResult[]): Uint8Array {
  const sizes = results.map(resultSize);
  let length = 0;
  for (const size of sizes) length += 1 + varintSize(size) + size;
  const out = new SizedWriter(length);
  results.forEach((result, index) => {
    out.byte(tagByte(1, WireType.LengthDelimited));
    out.varint(sizes[index]!);
    writeResultTo(out, result);
  });
  return out.finish();
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
  const out = new SizedWriter(resultSize(result));
  writeResultTo(out, result);
  return out.finish();
}

export function readResult(bytes: Uint8Array): WireResult {
  return readResultFields(new BinaryReader(bytes));
}

/**
 * Encoded sizes first, then one buffer of exactly that size: the payload
 * (a whole command, up to the proposal limit) is copied once. protobuf-es's
 * BinaryWriter copied it twice per message (fork/join, then finish), each
 * into a fresh buffer: four fresh buffers of an insert's size per proposal
 * on the event store's leader (buildCommand, then prepareProposal).
 */
function envelopeSize(envelope: WireEnvelope): number {
  let size = 0;
  if (envelope.type !== "") size += delimitedSize(utf8Length(envelope.type));
  const session = envelope.session;
  if (session !== undefined) size += delimitedSize(sessionSize(session));
  if (envelope.timestampMs !== 0n) size += 1 + varint64Size(envelope.timestampMs);
  if (envelope.payload.length > 0) size += delimitedSize(envelope.payload.length);
  return size;
}

function sessionSize(session: WireSession): number {
  let size = 0;
  if (session.clientId !== 0n) size += 9;
  if (session.sequence !== 0n) size += 1 + varint64Size(session.sequence);
  if (session.respondedTo !== 0n) size += 1 + varint64Size(session.respondedTo);
  return size;
}

function writeEnvelopeTo(out: SizedWriter, envelope: WireEnvelope): void {
  if (envelope.type !== "") out.string(1, envelope.type);
  const session = envelope.session;
  if (session !== undefined) {
    out.byte(tagByte(2, WireType.LengthDelimited));
    out.varint(sessionSize(session));
    if (session.clientId !== 0n) {
      out.byte(tagByte(1, WireType.Bit64));
      out.fixed64(session.clientId);
    }
    if (session.sequence !== 0n) {
      out.byte(tagByte(2, WireType.Varint));
      out.varint64(session.sequence);
    }
    if (session.respondedTo !== 0n) {
      out.byte(tagByte(3, WireType.Varint));
      out.varint64(session.respondedTo);
    }
  }
  if (envelope.timestampMs !== 0n) {
    out.byte(tagByte(3, WireType.Varint));
    out.varint64(envelope.timestampMs);
  }
  if (envelope.payload.length > 0) out.bytes(4, envelope.payload);
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

function resultSize(result: WireResult): number {
  if (result.case === "payload") return delimitedSize(result.payload.length);
  if (result.case === "error") return delimitedSize(errorSize(result.code, result.message));
  return 0;
}

function errorSize(code: number, message: string): number {
  let size = 0;
  if (code !== 0) size += 1 + varint64Size(BigInt(code));
  if (message !== "") size += delimitedSize(utf8Length(message));
  return size;
}

function writeResultTo(out: SizedWriter, result: WireResult): void {
  if (result.case === "payload") out.bytes(1, result.payload);
  if (result.case === "error") {
    out.byte(tagByte(2, WireType.LengthDelimited));
    out.varint(errorSize(result.code, result.message));
    if (result.code !== 0) {
      out.byte(tagByte(1, WireType.Varint));
      // int32: a negative code is sign-extended to 64 bits (10 bytes), as protobuf writes it.
      out.varint64(BigInt(result.code));
    }
    if (result.message !== "") out.string(2, result.message);
  }
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

/** A field's tag as one byte (field numbers below 16). */
function tagByte(field: number, wireType: WireType): number {
  return (field << 3) | wireType;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** A varint of a 64-bit field: negative values as their two's complement (10 bytes). */
function varint64Size(value: bigint): number {
  let rest = BigInt.asUintN(64, value);
  let size = 1;
  while (rest >= 0x80n) {
    rest >>= 7n;
    size++;
  }
  return size;
}

/** Tag, length and payload of a length-delimited field of `length` bytes. */
function delimitedSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** UTF-8 length as TextEncoder writes it (a lone surrogate becomes U+FFFD: 3 bytes). */
function utf8Length(text: string): number {
  let length = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) {
      length += 1;
      continue;
    }
    const next = text.charCodeAt(index + 1);
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      // A pair: 2 UTF-16 units, 4 bytes.
      length += 2;
      index++;
      continue;
    }
    length += 2;
  }
  return length;
}

const textEncoder = new TextEncoder();

/** Writes into one buffer of a size computed before; finish checks it was filled exactly. */
class SizedWriter {
  private readonly buffer: Uint8Array;
  private readonly length: number;
  private at = 0;

  /** A new buffer of `length` bytes, or the first `length` bytes of `into`. */
  constructor(length: number, into?: Uint8Array) {
    this.buffer = into ?? new Uint8Array(length);
    this.length = length;
  }

  byte(value: number): void {
    this.buffer[this.at++] = value;
  }

  varint(value: number): void {
    while (value >= 0x80) {
      this.buffer[this.at++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.at++] = value;
  }

  varint64(value: bigint): void {
    const bits = BigInt.asUintN(64, value);
    let low = Number(bits & 0xffffffffn);
    let high = Number(bits >> 32n);
    while (high !== 0 || low >= 0x80) {
      this.buffer[this.at++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    this.buffer[this.at++] = low;
  }

  /** A varint of `value` (< 2^(7 * width)) in exactly `width` bytes: continuation bits on all but the last. */
  paddedVarint(value: number, width: number): void {
    for (let index = 0; index < width - 1; index++) {
      this.buffer[this.at++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    if (value >= 0x80) throw new RangeError(`padded varint: value too large for ${width} bytes`);
    this.buffer[this.at++] = value;
  }

  fixed64(value: bigint): void {
    const bits = BigInt.asUintN(64, value);
    const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + this.at, 8);
    view.setUint32(0, Number(bits & 0xffffffffn), true);
    view.setUint32(4, Number(bits >> 32n), true);
    this.at += 8;
  }

  bytes(field: number, value: Uint8Array): void {
    this.byte(tagByte(field, WireType.LengthDelimited));
    this.varint(value.length);
    this.buffer.set(value, this.at);
    this.at += value.length;
  }

  string(field: number, text: string): void {
    const length = utf8Length(text);
    this.byte(tagByte(field, WireType.LengthDelimited));
    this.varint(length);
    if (length === text.length) {
      for (let index = 0; index < length; index++) this.buffer[this.at++] = text.charCodeAt(index);
      return;
    }
    const { written } = textEncoder.encodeInto(text, this.buffer.subarray(this.at, this.at + length));
    if (written !== length) throw new Error(`string encoded to ${written} bytes, sized ${length}`);
    this.at += length;
  }

  finish(): Uint8Array {
    if (this.at !== this.length) {
      throw new Error(`envelope wire: wrote ${this.at} bytes of ${this.length} sized`);
    }
    return this.buffer;
  }
}
