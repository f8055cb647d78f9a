import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { HostErrorCode, isHostError } from "../host/index.js";
import type { HostError } from "../host/index.js";
import { errorCodeToWire, isStateMachineError, StateMachineErrorCode } from "../statemachine/index.js";
import type { StateMachineError } from "../statemachine/index.js";
import { withoutStackTrace } from "./stackless-error.js";
import { ExecutionErrorSchema } from "../../gen/raftkit/v1/envelope_pb.js";
import { NotLeaderSchema, OverloadedSchema, PartitionNotFoundSchema } from "../../gen/raftkit/v1/gateway_pb.js";

/** The Connect code of every host outcome: a closed mapping (see gateway.proto). */
export function connectCodeOf(code: HostErrorCode): Code {
  switch (code) {
    case HostErrorCode.NotLeader:
      return Code.FailedPrecondition;
    case HostErrorCode.ProposalDropped:
      return Code.Aborted;
    case HostErrorCode.DeadlineExceeded:
      return Code.DeadlineExceeded;
    case HostErrorCode.Overloaded:
      return Code.ResourceExhausted;
    case HostErrorCode.GroupNotFound:
      return Code.NotFound;
    case HostErrorCode.GroupExists:
      return Code.AlreadyExists;
    case HostErrorCode.InvalidArgument:
      return Code.InvalidArgument;
    case HostErrorCode.Stopped:
      return Code.Unavailable;
    case HostErrorCode.StorageFailed:
    case HostErrorCode.SnapshotMissing:
    case HostErrorCode.StateMachineFailed:
      return Code.Internal;
  }
}

/** The Connect code of every state machine outcome: a closed mapping (see gateway.proto). */
export function connectCodeOfExecution(code: StateMachineErrorCode): Code {
  switch (code) {
    case StateMachineErrorCode.UnknownType:
    case StateMachineErrorCode.WrongKind:
    case StateMachineErrorCode.InvalidEnvelope:
    case StateMachineErrorCode.InvalidPayload:
    case StateMachineErrorCode.TooLarge:
    case StateMachineErrorCode.InvalidArgument:
      return Code.InvalidArgument;
    case StateMachineErrorCode.NotFound:
      return Code.NotFound;
    case StateMachineErrorCode.AlreadyExists:
      return Code.AlreadyExists;
    case StateMachineErrorCode.SessionExpired:
    case StateMachineErrorCode.ResultDiscarded:
    case StateMachineErrorCode.FailedPrecondition:
      return Code.FailedPrecondition;
    case StateMachineErrorCode.SessionFull:
    case StateMachineErrorCode.ResourceExhausted:
      return Code.ResourceExhausted;
    case StateMachineErrorCode.OutOfRange:
      return Code.OutOfRange;
    case StateMachineErrorCode.PermissionDenied:
      return Code.PermissionDenied;
    case StateMachineErrorCode.Aborted:
      return Code.Aborted;
    case StateMachineErrorCode.Unimplemented:
      return Code.Unimplemented;
  }
}

/** A state machine's answer (or refusal) as a Connect error with an ExecutionError detail. */
export function connectErrorFromExecution(error: StateMachineError, cause?: unknown): ConnectError {
  const detail = create(ExecutionErrorSchema, { code: errorCodeToWire(error.code), message: error.rawMessage });
  return new ConnectError(
    error.rawMessage,
    connectCodeOfExecution(error.code),
    undefined,
    [{ desc: ExecutionErrorSchema, value: detail }],
    cause ?? error,
  );
}

/**
 * Turns what a host call threw into the ConnectError the caller receives.
 * NotLeader carries a NotLeader detail with the leader's id and address, so
 * a client can go there directly; Overloaded and GroupNotFound carry their
 * details too. A proposal the state machine refused before it entered the
 * log (prepareProposal) maps like the state machine's own error. Anything
 * that is not a HostError is a bug or an I/O failure: Internal.
 */
export function connectErrorFrom(
  error: unknown,
  groupId: number,
  addressOf: (nodeId: number) => string | undefined,
): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isStateMachineError(error)) return connectErrorFromExecution(error);
  if (!isHostError(error)) {
    return new ConnectError(error instanceof Error ? error.message : String(error), Code.Internal, undefined, undefined, error);
  }
  if (error.code === HostErrorCode.InvalidArgument && isStateMachineError(error.cause)) {
    return connectErrorFromExecution(error.cause, error);
  }
  // No stack of its own: the host's outcome is the cause, and refusals (Overloaded, NotLeader) are
  // answered thousands of times a second under overload.
  return withoutStackTrace(() =>
    new ConnectError(error.message, connectCodeOf(error.code), undefined, hostDetails(error, groupId, addressOf), error));
}

type Details = ConstructorParameters<typeof ConnectError>[3];

function hostDetails(error: HostError, groupId: number, addressOf: (nodeId: number) => string | undefined): Details {
  const group = BigInt(groupId);
  switch (error.code) {
    case HostErrorCode.NotLeader: {
      const detail = create(NotLeaderSchema, {
        groupId: group,
        leaderNodeId: BigInt(error.leaderHint),
        leaderAddress: error.leaderHint === 0 ? "" : (addressOf(error.leaderHint) ?? ""),
      });
      return [{ desc: NotLeaderSchema, value: detail }];
    }
    case HostErrorCode.Overloaded:
      return [{ desc: OverloadedSchema, value: create(OverloadedSchema, { groupId: group }) }];
    case HostErrorCode.GroupNotFound:
      return [{ desc: PartitionNotFoundSchema, value: create(PartitionNotFoundSchema, { groupId: group }) }];
    default:
      return undefined;
  }
}
