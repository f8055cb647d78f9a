/**
 * The caller's side of executable messages: build the bytes to send (a
 * command's log entry, a query's envelope) and turn the answer into the
 * response message or a thrown StateMachineError. Generated clients call
 * these; so can hand-written ones.
 */
import {
  decodeResult,
  decodeResultBatch,
  encodeEnvelope,
  encodeEnvelopeBatch,
} from "./envelope-codec.js";
import type { ExecutionResult, SessionStamp } from "./envelope-codec.js";
import { singleEnvelopeHeaderSize, writeSingleEnvelopeHeader } from "./envelope-wire.js";
import { StateMachineError, StateMachineErrorCode } from "./errors.js";
import { ExecutableKind } from "./executable-message.js";
import type { ExecutableMessage } from "./executable-message.js";

export interface BuildOptions {
  /** Refuse, before sending, a payload larger than this (the state machine's maxPayloadBytes). */
  readonly maxPayloadBytes?: number;
}

/**
 * The data of a log entry holding one command. `stamp` (from a
 * ClientSession) makes it exactly-once; the proposer stamps the time.
 */
export function buildCommand<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  request: Request,
  stamp: SessionStamp | undefined,
  options: BuildOptions = {},
): Uint8Array {
  requireKind(descriptor, ExecutableKind.Command);
  const type = descriptor.typeName;
  const codec = descriptor.request;
  if (stamp === undefined && codec.encodeAfter !== undefined) {
    // The envelope's header written in front of the payload, in the payload's own buffer, with the
    // stamp's room: the proposer stamps these bytes in place (prepareProposal), no copy of them.
    let header = 0;
    const bytes = codec.encodeAfter(request, (length) => {
      checkPayloadSize(descriptor, length, options);
      header = singleEnvelopeHeaderSize(type, length);
      return header;
    });
    writeSingleEnvelopeHeader(bytes, type, bytes.length - header);
    return bytes;
  }
  const payload = encodePayload(descriptor, request, options);
  return encodeEnvelopeBatch([{ type, session: stamp, timestampMs: 0, payload }]);
}

/** The envelope of one query. */
export function buildQuery<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  request: Request,
  options: BuildOptions = {},
): Uint8Array {
  requireKind(descriptor, ExecutableKind.Query);
  const payload = encodePayload(descriptor, request, options);
  return encodeEnvelope({ type: descriptor.typeName, session: undefined, timestampMs: 0, payload });
}

/** The response to a command built by buildCommand; throws StateMachineError. */
export function readCommandResult<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  resultBytes: Uint8Array,
): Response {
  const [result] = decodeResultBatch(resultBytes, 1);
  if (result === undefined) {
    const message = "command result batch is empty";
    throw new StateMachineError(StateMachineErrorCode.InvalidEnvelope, message);
  }
  return unwrapResult(descriptor, result);
}

/** The response to a query built by buildQuery; throws StateMachineError. */
export function readQueryResult<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  resultBytes: Uint8Array,
): Response {
  return unwrapResult(descriptor, decodeResult(resultBytes));
}

/** A result as the response message, or its error thrown as StateMachineError. */
export function unwrapResult<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  result: ExecutionResult,
): Response {
  if (!result.ok) throw new StateMachineError(result.code, result.message);
  try {
    return descriptor.response.decode(result.payload);
  } catch (reason) {
    const detail = reason instanceof Error ? reason.message : String(reason);
    throw new StateMachineError(
      StateMachineErrorCode.InvalidPayload,
      `response of ${descriptor.typeName} (${result.payload.length} bytes) ` +
        `does not decode: ${detail}`,
      { cause: reason },
    );
  }
}

function encodePayload<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  request: Request,
  options: BuildOptions,
): Uint8Array {
  const payload = descriptor.request.encode(request);
  checkPayloadSize(descriptor, payload.length, options);
  return payload;
}

function checkPayloadSize<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  length: number,
  options: BuildOptions,
): void {
  const limit = options.maxPayloadBytes;
  if (limit !== undefined && length > limit) {
    throw new StateMachineError(
      StateMachineErrorCode.TooLarge,
      `${descriptor.typeName}: payload of ${length} bytes, allowed at most ${limit}`,
    );
  }
}

function requireKind<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  kind: ExecutableKind,
): void {
  if (descriptor.kind !== kind) {
    throw new StateMachineError(
      StateMachineErrorCode.WrongKind,
      `${descriptor.typeName} is a ${descriptor.kind}, built as a ${kind}`,
    );
  }
}
