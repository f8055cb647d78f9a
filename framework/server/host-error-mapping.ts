import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { HostErrorCode, isHostError } from "../host/index.js";
import { NotLeaderSchema } from "../../gen/raftkit/v1/gateway_pb.js";

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

/**
 * Turns what a host call threw into the ConnectError the caller receives.
 * NotLeader carries a NotLeader detail with the leader's id and address, so
 * a client can go there directly. Anything that is not a HostError is a bug
 * or an I/O failure: Internal.
 */
export function connectErrorFrom(
  error: unknown,
  groupId: number,
  addressOf: (nodeId: number) => string | undefined,
): ConnectError {
  if (error instanceof ConnectError) return error;
  if (!isHostError(error)) {
    return new ConnectError(error instanceof Error ? error.message : String(error), Code.Internal, undefined, undefined, error);
  }
  const code = connectCodeOf(error.code);
  if (error.code !== HostErrorCode.NotLeader) return new ConnectError(error.message, code, undefined, undefined, error);
  const detail = create(NotLeaderSchema, {
    groupId: BigInt(groupId),
    leaderNodeId: BigInt(error.leaderHint),
    leaderAddress: error.leaderHint === 0 ? "" : (addressOf(error.leaderHint) ?? ""),
  });
  return new ConnectError(error.message, code, undefined, [{ desc: NotLeaderSchema, value: detail }], error);
}
