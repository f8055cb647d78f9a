/**
 * Expected failures of executing a command or a query, as a closed set of
 * codes (connect-es's Code, dragonboat's request results). They travel to
 * the caller inside a result envelope; they never fail `apply`.
 *
 * The first group is raised by the framework before any executor runs; the
 * second by executors (the state machine's own logic) through
 * `throw new StateMachineError(code, message)`.
 */
export enum StateMachineErrorCode {
  /** No executor is registered for the envelope's type. */
  UnknownType = "unknown_type",
  /** A command sent as a query, or a query sent as a command. */
  WrongKind = "wrong_kind",
  /** The envelope (or the log entry holding it) could not be decoded or is inconsistent. */
  InvalidEnvelope = "invalid_envelope",
  /** The payload is not a valid request of the envelope's type. */
  InvalidPayload = "invalid_payload",
  /** The payload is larger than the state machine accepts. */
  TooLarge = "too_large",
  /** The client's session is gone (expired or evicted): open a new one; the outcome is unknown. */
  SessionExpired = "session_expired",
  /** A retry of a command whose result the client already acknowledged. */
  ResultDiscarded = "result_discarded",
  /** The session holds too many unacknowledged results; acknowledge some and retry. */
  SessionFull = "session_full",

  InvalidArgument = "invalid_argument",
  NotFound = "not_found",
  AlreadyExists = "already_exists",
  FailedPrecondition = "failed_precondition",
  OutOfRange = "out_of_range",
  ResourceExhausted = "resource_exhausted",
  PermissionDenied = "permission_denied",
  Aborted = "aborted",
  Unimplemented = "unimplemented",
}

const codeValues: ReadonlySet<string> = new Set(Object.values(StateMachineErrorCode));

/** A string is one of the closed codes. */
export function isStateMachineErrorCode(value: unknown): value is StateMachineErrorCode {
  return typeof value === "string" && codeValues.has(value);
}

export class StateMachineError extends Error {
  override readonly name = "StateMachineError";
  readonly code: StateMachineErrorCode;
  /** The message without the code prefix, as it travels to the caller. */
  readonly rawMessage: string;

  constructor(code: StateMachineErrorCode, message: string, options: { cause?: unknown } = {}) {
    const cause = options.cause === undefined ? undefined : { cause: options.cause };
    super(`[${code}] ${message}`, cause);
    this.code = code;
    this.rawMessage = message;
  }

  /**
   * Converts anything thrown into a StateMachineError: a StateMachineError
   * (or one that crossed a realm boundary, recognised by shape) is kept;
   * anything else becomes `fallbackCode` with its message, the original as
   * `cause`. Used at boundaries (client, gateway), never to swallow bugs in
   * apply.
   */
  static from(
    reason: unknown,
    fallbackCode: StateMachineErrorCode = StateMachineErrorCode.Aborted,
  ): StateMachineError {
    if (reason instanceof StateMachineError) return reason;
    if (isStateMachineError(reason)) {
      return new StateMachineError(reason.code, reason.rawMessage, { cause: reason });
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new StateMachineError(fallbackCode, message, { cause: reason });
  }
}

/** Shape-based guard (works across copies of this module); narrows by code if given. */
export function isStateMachineError(
  value: unknown,
  code?: StateMachineErrorCode,
): value is StateMachineError {
  if (!(value instanceof Error) || value.name !== "StateMachineError") return false;
  if (!("code" in value) || !isStateMachineErrorCode(value.code)) return false;
  if (!("rawMessage" in value) || typeof value.rawMessage !== "string") return false;
  return code === undefined || value.code === code;
}
