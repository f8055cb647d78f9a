/** GatewayService.ExecuteBatch over NodeHosts in memory: the raw-command fast path answers as Execute does. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { createSilentLogger } from "../../../framework/transport/index.js";
import { createGatewayServiceImpl } from "../../../framework/server/gateway-service.js";
import { createRequestGate } from "../../../framework/server/request-gate.js";
import type { ExecuteRequest } from "../../../gen/raftkit/v1/gateway_pb.js";
import { ExecuteKind, ExecuteRequestSchema, GatewayService } from "../../../gen/raftkit/v1/gateway_pb.js";
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
});
