import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { HostError, HostErrorCode } from "../../../framework/host/index.js";
import { connectCodeOf, connectErrorFrom } from "../../../framework/server/index.js";
import { NotLeaderSchema } from "../../../gen/raftkit/v1/gateway_pb.js";

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
});
