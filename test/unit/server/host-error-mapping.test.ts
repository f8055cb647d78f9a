import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { HostError, HostErrorCode } from "../../../framework/host/index.js";
import { connectCodeOf, connectErrorFrom } from "../../../framework/server/index.js";
import { StateMachineError, StateMachineErrorCode } from "../../../framework/statemachine/index.js";
import { ExecutionErrorSchema } from "../../../gen/raftkit/v1/envelope_pb.js";
import { NotLeaderSchema, OverloadedSchema, PartitionNotFoundSchema } from "../../../gen/raftkit/v1/gateway_pb.js";

describe("HostError → Connect error", () => {
  it("maps every host code (closed mapping, as gateway.proto lists it)", () => {
    const expected: Record<HostErrorCode, Code> = {
      [HostErrorCode.NotLeader]: Code.FailedPrecondition,
      [HostErrorCode.GroupNotFound]: Code.NotFound,
      [HostErrorCode.GroupExists]: Code.AlreadyExists,
      [HostErrorCode.ProposalDropped]: Code.Aborted,
      [HostErrorCode.DeadlineExceeded]: Code.DeadlineExceeded,
      [HostErrorCode.Overloaded]: Code.ResourceExhausted,
      [HostErrorCode.Stopped]: Code.Unavailable,
      [HostErrorCode.StorageFailed]: Code.Internal,
      [HostErrorCode.SnapshotMissing]: Code.Internal,
      [HostErrorCode.StateMachineFailed]: Code.Internal,
      [HostErrorCode.InvalidArgument]: Code.InvalidArgument,
    };
    for (const code of Object.values(HostErrorCode)) expect([code, connectCodeOf(code)]).toEqual([code, expected[code]]);
  });

  it("carries the leader's id and address in a NotLeader detail", () => {
    const error = connectErrorFrom(
      new HostError(HostErrorCode.NotLeader, "group 7: not leader", { leaderHint: 3 }),
      7,
      (nodeId) => (nodeId === 3 ? "http://127.0.0.1:7003" : undefined),
    );
    expect(error.code).toBe(Code.FailedPrecondition);
    expect(error.findDetails(NotLeaderSchema)).toEqual([
      expect.objectContaining({ groupId: 7n, leaderNodeId: 3n, leaderAddress: "http://127.0.0.1:7003" }),
    ]);
    const unknown = connectErrorFrom(new HostError(HostErrorCode.NotLeader, "no leader yet"), 7, () => "never");
    expect(unknown.findDetails(NotLeaderSchema)[0]).toMatchObject({ leaderNodeId: 0n, leaderAddress: "" });
  });

  it("keeps ConnectErrors and turns anything else into Internal", () => {
    const own = new ConnectError("x", Code.InvalidArgument);
    expect(connectErrorFrom(own, 1, () => undefined)).toBe(own);
    expect(connectErrorFrom(new TypeError("boom"), 1, () => undefined).code).toBe(Code.Internal);
  });

  it("marks overload and a missing group with details, so clients know what to retry", () => {
    const overloaded = connectErrorFrom(new HostError(HostErrorCode.Overloaded, "too many"), 4, () => undefined);
    expect(overloaded.findDetails(OverloadedSchema)[0]?.groupId).toBe(4n);
    const missing = connectErrorFrom(new HostError(HostErrorCode.GroupNotFound, "no group"), 5, () => undefined);
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.findDetails(PartitionNotFoundSchema)[0]?.groupId).toBe(5n);
  });

  it("maps a proposal the state machine refused like the state machine's own error", () => {
    const refusal = new StateMachineError(StateMachineErrorCode.UnknownType, 'no executor for message type "x.v1.Y/Z"');
    const hostError = new HostError(HostErrorCode.InvalidArgument, "proposal refused", { cause: refusal });
    const error = connectErrorFrom(hostError, 1, () => undefined);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe('no executor for message type "x.v1.Y/Z"');
    expect(error.findDetails(ExecutionErrorSchema)[0]?.message).toBe('no executor for message type "x.v1.Y/Z"');
  });
});
