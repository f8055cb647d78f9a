import { ExecutionErrorCode } from "../../gen/raftkit/v1/envelope_pb.js";
import { StateMachineErrorCode } from "./errors.js";

/** @internal One to one; a code added to one side must be added to the other (a test checks). */
const toWire: Readonly<Record<StateMachineErrorCode, ExecutionErrorCode>> = {
  [StateMachineErrorCode.UnknownType]: ExecutionErrorCode.UNKNOWN_TYPE,
  [StateMachineErrorCode.WrongKind]: ExecutionErrorCode.WRONG_KIND,
  [StateMachineErrorCode.InvalidEnvelope]: ExecutionErrorCode.INVALID_ENVELOPE,
  [StateMachineErrorCode.InvalidPayload]: ExecutionErrorCode.INVALID_PAYLOAD,
  [StateMachineErrorCode.TooLarge]: ExecutionErrorCode.TOO_LARGE,
  [StateMachineErrorCode.SessionExpired]: ExecutionErrorCode.SESSION_EXPIRED,
  [StateMachineErrorCode.ResultDiscarded]: ExecutionErrorCode.RESULT_DISCARDED,
  [StateMachineErrorCode.SessionFull]: ExecutionErrorCode.SESSION_FULL,
  [StateMachineErrorCode.InvalidArgument]: ExecutionErrorCode.INVALID_ARGUMENT,
  [StateMachineErrorCode.NotFound]: ExecutionErrorCode.NOT_FOUND,
  [StateMachineErrorCode.AlreadyExists]: ExecutionErrorCode.ALREADY_EXISTS,
  [StateMachineErrorCode.FailedPrecondition]: ExecutionErrorCode.FAILED_PRECONDITION,
  [StateMachineErrorCode.OutOfRange]: ExecutionErrorCode.OUT_OF_RANGE,
  [StateMachineErrorCode.ResourceExhausted]: ExecutionErrorCode.RESOURCE_EXHAUSTED,
  [StateMachineErrorCode.PermissionDenied]: ExecutionErrorCode.PERMISSION_DENIED,
  [StateMachineErrorCode.Aborted]: ExecutionErrorCode.ABORTED,
  [StateMachineErrorCode.Unimplemented]: ExecutionErrorCode.UNIMPLEMENTED,
};

const fromWire = new Map<ExecutionErrorCode, StateMachineErrorCode>(
  Object.values(StateMachineErrorCode).map((code) => [toWire[code], code]),
);

/** The wire twin of a StateMachineErrorCode (envelope.proto ExecutionErrorCode). */
export function errorCodeToWire(code: StateMachineErrorCode): ExecutionErrorCode {
  return toWire[code];
}

/**
 * A code this build does not know (a newer peer, or UNSPECIFIED)
 * reads as ABORTED: the caller sees a failure, never a success.
 */
export function errorCodeFromWire(code: ExecutionErrorCode): StateMachineErrorCode {
  return fromWire.get(code) ?? StateMachineErrorCode.Aborted;
}
