/**
 * What a RaftkitClient call can fail with, as a closed set of codes. Every
 * error carries the context needed to act on it: the partition, the message
 * type, the last node tried, the attempts made and the last failure seen.
 */
import type { StateMachineErrorCode } from "../statemachine/index.js";

export enum ClientErrorCode {
  /** The call's deadline passed. A command's outcome is unknown (its session makes a later retry safe). */
  DeadlineExceeded = "deadline_exceeded",
  /** The caller's AbortSignal fired. A command's outcome is unknown. */
  Aborted = "aborted",
  /** The state machine answered with an error (`executionCode`, the executor's message). Not retried. */
  StateMachine = "state_machine",
  /** The request itself is wrong (kind, size, partition, key routing, a node's INVALID_ARGUMENT). Not retried. */
  InvalidArgument = "invalid_argument",
  /** No node runs the partition (asked every node, or the partition table said so). */
  PartitionNotFound = "partition_not_found",
  /** A node failed in a way retries cannot fix (INTERNAL, an unexpected code). */
  Internal = "internal",
  /** The client was closed. */
  Closed = "closed",
}

export interface ClientErrorContext {
  readonly partition?: number;
  readonly typeName?: string;
  /** Base URL of the node the last attempt went to. */
  readonly node?: string;
  readonly attempts?: number;
  /** For StateMachine: the state machine's code. */
  readonly executionCode?: StateMachineErrorCode;
  /** The Connect code (name) of the last failure, if a node answered. */
  readonly lastCode?: string;
}

export class ClientError extends Error {
  override readonly name = "ClientError";
  readonly code: ClientErrorCode;
  readonly context: ClientErrorContext;
  /** The message without the code prefix. */
  readonly rawMessage: string;

  constructor(code: ClientErrorCode, message: string, context: ClientErrorContext = {}, options: { cause?: unknown } = {}) {
    super(`[${code}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = context;
    this.rawMessage = message;
  }
}

/** Shape-based guard (works across module copies); narrows by code if given. */
export function isClientError(value: unknown, code?: ClientErrorCode): value is ClientError {
  if (!(value instanceof Error) || value.name !== "ClientError") return false;
  if (!("code" in value) || !("context" in value)) return false;
  return code === undefined || value.code === code;
}
