import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import type { ClusterEvent, MetaChannel } from "../../../framework/cluster/index.js";
import {
  ClusterErrorCode,
  RegisterNode,
  createMetaClusterManager,
  createMetaStateMachine,
  isClusterError,
} from "../../../framework/cluster/index.js";
import type { ExecutableMessage } from "../../../framework/statemachine/index.js";
import {
  buildCommand,
  buildQuery,
  readCommandResult,
  readQueryResult,
} from "../../../framework/statemachine/index.js";
import { RegisterNodeRequestSchema } from "../../../gen/raftkit/v1/cluster_pb.js";

/** A channel onto one meta state machine, applied in this process (what a meta leader does). */
function localMeta() {
  const meta = createMetaStateMachine({ partitionId: 1_000_000, defaultReplicationFactor: 3 });
  let index = 0;
  let queries = 0;
  let down = false;
  const channel: MetaChannel = {
    async command<Request, Response>(message: ExecutableMessage<Request, Response>, request: Request) {
      if (down) throw new Error("connection refused");
      index++;
      const data = meta.machine.prepareProposal(buildCommand(message, request, undefined), 1_000 + index);
      const [result] = await meta.machine.apply([{ index, term: 1, data }]);
      return readCommandResult(message, result!);
    },
    async query<Request, Response>(message: ExecutableMessage<Request, Response>, request: Request) {
      if (down) throw new Error("connection refused");
      queries++;
      return readQueryResult(message, await meta.machine.query(buildQuery(message, request)));
    },
  };
  return {
    meta,
    channel,
    queries: () => queries,
    setDown: (value: boolean) => {
      down = value;
    },
  };
}

async function registerNodes(channel: MetaChannel, ids: number[]): Promise<void> {
  for (const id of ids) {
    await channel.command(RegisterNode, create(RegisterNodeRequestSchema, { nodeId: BigInt(id), address: `h:${id}` }));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (error: unknown) => error);
}

describe("meta cluster manager", () => {
  it("creates partitions through the meta group and routes keys over its cached table", async () => {
    const local = localMeta();
    await registerNodes(local.channel, [1, 2, 3]);
    let now = 0;
    const manager = createMetaClusterManager({ channel: local.channel, now: () => now, refreshIntervalMs: 1_000 });
    const events: ClusterEvent[] = [];
    manager.watch((event) => events.push(event));
    await manager.partitions();
    const created = await manager.createPartition({ stateMachineType: "events", key: "orders" });
    expect(created.replicas).toEqual([1, 2, 3]);
    expect(events).toEqual([{ kind: "partition", partition: created }]);
    const queriesBefore = local.queries();
    expect((await manager.partitionForKey("events", "orders")).partitionId).toBe(created.partitionId);
    expect(local.queries()).toBe(queriesBefore);
    now = 2_000;
    await manager.partitions();
    expect(local.queries()).toBe(queriesBefore + 1);
    expect((await manager.nodes()).map((node) => [node.nodeId, node.state])).toEqual([
      [1, "alive"],
      [2, "alive"],
      [3, "alive"],
    ]);
  });

  it("refreshes at once when a key is not in its cache (created by another process)", async () => {
    const local = localMeta();
    await registerNodes(local.channel, [1, 2, 3]);
    const reader = createMetaClusterManager({ channel: local.channel, now: () => 0, refreshIntervalMs: 60_000 });
    const writer = createMetaClusterManager({ channel: local.channel, now: () => 0, refreshIntervalMs: 60_000 });
    await reader.partitions();
    const created = await writer.createPartition({ stateMachineType: "events", key: "late" });
    expect((await reader.partitionForKey("events", "late")).partitionId).toBe(created.partitionId);
    const missing = await rejection(reader.partitionForKey("events", "never"));
    expect(isClusterError(missing, ClusterErrorCode.UnknownPartition), String(missing)).toBe(true);
  });

  it("maps the meta group's refusals and unreachability to ClusterError codes", async () => {
    const local = localMeta();
    await registerNodes(local.channel, [1]);
    const manager = createMetaClusterManager({ channel: local.channel, now: () => 0, refreshIntervalMs: 1 });
    const noRoom = await rejection(manager.createPartition({ stateMachineType: "events" }));
    expect(isClusterError(noRoom, ClusterErrorCode.NoCapacity), String(noRoom)).toBe(true);
    local.setDown(true);
    const unreachable = await rejection(manager.partitions());
    expect(isClusterError(unreachable, ClusterErrorCode.Unavailable), String(unreachable)).toBe(true);
    expect(String(unreachable)).toContain("connection refused");
    const unknown = await rejection(manager.partition(5));
    expect(isClusterError(unknown, ClusterErrorCode.Unavailable)).toBe(true);
  });
});
