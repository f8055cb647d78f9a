import { Code } from "@connectrpc/connect";
import { isTransportError, TransportErrorCode } from "./errors.js";

/** The Connect (gRPC) code a peer is refused with for `error`. */
export function connectCodeOf(error: unknown): Code {
  if (!isTransportError(error)) return Code.Internal;
  switch (error.code) {
    case TransportErrorCode.Malformed:
    case TransportErrorCode.InvalidMessage:
      return Code.InvalidArgument;
    case TransportErrorCode.FrameTooLarge:
      return Code.ResourceExhausted;
    case TransportErrorCode.ClusterMismatch:
      return Code.FailedPrecondition;
    case TransportErrorCode.SnapshotFailed:
      return Code.Aborted;
    default:
      return Code.Internal;
  }
}
