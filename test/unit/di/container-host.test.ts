import { Container } from "inversify";
import { afterEach, describe, expect, it } from "vitest";
import type { ClusterManager, StaticClusterTable } from "../../../framework/cluster/index.js";
import { createStaticClusterManager } from "../../../framework/cluster/index.js";
import type { ContainerHost, StateMachineProvider } from "../../../framework/di/index.js";
import {
  ClockToken,
  ClusterManagerToken,
  DiErrorCode,
  LoggerToken,
  LogStoreToken,
  RandomToken,
  SnapshotStoreToken,
  StateMachineProviderToken,
  TransportToken,
  createHostFromContainer,
  isDiError,
} from "../../../framework/di/index.js";
import { createMemoryLogStore, createMemorySnapshotStore } from "../../../framework/host/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import {
  buildCommand,
  buildQuery,
  createKvStateMachine,
  readCommandResult,
  readQueryResult,
} from "../../../framework/statemachine/index.js";
import { createSilentLogger, createSystemClock } from "../../../framework/transport/index.js";
import { eventually } from "../host/host-cluster.js";
import { MemoryNetwork } from "../host/memory-network.js";
import { Add, GetCounter } from "../statemachine/counter-kv-state-machine.js";
import { bindCounterStateMachine } from "./counter-glue.js";
import { MultiplierToken, UserCounterExecutor, builtExecutors } from "./counter-executor.js";

const table: StaticClusterTable = {
  nodes: [1, 2, 3].map((nodeId) => ({ nodeId, address: `127.0.0.1:${7000 + nodeId}` })),
  partitions: [
    { partitionId: 1, stateMachineType: "counter", replicas: [1, 2, 3] },
    { partitionId: 2, stateMachineType: "counter", replicas: [1, 2, 3] },
    { partitionId: 3, stateMachineType: "counter", replicas: [1] },
  ],
};

const hostConfig = (nodeId: number) => ({
  nodeId,
  tickIntervalMs: 5,
  electionTicks: 10,
  heartbeatTicks: 2,
});
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const hostOptions = { yieldToEventLoop, wallClockMs: () => 1_700_000_000_000 };

/** Everything a host needs, bound; the user's state machine bound through the glue. */
function nodeContainer(network: MemoryNetwork, nodeId: number, manager: ClusterManager): Container {
  const container = new Container();
  container.bind(LoggerToken).toConstantValue(createSilentLogger());
  container.bind(ClockToken).toConstantValue(createSystemClock());
  container.bind(RandomToken).toConstantValue(createSeededRandom(nodeId * 7919));
  container.bind(LogStoreToken).toConstantValue(createMemoryLogStore());
  container.bind(SnapshotStoreToken).toConstantValue(createMemorySnapshotStore());
  container.bind(TransportToken).toConstantValue(network.transportFor(nodeId));
  container.bind(ClusterManagerToken).toConstantValue(manager);
  container.bind(MultiplierToken).toConstantValue(10);
  bindCounterStateMachine(container, UserCounterExecutor);
  return container;
}

const running: ContainerHost[] = [];
afterEach(async () => {
  for (const node of running.splice(0)) await node.stop();
  builtExecutors.splice(0);
});

async function startOrError(container: Container, nodeId = 1): Promise<unknown> {
  try {
    running.push(await createHostFromContainer(container, hostConfig(nodeId), hostOptions));
  } catch (error) {
    return error;
  }
  throw new Error("expected the start to fail");
}

describe("createHostFromContainer", () => {
  it("starts every partition listing the node, one injected executor per partition", async () => {
    const network = new MemoryNetwork();
    for (const nodeId of [1, 2, 3]) {
      const container = nodeContainer(network, nodeId, createStaticClusterManager(table));
      const node = await createHostFromContainer(container, hostConfig(nodeId), hostOptions);
      network.attach(nodeId, node.host);
      running.push(node);
    }
    expect(running.map((node) => node.startedPartitions)).toEqual([[1, 2, 3], [1, 2], [1, 2]]);
    const seen = builtExecutors.map((built) => [built.replicaId, built.partition.partitionId]);
    expect(seen.sort()).toEqual([[1, 1], [1, 2], [1, 3], [2, 1], [2, 2], [3, 1], [3, 2]]);
    const onlyHere = builtExecutors.find((built) => built.partition.partitionId === 3);
    expect(onlyHere?.partition.replicas).toEqual([1]);

    let leader: ContainerHost | undefined;
    const findLeader = () => (leader = running.find((node) => node.host.isLeader(2)));
    await eventually(() => findLeader() !== undefined, 5_000, "leader of 2");
    const command = buildCommand(Add, { name: "x", delta: 2 }, undefined);
    const result = await leader!.host.propose(2, command);
    expect(result).toBeInstanceOf(Uint8Array);
    if (!(result instanceof Uint8Array)) return;
    // The executor's injected multiplier (10) applied.
    expect(readCommandResult(Add, result).value).toBe(20);
    const answer = await leader!.host.query(2, buildQuery(GetCounter, { name: "x" }));
    expect(readQueryResult(GetCounter, answer).value).toBe(20);
  });

  it("fails at start naming LoggerToken when no logger is bound", async () => {
    const container = nodeContainer(new MemoryNetwork(), 1, createStaticClusterManager(table));
    container.unbind(LoggerToken);
    const error = await startOrError(container);
    expect(isDiError(error, DiErrorCode.MissingBinding) && error.subject).toBe("LoggerToken");
    expect(String(error)).toContain("no binding for LoggerToken");
  });

  it("fails at start naming each missing host dependency", async () => {
    for (const [token, name] of [
      [TransportToken, "TransportToken"],
      [LogStoreToken, "LogStoreToken"],
      [ClusterManagerToken, "ClusterManagerToken"],
    ] as const) {
      const container = nodeContainer(new MemoryNetwork(), 1, createStaticClusterManager(table));
      container.unbind(token);
      const error = await startOrError(container);
      const subject = isDiError(error, DiErrorCode.MissingBinding) && error.subject;
      expect(subject, String(error)).toBe(name);
    }
  });

  it("fails at start naming StateMachineProviderToken when no provider is bound", async () => {
    const container = nodeContainer(new MemoryNetwork(), 1, createStaticClusterManager(table));
    container.unbind(StateMachineProviderToken);
    const error = await startOrError(container);
    expect(isDiError(error, DiErrorCode.MissingBinding), String(error)).toBe(true);
    expect(String(error)).toContain("StateMachineProviderToken");
  });

  it("fails at start naming the user's token an executor needs", async () => {
    const container = nodeContainer(new MemoryNetwork(), 1, createStaticClusterManager(table));
    container.unbind(MultiplierToken);
    const error = await startOrError(container);
    expect(isDiError(error, DiErrorCode.ResolutionFailed), String(error)).toBe(true);
    expect(String(error)).toContain("test.Multiplier");
    expect(String(error)).toContain("partition 1");
  });

  it("fails at start naming a partition type no provider serves", async () => {
    const manager = createStaticClusterManager({
      ...table,
      partitions: [
        ...table.partitions,
        { partitionId: 9, stateMachineType: "ledger", replicas: [1] },
      ],
    });
    const error = await startOrError(nodeContainer(new MemoryNetwork(), 1, manager));
    expect(isDiError(error, DiErrorCode.MissingBinding), String(error)).toBe(true);
    expect(String(error)).toContain('"ledger"');
  });

  it("refuses two providers of one type and a malformed provider", async () => {
    const container = nodeContainer(new MemoryNetwork(), 1, createStaticClusterManager(table));
    const twin: StateMachineProvider = { type: "counter", create: () => createKvStateMachine() };
    container.bind(StateMachineProviderToken).toConstantValue(twin);
    const duplicate = await startOrError(container);
    expect(isDiError(duplicate, DiErrorCode.DuplicateType), String(duplicate)).toBe(true);

    const other = nodeContainer(new MemoryNetwork(), 1, createStaticClusterManager(table));
    const nameless = { type: "", create: () => createKvStateMachine() };
    other.bind(StateMachineProviderToken).toConstantValue(nameless);
    const malformed = await startOrError(other);
    expect(isDiError(malformed, DiErrorCode.InvalidProvider), String(malformed)).toBe(true);
    expect(String(malformed)).toContain("non-empty string");
  });
});
