/**
 * Expected failures of durable storage, as a closed set of codes (connect-es
 * style: one error class, a `from(unknown)` converter, a shape-based guard).
 * Where a file or a byte offset is involved the error names them.
 */
export enum StorageErrorCode {
  /** A record failed its CRC, has an impossible length or an unknown layout. */
  Corrupt = "corrupt",
  /** A segment the log still needs is not on disk. */
  MissingSegment = "missing_segment",
  /** A file-system call failed (disk full, I/O error, permission). */
  Io = "io",
  /** The store stopped accepting writes after an earlier write failure (see `cause`). */
  Failed = "failed",
  /** The store was closed. */
  Closed = "closed",
  /** The caller passed something the store cannot accept (gap in a log, bad id). */
  InvalidArgument = "invalid_argument",
  /** The requested snapshot or group does not exist. */
  NotFound = "not_found",
}

export interface StorageErrorDetails {
  readonly file?: string;
  readonly offset?: number;
  readonly cause?: unknown;
}

export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly code: StorageErrorCode;
  /** The file concerned, when there is one. */
  readonly file: string | undefined;
  /** Byte offset in `file` where the problem starts, when it applies. */
  readonly offset: number | undefined;

  constructor(code: StorageErrorCode, message: string, details: StorageErrorDetails = {}) {
    const where =
      details.file === undefined
        ? ""
        : ` (file ${details.file}` +
          (details.offset === undefined ? ")" : `, offset ${details.offset})`);
    super(
      `[${code}] ${message}${where}`,
      details.cause === undefined ? {} : { cause: details.cause },
    );
    this.code = code;
    this.file = details.file;
    this.offset = details.offset;
  }

  /** Wraps anything thrown by a file-system call into a StorageError (Io unless already typed). */
  static from(reason: unknown, file?: string): StorageError {
    if (isStorageError(reason)) return reason;
    const text = reason instanceof Error ? reason.message : String(reason);
    return new StorageError(
      StorageErrorCode.Io,
      text,
      file === undefined ? { cause: reason } : { file, cause: reason },
    );
  }
}

export function isStorageError(value: unknown, code?: StorageErrorCode): value is StorageError {
  if (!(value instanceof Error) || value.name !== "StorageError") return false;
  if (!("code" in value)) return false;
  return code === undefined || value.code === code;
}
