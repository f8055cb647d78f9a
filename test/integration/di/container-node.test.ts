/**
 * startNodeFromContainer on real ports: three node processes (in this test
 * process) built from containers, partitions from a static table, a
 * command through the raft log, a restart from the data directory.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Container } from "inversify";
import { afterAll, describe, expect, it } from "vitest";
import type { StaticClusterTable } from "../../../framework/cluster/index.js";
import { createStaticClusterManager } from "../../../framework/cluster/index.js";
import type { ContainerNode } from "../../../framework/di/index.js";
import {
  ClockToken,
  ClusterManagerToken,
  DiErrorCode,
  LoggerToken,
  isDiError,
  startNodeFromContainer,
} from "../../../framework/di/index.js";
import type { NodeConfig } from "../../../framework/server/index.js";
import {
  buildCommand,
  buildQuery,
  readCommandResult,
  readQueryResult,
} from "../../../framework/statemachine/index.js";
import { createSilentLogger, createSystemClock } from "../../../framework/transport/index.js";
import { freePorts, waitUntil } from "../cluster/node-processes.js";
import { Add, GetCounter } from "../../unit/statemachine/counter-kv-state-machine.js";
import { bindCounterStateMachine } from "../../unit/di/counter-glue.js";
import { MultiplierToken, UserCounterExecutor } from "../../unit/di/counter-executor.js";
import { ClusterNodeState, ClusterService } from "../../../gen/raftkit/v1/cluster_pb.js";
import { metaGroupId } from "../../../framework/cluster/index.js";

const directories: string[] = [];
const nodes = new Map<number, ContainerNode>();

afterAll(async () => {
  for (const node of nodes.values()) await node.stop();
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

function nodeConfig(nodeId: number, ports: readonly number[], dataDirectory: string): NodeConfig {
  const peers = new Map<number, string>();
  ports.forEach((port, index) => {
    if (index + 1 !== nodeId) peers.set(index + 1, `127.0.0.1:${port}`);
  });
  return {
    nodeId,
    listenHost: "127.0.0.1",
    listenPort: ports[nodeId - 1] ?? 0,
    peers,
    dataDirectory,
    clusterId: 42,
    groups: [],
    stateMachine: "counter",
    host: { tickIntervalMs: 10, electionTicks: 10, heartbeatTicks: 2, quiesceAfterTicks: 0 },
    transport: {},
    shutdownGraceMs: 1_000,
  };
}

function tableOf(ports: readonly number[]): StaticClusterTable {
  return {
    nodes: ports.map((port, index) => ({ nodeId: index + 1, address: `127.0.0.1:${port}` })),
    partitions: [
      { partitionId: 1, stateMachineType: "counter", replicas: [1, 2, 3] },
      { partitionId: 2, stateMachineType: "counter", replicas: [1, 2, 3], free: true },
    ],
  };
}

function containerFor(table: StaticClusterTable): Container {
  const container = new Container();
  container.bind(LoggerToken).toConstantValue(createSilentLogger());
  container.bind(ClusterManagerToken).toConstantValue(createStaticClusterManager(table));
  container.bind(MultiplierToken).toConstantValue(3);
  bindCounterStateMachine(container, UserCounterExecutor);
  return container;
}

async function leaderOf(groupId: number): Promise<ContainerNode> {
  let leader: ContainerNode | undefined;
  await waitUntil(`a leader of group ${groupId}`, () => {
    leader = [...nodes.values()].find((node) => node.host.isLeader(groupId));
    return leader !== undefined;
  });
  return leader!;
}

const followerOf = (leader: ContainerNode): number | undefined => [1, 2, 3].find((id) => id !== leader.nodeId);

function clusterClient(port: number) {
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "2" });
  return createClient(ClusterService, transport);
}

async function connectCode(promise: Promise<unknown>): Promise<Code | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error).code,
  );
}

/** raftkit.v1.ClusterService as served by startNodeFromContainer over a static table. */
async function checkClusterService(followerPort: number, leaderId: number, leaderPort: number) {
  const follower = clusterClient(followerPort);
  const nodes = await follower.listNodes({});
  expect(nodes.nodes.map((node) => Number(node.nodeId))).toEqual([1, 2, 3]);
  const listed = await follower.listPartitions({});
  expect(listed.partitions.map((p) => [Number(p.partitionId), p.replicas.map(Number)])).toEqual([
    [1, [1, 2, 3]],
    [2, [1, 2, 3]],
  ]);
  // Lag per replica comes from the leader; a follower knows the leader only.
  const fromLeader = await clusterClient(leaderPort).partitionStatus({ partitionIds: [1n] });
  const entry = fromLeader.partitions[0]!;
  expect(Number(entry.leaderNodeId)).toBe(leaderId);
  expect(entry.replicas.map((replica) => Number(replica.nodeId))).toEqual([1, 2, 3]);
  expect(entry.replicas.every((replica) => replica.lag >= 0n && !replica.learner)).toBe(true);
  const fromFollower = await follower.partitionStatus({ partitionIds: [1n] });
  expect(Number(fromFollower.partitions[0]!.leaderNodeId)).toBe(leaderId);
  expect(fromFollower.partitions[0]!.replicas).toEqual([]);
  // The follower's own static table still has partition 2 free (tables are per process).
  const created = await follower.createPartition({ stateMachineType: "counter", key: "t" });
  expect([Number(created.partition?.partitionId), created.created]).toEqual([2, true]);
  const again = await follower.createPartition({ stateMachineType: "counter", key: "t" });
  expect(again.created).toBe(false);
  expect(await connectCode(follower.createPartition({ stateMachineType: "counter" }))).toBe(
    Code.ResourceExhausted,
  );
  expect(await connectCode(follower.drainNode({ nodeId: 2n }))).toBe(Code.FailedPrecondition);
  expect(await connectCode(follower.deletePartition({ partitionId: 1n }))).toBe(Code.FailedPrecondition);
  expect(await connectCode(follower.transferLeadership({ partitionId: 1n, toNodeId: 3n }))).toBe(
    Code.FailedPrecondition,
  );
}

describe("startNodeFromContainer", () => {
  it("runs the table's partitions on three nodes, applies, restarts from disk", async () => {
    const ports = await freePorts(3);
    const table = tableOf(ports);
    const configs = new Map<number, NodeConfig>();
    for (const nodeId of [1, 2, 3]) {
      const directory = await mkdtemp(join(tmpdir(), `raftkit-di-${nodeId}-`));
      directories.push(directory);
      configs.set(nodeId, nodeConfig(nodeId, ports, directory));
    }
    for (const [nodeId, config] of configs) {
      nodes.set(nodeId, await startNodeFromContainer(containerFor(table), config));
    }
    for (const node of nodes.values()) {
      expect(node.startedPartitions).toEqual([1, 2]);
      expect(node.host.groupIds().sort()).toEqual([1, 2]);
    }
    const leader = await leaderOf(1);
    const command = buildCommand(Add, { name: "n", delta: 5 }, undefined);
    const result = await leader.host.propose(1, command);
    if (!(result instanceof Uint8Array)) throw new Error("command result is not bytes");
    expect(readCommandResult(Add, result).value).toBe(15);

    // The free partition is handed out by createPartition and already runs.
    const request = { stateMachineType: "counter", key: "s" };
    const created = await leader.clusterManager.createPartition(request);
    expect(created.partitionId).toBe(2);

    // The management API on any node: partitions, leaders and lag, creation, refusals.
    await checkClusterService(ports[followerOf(leader)! - 1]!, leader.nodeId, ports[leader.nodeId - 1]!);

    // A follower restarts from its data directory with a fresh container.
    const followerId = [1, 2, 3].find((id) => id !== leader.nodeId)!;
    await nodes.get(followerId)!.stop();
    const again = await startNodeFromContainer(containerFor(table), configs.get(followerId)!);
    nodes.set(followerId, again);
    const restarted = nodes.get(followerId)!;
    expect(restarted.startedPartitions).toEqual([1, 2]);
    const query = buildQuery(GetCounter, { name: "n" });
    await waitUntil("the restarted follower to hold the counter", async () => {
      const answer = await restarted.host.staleQuery(1, query);
      return readQueryResult(GetCounter, answer).value === 15;
    });
  }, 60_000);

  it("refuses config groups next to a bound ClusterManager, before opening a port", async () => {
    const container = containerFor(tableOf([1, 2, 3]));
    const config = { ...nodeConfig(1, [0], "/nonexistent-raftkit"), groups: [7] };
    const error = await startNodeFromContainer(container, config).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isDiError(error, DiErrorCode.InvalidConfig) && error.subject).toBe("groups");
  });

  it("refuses a bound clock: a node process builds its own", async () => {
    const container = containerFor(tableOf([1, 2, 3]));
    container.bind(ClockToken).toConstantValue(createSystemClock());
    const config = nodeConfig(1, [0], "/nonexistent-raftkit");
    const error = await startNodeFromContainer(container, config).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isDiError(error, DiErrorCode.UnsupportedBinding) && error.subject).toBe("ClockToken");
  });

  it("without a bound ClusterManager and with peers, is a full cluster member (meta group, agent, controller)", async () => {
    const ports = await freePorts(3);
    const members = new Map<number, ContainerNode>();
    const containers = new Map<number, Container>();
    try {
      for (const nodeId of [1, 2, 3]) {
        const directory = await mkdtemp(join(tmpdir(), `raftkit-di-member-${nodeId}-`));
        directories.push(directory);
        const container = new Container();
        container.bind(LoggerToken).toConstantValue(createSilentLogger());
        container.bind(MultiplierToken).toConstantValue(2);
        bindCounterStateMachine(container, UserCounterExecutor);
        containers.set(nodeId, container);
        const config: NodeConfig = {
          ...nodeConfig(nodeId, ports, directory),
          groups: [1],
          cluster: { heartbeatIntervalMs: 100, suspectAfterMs: 3_000, deadAfterMs: 10_000, roundIntervalMs: 100 },
        };
        members.set(nodeId, await startNodeFromContainer(container, config));
      }
      for (const [nodeId, member] of members) {
        expect(member.startedPartitions).toEqual([1]);
        // The meta group runs on the three boot nodes, as under `raftkit start`.
        expect(member.host.groupIds()).toContain(metaGroupId);
        expect(containers.get(nodeId)!.get(ClusterManagerToken)).toBe(member.clusterManager);
      }
      const management = clusterClient(ports[1]!);
      // Registered by the agents' heartbeats, which only the meta leader's controller loop takes.
      await waitUntil("3 alive nodes in the meta table", async () => {
        const { nodes: listed } = await management.listNodes({}, { timeoutMs: 5_000 });
        return listed.filter((node) => node.state === ClusterNodeState.ALIVE).length === 3;
      }, 30_000);
      await waitUntil("partition 1 adopted", async () => {
        const { partitions } = await management.listPartitions({}, { timeoutMs: 5_000 });
        return partitions.some((p) => Number(p.partitionId) === 1 && p.stateMachineType === "counter");
      }, 30_000);
      // A partition created at run time through the meta group starts on its nodes, made by the
      // container's provider with the meta table's entry.
      const { partition } = await management.createPartition(
        { stateMachineType: "counter", key: "run-time", replicationFactor: 3 }, { timeoutMs: 20_000 });
      const created = Number(partition!.partitionId);
      expect(created).toBeGreaterThan(1);
      await waitUntil(`partition ${created} on every node`, () =>
        [...members.values()].every((member) => member.host.groupIds().includes(created)), 30_000);
      let leader: ContainerNode | undefined;
      await waitUntil(`a leader of partition ${created}`, () => {
        leader = [...members.values()].find((member) => member.host.isLeader(created));
        return leader !== undefined;
      }, 30_000);
      const result = await leader!.host.propose(created, buildCommand(Add, { name: "c", delta: 4 }, undefined));
      if (!(result instanceof Uint8Array)) throw new Error("command result is not bytes");
      expect(readCommandResult(Add, result).value).toBe(8);
      // The node's ClusterManager (bound in its container) reads the same table.
      const entry = await members.get(3)!.clusterManager.partition(created);
      expect([entry.stateMachineType, entry.replicas]).toEqual(["counter", [1, 2, 3]]);
    } finally {
      for (const member of members.values()) await member.stop();
    }
  }, 120_000);

  it("without a bound ClusterManager serves config.groups on every node (one here)", async () => {
    const [port] = await freePorts(1);
    const directory = await mkdtemp(join(tmpdir(), "raftkit-di-single-"));
    directories.push(directory);
    const container = new Container();
    container.bind(LoggerToken).toConstantValue(createSilentLogger());
    container.bind(MultiplierToken).toConstantValue(1);
    bindCounterStateMachine(container, UserCounterExecutor);
    const config = { ...nodeConfig(1, [port!], directory), peers: new Map(), groups: [9] };
    const node = await startNodeFromContainer(container, config);
    try {
      expect(node.startedPartitions).toEqual([9]);
      expect((await node.clusterManager.partition(9)).replicas).toEqual([1]);
      expect(container.get(ClusterManagerToken)).toBe(node.clusterManager);
    } finally {
      await node.stop();
    }
  });
});
