/**
 * Expected outcomes at the transport boundary, as a closed set of codes
 * (connect-es style: one error class, a `from(unknown)` converter and a
 * shape-based guard). Broken invariants are AssertionError, never these.
 */
export enum TransportErrorCode {
  /** Bytes from the wire that do not decode as the schema says. */
  Malformed = "malformed",
  /** A frame or message above the configured byte limit. */
  FrameTooLarge = "frame_too_large",
  /** The peer belongs to another cluster. */
  ClusterMismatch = "cluster_mismatch",
  /** A message that decodes but breaks a transport rule (wrong `to`, bad field value). */
  InvalidMessage = "invalid_message",
  /** The peer is unknown, not connected, or did not answer in time. */
  Unreachable = "unreachable",
  /** The transport was closed (or not started). */
  Closed = "closed",
  /** A snapshot transfer failed at the sender or was refused by the receiver. */
  SnapshotFailed = "snapshot_failed",
  /** Options or limits rejected at start-up. */
  InvalidConfig = "invalid_config",
}

const codes: ReadonlySet<string> = new Set(Object.values(TransportErrorCode));

export class TransportError extends Error {
  override readonly name = "TransportError";
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[${code}] ${message}`, options);
    this.code = code;
  }

  /**
   * Converts anything thrown into a TransportError: a TransportError is
   * returned as is, anything else becomes `fallbackCode` with its text.
   */
  static from(
    value: unknown,
    fallbackCode: TransportErrorCode = TransportErrorCode.Unreachable,
  ): TransportError {
    if (isTransportError(value)) return value;
    const text = value instanceof Error ? value.message : String(value);
    return new TransportError(fallbackCode, text, { cause: value });
  }
}

/** Shape-based, so it also recognises errors from another copy of this module. */
export function isTransportError(
  value: unknown,
  code?: TransportErrorCode,
): value is TransportError {
  if (!(value instanceof Error) || value.name !== "TransportError") return false;
  const valueCode: unknown = Reflect.get(value, "code");
  if (typeof valueCode !== "string" || !codes.has(valueCode)) return false;
  return code === undefined || valueCode === code;
}
