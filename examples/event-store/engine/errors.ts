/**
 * Expected failures of the event store engine, as a closed set of codes
 * (connect-es style: one error class, a `from(unknown)` converter and a
 * shape-based guard). A broken invariant is not one of these: it throws
 * AssertionError (assert.ts) and is never caught.
 */
export enum EventStoreErrorCode {
  /** A stream schema is malformed (bad name, duplicate field, aggregated non-numeric field). */
  InvalidSchema = "invalid_schema",
  /** An event does not match its stream's schema; the message names the event and field. */
  InvalidEvent = "invalid_event",
  /** A stream named by an operation or a query does not exist. */
  UnknownStream = "unknown_stream",
  /** `createStream` for a name that already exists. */
  StreamExists = "stream_exists",
  /** A query or a call has an argument outside what is accepted (bad range, unknown field). */
  InvalidArgument = "invalid_argument",
  /** `applyBatch` with an applied index not above the store's current one. */
  StaleBatch = "stale_batch",
  /** Bytes on disk or in a snapshot failed a checksum or have an impossible layout. */
  Corrupt = "corrupt",
  /** A file-system call failed (disk full, I/O error, permission). */
  Io = "io",
  /** The store stopped accepting writes after a failed write; reopen it. */
  Failed = "failed",
  /** The store was closed. */
  Closed = "closed",
}

export interface EventStoreErrorDetails {
  readonly file?: string;
  readonly offset?: number;
  readonly cause?: unknown;
}

export class EventStoreError extends Error {
  override readonly name = "EventStoreError";
  readonly code: EventStoreErrorCode;
  /** The file concerned, when there is one. */
  readonly file: string | undefined;
  /** Byte offset in `file` where the problem starts, when it applies. */
  readonly offset: number | undefined;

  constructor(code: EventStoreErrorCode, message: string, details: EventStoreErrorDetails = {}) {
    const where = details.file === undefined ? "" : ` (file ${details.file}` +
      (details.offset === undefined ? ")" : `, offset ${details.offset})`);
    super(`[${code}] ${message}${where}`,
      details.cause === undefined ? {} : { cause: details.cause });
    this.code = code;
    this.file = details.file;
    this.offset = details.offset;
  }

  /** Wraps anything thrown by a file-system call (Io unless already an EventStoreError). */
  static from(reason: unknown, file?: string): EventStoreError {
    if (isEventStoreError(reason)) return reason;
    const text = reason instanceof Error ? reason.message : String(reason);
    return new EventStoreError(EventStoreErrorCode.Io, text,
      file === undefined ? { cause: reason } : { file, cause: reason });
  }
}

export function isEventStoreError(
  value: unknown,
  code?: EventStoreErrorCode,
): value is EventStoreError {
  if (!(value instanceof Error) || value.name !== "EventStoreError") return false;
  if (!("code" in value)) return false;
  return code === undefined || value.code === code;
}

/** Shorthand for the most common error: a Corrupt naming the file and the byte offset. */
export function corrupt(message: string, file: string, offset: number): EventStoreError {
  return new EventStoreError(EventStoreErrorCode.Corrupt, message, { file, offset });
}
