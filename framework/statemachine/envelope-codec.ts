/**
 * Envelopes and results between their wire form (envelope.proto,
 * protobuf-es) and the plain records the state machine and clients use
 * (numbers for sequences and times, bigint for client ids).
 */
import { create } from "@bufbuild/protobuf";
import { ResultSchema } from "../../gen/raftkit/v1/envelope_pb.js";
import type { Result } from "../../gen/raftkit/v1/envelope_pb.js";
import {
  readEnvelope,
  readEnvelopeBatch,
  readResult,
  readResultBatch,
  writeEnvelope,
  writeEnvelopeBatch,
  writeResult,
  writeResultBatch,
} from "./envelope-wire.js";
import type { WireEnvelope, WireResult } from "./envelope-wire.js";
import { StateMachineError, StateMachineErrorCode } from "./errors.js";
import { errorCodeFromWire, errorCodeToWire } from "./error-code-wire.js";

export interface SessionStamp {
  /** Random per session; 0n is never a session. */
  readonly clientId: bigint;
  /** ≥ 1. */
  readonly sequence: number;
  /** Every sequence ≤ respondedTo has its result at the client; < sequence. */
  readonly respondedTo: number;
}

export interface EnvelopeRecord {
  readonly type: string;
  /** Commands only; undefined: no exactly-once for this command. */
  readonly session: SessionStamp | undefined;
  /** Proposer's clock, ms since the Unix epoch; 0 when not (yet) stamped. */
  readonly timestampMs: number;
  readonly payload: Uint8Array;
}

export type ExecutionResult =
  | { readonly ok: true; readonly payload: Uint8Array }
  | { readonly ok: false; readonly code: StateMachineErrorCode; readonly message: string };

export function okResult(payload: Uint8Array): ExecutionResult {
  return { ok: true, payload };
}

export function errorResult(code: StateMachineErrorCode, message: string): ExecutionResult {
  return { ok: false, code, message };
}

/** The data of one log entry: a batch of commands (a single command is a batch of one). */
export function encodeEnvelopeBatch(envelopes: readonly EnvelopeRecord[]): Uint8Array {
  if (envelopes.length === 0) throw new RangeError("an envelope batch holds at least one envelope");
  return writeEnvelopeBatch(envelopes.map(toWire));
}

/** Throws INVALID_ENVELOPE naming what is wrong. */
export function decodeEnvelopeBatch(bytes: Uint8Array): EnvelopeRecord[] {
  const envelopes = decodeOrThrow(() => readEnvelopeBatch(bytes), "envelope batch", bytes);
  if (envelopes.length === 0) {
    throw new StateMachineError(StateMachineErrorCode.InvalidEnvelope, "envelope batch is empty");
  }
  return envelopes.map(fromWire);
}

/** A query: one envelope, no session. */
export function encodeEnvelope(envelope: EnvelopeRecord): Uint8Array {
  return writeEnvelope(toWire(envelope));
}

/** Throws INVALID_ENVELOPE naming what is wrong. */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeRecord {
  return fromWire(decodeOrThrow(() => readEnvelope(bytes), "envelope", bytes));
}

/**
 * The proposer's step: sets every envelope's timestamp to its own clock
 * (clients never choose the time commands see). Throws INVALID_ENVELOPE.
 */
export function stampEnvelopeBatch(bytes: Uint8Array, timestampMs: number): Uint8Array {
  assertTimestamp(timestampMs);
  const envelopes = decodeOrThrow(() => readEnvelopeBatch(bytes), "envelope batch", bytes);
  for (const envelope of envelopes) envelope.timestampMs = BigInt(timestampMs);
  return writeEnvelopeBatch(envelopes);
}

export function encodeResult(result: ExecutionResult): Uint8Array {
  return writeResult(resultToWire(result));
}

/** Throws INVALID_ENVELOPE. */
export function decodeResult(bytes: Uint8Array): ExecutionResult {
  return resultFromWire(decodeOrThrow(() => readResult(bytes), "result", bytes));
}

export function encodeResultBatch(results: readonly ExecutionResult[]): Uint8Array {
  return writeResultBatch(results.map(resultToWire));
}

/**
 * The results of a log entry of `envelopeCount` envelopes, results[i]
 * answering envelope i. An entry that did not decode was answered by one
 * INVALID_ENVELOPE error: it answers every envelope. Throws INVALID_ENVELOPE.
 */
export function decodeResultBatch(bytes: Uint8Array, envelopeCount: number): ExecutionResult[] {
  const wire = decodeOrThrow(() => readResultBatch(bytes), "result batch", bytes);
  const results = wire.map(resultFromWire);
  const only = results[0];
  if (results.length === 1 && only !== undefined && !only.ok && envelopeCount > 1) {
    if (only.code === StateMachineErrorCode.InvalidEnvelope) {
      return Array.from({ length: envelopeCount }, () => only);
    }
  }
  if (results.length !== envelopeCount) {
    throw new StateMachineError(
      StateMachineErrorCode.InvalidEnvelope,
      `result batch holds ${results.length} results for ${envelopeCount} envelopes`,
    );
  }
  return results;
}

function resultToWire(result: ExecutionResult): WireResult {
  if (result.ok) return { case: "payload", payload: result.payload };
  return { case: "error", code: errorCodeToWire(result.code), message: result.message };
}

function resultFromWire(result: WireResult): ExecutionResult {
  if (result.case === "payload") return okResult(result.payload);
  if (result.case === "error") return errorResult(errorCodeFromWire(result.code), result.message);
  const message = "result has neither payload nor error";
  throw new StateMachineError(StateMachineErrorCode.InvalidEnvelope, message);
}

/** @internal The protobuf-es form, for the snapshot's session records. */
export function resultToProto(result: ExecutionResult): Result {
  return create(ResultSchema, {
    outcome: result.ok
      ? { case: "payload", value: result.payload }
      : { case: "error", value: { code: errorCodeToWire(result.code), message: result.message } },
  });
}

/** @internal Throws INVALID_ENVELOPE for a result with no outcome. */
export function resultFromProto(result: Result): ExecutionResult {
  const outcome = result.outcome;
  if (outcome.case === "payload") return okResult(outcome.value);
  if (outcome.case === "error") {
    const { code, message } = outcome.value;
    return resultFromWire({ case: "error", code, message });
  }
  return resultFromWire({ case: undefined });
}

function toWire(envelope: EnvelopeRecord): WireEnvelope {
  assertTimestamp(envelope.timestampMs);
  const session = envelope.session;
  if (session !== undefined) assertSession(session);
  return {
    type: envelope.type,
    timestampMs: BigInt(envelope.timestampMs),
    payload: envelope.payload,
    session:
      session === undefined
        ? undefined
        : {
            clientId: session.clientId,
            sequence: BigInt(session.sequence),
            respondedTo: BigInt(session.respondedTo),
          },
  };
}

function fromWire(envelope: WireEnvelope): EnvelopeRecord {
  const wireSession = envelope.session;
  const noSession = wireSession === undefined || wireSession.clientId === 0n;
  const session = noSession
    ? undefined
    : {
        clientId: wireSession.clientId,
        sequence: toSafeNumber(wireSession.sequence, "session.sequence"),
        respondedTo: toSafeNumber(wireSession.respondedTo, "session.responded_to"),
      };
  if (session !== undefined) checkSession(envelope.type, session);
  const timestampMs = toSafeNumber(envelope.timestampMs, "timestamp_ms");
  return { type: envelope.type, session, timestampMs, payload: envelope.payload };
}

function checkSession(type: string, session: SessionStamp): void {
  if (session.sequence < 1 || session.respondedTo >= session.sequence) {
    throw new StateMachineError(
      StateMachineErrorCode.InvalidEnvelope,
      `${type}: session sequence ${session.sequence}, responded_to ${session.respondedTo}: ` +
        `allowed sequence >= 1 and responded_to < sequence`,
    );
  }
}

function assertSession(session: SessionStamp): void {
  if (session.clientId <= 0n || session.clientId >= 1n << 64n) {
    throw new RangeError(`session client id ${session.clientId}, allowed [1, 2^64)`);
  }
  const valid =
    Number.isSafeInteger(session.sequence) &&
    Number.isSafeInteger(session.respondedTo) &&
    session.sequence >= 1 &&
    session.respondedTo >= 0 &&
    session.respondedTo < session.sequence;
  if (!valid) {
    throw new RangeError(
      `session sequence ${session.sequence}, responded_to ${session.respondedTo}: ` +
        `allowed safe integers with 0 <= responded_to < sequence`,
    );
  }
}

function assertTimestamp(timestampMs: number): void {
  if (!(Number.isSafeInteger(timestampMs) && timestampMs >= 0)) {
    throw new RangeError(`timestamp ${timestampMs} ms, allowed safe integer >= 0`);
  }
}

function toSafeNumber(value: bigint, field: string): number {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new StateMachineError(
      StateMachineErrorCode.InvalidEnvelope,
      `envelope ${field} = ${value}, allowed [0, 2^53)`,
    );
  }
  return Number(value);
}

function decodeOrThrow<Message>(decode: () => Message, what: string, bytes: Uint8Array): Message {
  try {
    return decode();
  } catch (reason) {
    // Only the decoder's failure is caught: the bytes are not a valid message.
    const detail = reason instanceof Error ? reason.message : String(reason);
    throw new StateMachineError(
      StateMachineErrorCode.InvalidEnvelope,
      `${what} (${bytes.length} bytes) does not decode: ${detail}`,
      { cause: reason },
    );
  }
}
