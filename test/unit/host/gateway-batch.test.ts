/** GatewayService.ExecuteBatch over NodeHosts in memory: the raw-command fast path answers as Execute does. */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createSilentLogger } from "../../../framework/transport/index.js";
import { createBinaryExecuteBatch, createGatewayServiceImpl } from "../../../framework/server/gateway-service.js";
import { executeBatchServerMethod } from "../../../framework/server/gateway-wire.js";
import { createRequestGate } from "../../../framework/server/request-gate.js";
import type { ExecuteRequest } from "../../../gen/raftkit/v1/gateway_pb.js";
import {
  ExecuteBatchRequestSchema,
  ExecuteBatchResponseSchema,
  ExecuteKind,
  ExecuteRequestSchema,
  GatewayService,
} from "../../../gen/raftkit/v1/gateway_pb.js";
import { bytes, HostCluster, text } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

const context = (method: "execute" | "executeBatch", timeoutMs?: number) =>
  createHandlerContext({
    service: GatewayService,
    method: GatewayService.method[method],
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://127.0.0.1/",
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });

const command = (groupId: bigint, payload: string, timeoutMs = 0): ExecuteRequest =>
  create(ExecuteRequestSchema, { groupId, kind: ExecuteKind.COMMAND, payload: bytes(payload), timeoutMs });

describe("GatewayService.ExecuteBatch", () => {
  it("answers raw commands (fast path) and everything else exactly as Execute would", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    await cluster.startGroup(2, [2, 3]); // not on node 1: the host refuses GroupNotFound
    const leaderId = await cluster.waitForLeader(1);
    const host = cluster.hosts.get(leaderId)!;
    const gateway = createGatewayServiceImpl({
      host,
      addressOf: (nodeId) => `http://node${nodeId}`,
      machineOf: () => undefined,
      gate: createRequestGate(),
      logger: createSilentLogger(),
    });
    const requests = [
      command(1n, "set a 1"),
      command(1n, "set a 2"),
      command(1n, "set b 1", 2_000), // its own timeout: the general path
      command(0n, "set c 1"), // invalid group id
      command(99n, "set c 1"), // no such group here
      create(ExecuteRequestSchema, { groupId: 1n, kind: ExecuteKind.QUERY, payload: bytes("get a") }),
    ];
    if (leaderId === 1) requests.push(command(2n, "set d 1"));
    for (const timeoutMs of [5_000, undefined]) {
      const response = await gateway.executeBatch(
        { $typeName: "raftkit.v1.ExecuteBatchRequest", requests },
        context("executeBatch", timeoutMs),
      );
      const outcomes = response.outcomes ?? [];
      expect(outcomes).toHaveLength(requests.length);
      for (const [i, request] of requests.entries()) {
        const outcome = outcomes[i]!.outcome!;
        const alone = await Promise.resolve(gateway.execute(request, context("execute", timeoutMs))).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error: ConnectError.from(error) }),
        );
        if (alone.ok) {
          expect(outcome.case, `request ${i}`).toBe("response");
        } else {
          expect(outcome.case, `request ${i}`).toBe("failure");
          const failure = outcome.case === "failure" ? outcome.value : undefined;
          expect(failure?.code, `request ${i}`).toBe(alone.error.code);
          expect(failure?.message, `request ${i}`).toBe(alone.error.rawMessage);
        }
      }
      const codeOf = (i: number) => {
        const outcome = outcomes[i]!.outcome!;
        return outcome.case === "failure" ? outcome.value?.code : undefined;
      };
      expect(codeOf(3)).toBe(Code.InvalidArgument);
      expect(codeOf(4)).toBe(Code.NotFound);
    }
    // Both batches applied their commands in order: the second "set a 1" returned "2".
    const first = await gateway.execute(command(1n, "set a 3"), context("execute", 5_000));
    expect(text(first.result)).toBe("2");
  });

  it("the binary codec's ExecuteBatch answers each request as the generic one does; malformed input fails the call before anything runs", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    await cluster.startGroup(2, [2, 3]);
    const leaderId = await cluster.waitForLeader(1);
    const options = {
      host: cluster.hosts.get(leaderId)!,
      addressOf: (nodeId: number) => `http://node${nodeId}`,
      machineOf: () => undefined,
      gate: createRequestGate(),
      logger: createSilentLogger(),
      maxBatchRequests: 8,
    };
    const generic = createGatewayServiceImpl(options);
    const binary = createBinaryExecuteBatch(options);
    /** The batch as the node's wire schema sees it: the request elements' bytes. */
    const wire = (requests: ExecuteRequest[]) =>
      fromBinary(executeBatchServerMethod.input, toBinary(ExecuteBatchRequestSchema, create(ExecuteBatchRequestSchema, { requests })));
    const requests = [
      command(1n, "set a 1"),
      command(1n, "set b 1", 2_000), // its own timeout: the general path
      command(0n, "set c 1"), // invalid group id
      command(2n ** 60n, "set c 1"), // beyond 2^53: protobuf-es decodes, the general path refuses
      command(99n, "set c 1"), // no such group here
      create(ExecuteRequestSchema, { groupId: 1n, kind: ExecuteKind.QUERY, payload: bytes("get a") }),
      create(ExecuteRequestSchema, { groupId: 1n, type: "x.Y/Z" }), // typed form, no machine: refused as the generic path does
    ];
    if (leaderId === 1) requests.push(command(2n, "set d 1"));
    for (const timeoutMs of [5_000, undefined]) {
      const ctx = context("executeBatch", timeoutMs);
      const expected = (await generic.executeBatch({ $typeName: "raftkit.v1.ExecuteBatchRequest", requests }, ctx)).outcomes ?? [];
      const answer = await binary(wire(requests), context("executeBatch", timeoutMs));
      const outcomes = fromBinary(ExecuteBatchResponseSchema, toBinary(executeBatchServerMethod.output, answer)).outcomes;
      expect(outcomes).toHaveLength(requests.length);
      for (const [i, outcome] of outcomes.entries()) {
        const want = create(ExecuteBatchResponseSchema, { outcomes: [expected[i]!] }).outcomes[0]!;
        expect(outcome.outcome.case, `request ${i}`).toBe(want.outcome.case);
        if (outcome.outcome.case === "failure" && want.outcome.case === "failure") {
          expect([outcome.outcome.value.code, outcome.outcome.value.message], `request ${i}`).toEqual([
            want.outcome.value.code,
            want.outcome.value.message,
          ]);
          expect(outcome.outcome.value.notLeader, `request ${i}`).toEqual(want.outcome.value.notLeader);
        }
      }
      expect(outcomes[0]!.outcome.case).toBe("response");
      expect(outcomes[2]!.outcome.case === "failure" && outcomes[2]!.outcome.value.code).toBe(Code.InvalidArgument);
      expect(outcomes[3]!.outcome.case === "failure" && outcomes[3]!.outcome.value.message).toMatch(/^group_id 1152921504606846976/);
      expect(outcomes[4]!.outcome.case === "failure" && outcomes[4]!.outcome.value.code).toBe(Code.NotFound);
    }
    // "set a 1" ran four times (generic and binary, twice each): the previous value is "1".
    const before = await generic.execute(command(1n, "set a 5"), context("execute", 5_000));
    expect(text(before.result)).toBe("1");

    // At a follower: every raw command is refused NotLeader (by the pack's proposal), with the leader's hint, as generically.
    const followerId = [1, 2, 3].find((id) => id !== leaderId)!;
    const atFollower = { ...options, host: cluster.hosts.get(followerId)! };
    const followerBatch = [command(1n, "set f 1"), command(1n, "set f 2")];
    const genericRefusals = (await createGatewayServiceImpl(atFollower).executeBatch(
      { $typeName: "raftkit.v1.ExecuteBatchRequest", requests: followerBatch },
      context("executeBatch", 5_000),
    )).outcomes ?? [];
    const binaryAnswer = await createBinaryExecuteBatch(atFollower)(wire(followerBatch), context("executeBatch", 5_000));
    const binaryRefusals = fromBinary(ExecuteBatchResponseSchema, toBinary(executeBatchServerMethod.output, binaryAnswer)).outcomes;
    expect(binaryRefusals).toHaveLength(2);
    for (const [i, outcome] of binaryRefusals.entries()) {
      const want = create(ExecuteBatchResponseSchema, { outcomes: [genericRefusals[i]!] }).outcomes[0]!;
      expect(outcome.outcome.case, `follower request ${i}`).toBe("failure");
      expect(outcome.outcome.case === "failure" && outcome.outcome.value.code).toBe(Code.FailedPrecondition);
      expect(outcome.outcome.case === "failure" && outcome.outcome.value.notLeader?.leaderAddress).toBe(`http://node${leaderId}`);
      expect(want.outcome.case === "failure" && want.outcome.value.notLeader).toEqual(
        outcome.outcome.case === "failure" ? outcome.outcome.value.notLeader : "not a failure",
      );
    }

    // A malformed element (payload cut short) fails the call, naming it; the valid one before it did not run.
    const good = toBinary(ExecuteRequestSchema, command(1n, "set a 6"));
    const cut = toBinary(ExecuteRequestSchema, command(1n, "set a 7")).subarray(0, 6);
    const malformed = { $typeName: "raftkit.internal.ExecuteBatchRequestWire" as const, requests: [good, cut] };
    const error = await Promise.resolve(binary(malformed, context("executeBatch", 5_000))).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toMatch(/^ExecuteBatch: requests\[1\]\.payload: length \d+ runs past the end of the element/);
    const tooMany = { $typeName: "raftkit.internal.ExecuteBatchRequestWire" as const, requests: new Array<Uint8Array>(9).fill(good) };
    const refused = await Promise.resolve(binary(tooMany, context("executeBatch", 5_000))).then(
      () => undefined,
      (reason: unknown) => ConnectError.from(reason),
    );
    expect([refused?.code, refused?.rawMessage]).toEqual([Code.InvalidArgument, "batch of 9 requests, allowed at most 8"]);
    const after = await generic.execute(command(1n, "set a 8"), context("execute", 5_000));
    expect(text(after.result)).toBe("5");
  });
});
