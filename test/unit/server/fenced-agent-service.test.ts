/**
 * The fence on a node's ClusterAgentService (issue #9), deterministic: the
 * calls of a controller whose meta term is older than the newest the node
 * has seen are refused (FAILED_PRECONDITION, `raftkit-refusal:
 * stale_controller`, logged) and never reach the service; the newer
 * controller's calls, unfenced calls and heartbeats do.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  AgentHeartbeatRequestSchema,
  ChangeMembershipRequestSchema,
  ClusterAgentService,
  ObserveRequestSchema,
  StartReplicaRequestSchema,
  StopReplicaRequestSchema,
} from "../../../gen/raftkit/v1/cluster_agent_pb.js";
import type { ControllerFence } from "../../../framework/cluster/index.js";
import { createFenceKeeper } from "../../../framework/cluster/index.js";
import {
  fenceFromHeaders,
  fenceHeaders,
  isStaleControllerRefusal,
  refusalHeader,
} from "../../../framework/server/fence-headers.js";
import { fenceAgentService } from "../../../framework/server/fenced-agent-service.js";
import type { LogFields, Logger } from "../../../framework/transport/index.js";

type AgentImpl = ServiceImpl<typeof ClusterAgentService>;

/** The service behind the fence: records which calls reached it. */
function recordingAgent(reached: string[]): AgentImpl {
  return {
    heartbeat: () => { reached.push("heartbeat"); return { accepted: true }; },
    observe: () => { reached.push("observe"); return { groups: [], hostedPartitionIds: [7n] }; },
    startReplica: () => { reached.push("start_replica"); return { alreadyRunning: false }; },
    changeMembership: () => { reached.push("change_membership"); return {}; },
    stopReplica: () => { reached.push("stop_replica"); return { wasRunning: true }; },
  };
}

function warnings(): { logger: Logger; lines: { message: string; fields?: LogFields }[] } {
  const lines: { message: string; fields?: LogFields }[] = [];
  const ignore = (): void => {};
  return {
    lines,
    logger: { debug: ignore, info: ignore, error: ignore, warn: (message, fields) => lines.push({ message, fields }) },
  };
}

function context(method: DescMethod, fence?: ControllerFence, headers?: Record<string, string>): HandlerContext {
  return createHandlerContext({
    service: ClusterAgentService,
    method,
    protocolName: "test",
    requestMethod: "POST",
    url: `test://node/${ClusterAgentService.typeName}/${method.name}`,
    requestHeader: headers ?? (fence === undefined ? undefined : fenceHeaders(fence)),
  });
}

async function failure(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

const methods = ClusterAgentService.method;
const oldController = { metaTerm: 4, leaderNodeId: 1 };
const newController = { metaTerm: 5, leaderNodeId: 2 };

function fencedAgent(localMetaTerm = 0) {
  const reached: string[] = [];
  const log = warnings();
  const agent = fenceAgentService(recordingAgent(reached), {
    keeper: createFenceKeeper(),
    localMetaTerm: () => localMetaTerm,
    logger: log.logger,
  });
  return { agent, reached, log };
}

describe("fenced cluster agent", () => {
  it("normal path: one controller's observe, start, change and stop all reach the service", async () => {
    const { agent, reached, log } = fencedAgent(4);
    await agent.observe(create(ObserveRequestSchema), context(methods.observe, oldController));
    await agent.startReplica(create(StartReplicaRequestSchema, { partitionId: 7n, join: true }), context(methods.startReplica, oldController));
    await agent.changeMembership(create(ChangeMembershipRequestSchema, { partitionId: 7n, nodeId: 4n }), context(methods.changeMembership, oldController));
    await agent.stopReplica(create(StopReplicaRequestSchema, { partitionId: 7n, removeData: true }), context(methods.stopReplica, oldController));
    expect(reached).toEqual(["observe", "start_replica", "change_membership", "stop_replica"]);
    expect(log.lines).toEqual([]);
  });

  it("a deposed controller's add-learner and wipe are refused once the new one observed the node", async () => {
    const { agent, reached, log } = fencedAgent();
    await agent.observe(create(ObserveRequestSchema), context(methods.observe, oldController));
    await agent.observe(create(ObserveRequestSchema), context(methods.observe, newController));
    for (const [name, call] of [
      ["start_replica", () => agent.startReplica(create(StartReplicaRequestSchema, { partitionId: 7n, join: true }), context(methods.startReplica, oldController))],
      ["change_membership", () => agent.changeMembership(create(ChangeMembershipRequestSchema, { partitionId: 7n, nodeId: 4n }), context(methods.changeMembership, oldController))],
      ["stop_replica", () => agent.stopReplica(create(StopReplicaRequestSchema, { partitionId: 7n, removeData: true }), context(methods.stopReplica, oldController))],
      ["observe", () => agent.observe(create(ObserveRequestSchema), context(methods.observe, oldController))],
    ] as const) {
      const error = await failure(call);
      expect(error, name).toBeInstanceOf(ConnectError);
      const refusal = ConnectError.from(error);
      expect(refusal.code).toBe(Code.FailedPrecondition);
      expect(refusal.metadata.get(refusalHeader)).toBe("stale_controller");
      expect(isStaleControllerRefusal(refusal)).toBe(true);
      expect(refusal.rawMessage).toBe("controller of node 1 at meta term 4 refused: this node has seen meta term 5 (node 2)");
    }
    expect(reached).toEqual(["observe", "observe"]);
    expect(log.lines.map((line) => line.fields?.["call"])).toEqual(["start_replica", "change_membership", "stop_replica", "observe"]);
    expect(log.lines[0]).toEqual({
      message: "refused a call of a deposed meta controller",
      fields: { call: "start_replica", metaTerm: 4, leaderNodeId: 1, newestMetaTerm: 5, newestLeaderNodeId: 2 },
    });
    // The new controller goes on.
    await agent.stopReplica(create(StopReplicaRequestSchema, { partitionId: 7n, removeData: true }), context(methods.stopReplica, newController));
    expect(reached).toEqual(["observe", "observe", "stop_replica"]);
  });

  it("a meta voter refuses an older term as soon as its own meta replica saw a newer election", async () => {
    const { agent, reached } = fencedAgent(5);
    const error = await failure(() => agent.startReplica(create(StartReplicaRequestSchema, { partitionId: 7n, join: true }), context(methods.startReplica, oldController)));
    expect(isStaleControllerRefusal(error)).toBe(true);
    expect(ConnectError.from(error).rawMessage).toContain("this node has seen meta term 5");
    await agent.startReplica(create(StartReplicaRequestSchema, { partitionId: 7n, join: true }), context(methods.startReplica, newController));
    expect(reached).toEqual(["start_replica"]);
  });

  it("unfenced calls (CreatePartition's starts, DeletePartition's stops) and heartbeats are not fenced", async () => {
    const { agent, reached } = fencedAgent(9);
    await agent.observe(create(ObserveRequestSchema), context(methods.observe, { metaTerm: 9, leaderNodeId: 3 }));
    await agent.startReplica(create(StartReplicaRequestSchema, { partitionId: 8n, voters: [1n, 2n, 3n] }), context(methods.startReplica));
    await agent.stopReplica(create(StopReplicaRequestSchema, { partitionId: 8n, removeData: true }), context(methods.stopReplica));
    await agent.heartbeat(create(AgentHeartbeatRequestSchema, { nodeId: 4n, address: "h:4" }), context(methods.heartbeat, oldController));
    expect(reached).toEqual(["observe", "start_replica", "stop_replica", "heartbeat"]);
  });

  it("a malformed fence is an invalid argument naming the header", async () => {
    const { agent, reached } = fencedAgent();
    for (const [headers, text] of [
      [{ "raftkit-meta-term": "x", "raftkit-meta-leader": "1" }, 'header raftkit-meta-term: "x", allowed an integer ≥ 1'],
      [{ "raftkit-meta-term": "3" }, 'header raftkit-meta-leader: "", allowed an integer ≥ 1'],
      [{ "raftkit-meta-term": "0", "raftkit-meta-leader": "2" }, 'header raftkit-meta-term: "0"'],
    ] as const) {
      const error = ConnectError.from(await failure(() => agent.observe(create(ObserveRequestSchema), context(methods.observe, undefined, headers))));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toContain(text);
    }
    expect(reached).toEqual([]);
  });

  it("the fence's headers read back as the fence", () => {
    const headers = new Headers(fenceHeaders({ metaTerm: 12, leaderNodeId: 3 }));
    expect(fenceFromHeaders(headers)).toEqual({ metaTerm: 12, leaderNodeId: 3 });
    expect(fenceFromHeaders(new Headers())).toBeUndefined();
  });
});
