/**
 * From a container's providers and cluster manager to running groups: the
 * StateMachineTypes map a node process takes, and the start of every
 * partition that lists this node among its replicas.
 */
import type { ClusterManager, PartitionInfo } from "../cluster/index.js";
import { ClusterError, ClusterErrorCode } from "../cluster/index.js";
import type { NodeHost } from "../host/index.js";
import { assert } from "../raft/index.js";
import type { StateMachine, StateMachineFactory } from "../statemachine/index.js";
import { DiError, DiErrorCode } from "./errors.js";
import type { StateMachineProvider } from "./state-machine-provider.js";

/** The cluster manager's partitions by id, kept current by its watch. */
export interface PartitionCache {
  get(partitionId: number): PartitionInfo | undefined;
  all(): readonly PartitionInfo[];
  close(): void;
}

export async function openPartitionCache(manager: ClusterManager): Promise<PartitionCache> {
  const partitions = new Map<number, PartitionInfo>();
  const unsubscribe = manager.watch((event) => {
    if (event.kind === "partition") partitions.set(event.partition.partitionId, event.partition);
    if (event.kind === "partition_removed") partitions.delete(event.partitionId);
  });
  for (const partition of await manager.partitions()) {
    // A watch event that raced the listing is newer: keep the higher epoch.
    const seen = partitions.get(partition.partitionId);
    if (seen !== undefined && seen.epoch >= partition.epoch) continue;
    partitions.set(partition.partitionId, partition);
  }
  return {
    get: (partitionId) => partitions.get(partitionId),
    all: () => [...partitions.values()].sort((a, b) => a.partitionId - b.partitionId),
    close: unsubscribe,
  };
}

/** Fails at start, naming the type, when a partition of this node has no provider. */
export function checkProvidersCover(
  nodeId: number,
  partitions: readonly PartitionInfo[],
  providers: ReadonlyMap<string, StateMachineProvider>,
): void {
  for (const partition of partitions) {
    if (!partition.replicas.includes(nodeId)) continue;
    if (providers.has(partition.stateMachineType)) continue;
    throw new DiError(
      DiErrorCode.MissingBinding,
      `partition ${partition.partitionId} has state machine type "${partition.stateMachineType}" ` +
        "but no StateMachineProvider of that type is bound " +
        `(bound: ${[...providers.keys()].join(", ")})`,
      { subject: "StateMachineProviderToken" },
    );
  }
}

function createMachine(
  provider: StateMachineProvider,
  cache: PartitionCache,
  groupId: number,
  replicaId: number,
): StateMachine {
  const partition = cache.get(groupId);
  if (partition === undefined) {
    throw new ClusterError(
      ClusterErrorCode.UnknownPartition,
      `group ${groupId} is not a partition of the cluster manager; list it in the partition ` +
        `table (or create it) before starting it as type "${provider.type}"`,
    );
  }
  if (partition.stateMachineType !== provider.type) {
    throw new ClusterError(
      ClusterErrorCode.FailedPrecondition,
      `group ${groupId} is a partition of type "${partition.stateMachineType}", ` +
        `not "${provider.type}"`,
    );
  }
  try {
    return provider.create(partition, replicaId);
  } catch (error) {
    // Typically a dependency of the executors with no binding: inversify's message names it.
    const detail = error instanceof Error ? error.message : String(error);
    throw new DiError(
      DiErrorCode.ResolutionFailed,
      `partition ${groupId}: the StateMachineProvider of type "${provider.type}" could not ` +
        `create its state machine: ${detail}`,
      { subject: provider.type, cause: error },
    );
  }
}

/** One factory per provider; each looks its partition up in the cache. */
export function createStateMachineTypes(
  providers: ReadonlyMap<string, StateMachineProvider>,
  cache: PartitionCache,
): ReadonlyMap<string, StateMachineFactory> {
  const types = new Map<string, StateMachineFactory>();
  for (const [type, provider] of providers) {
    types.set(type, (groupId, replicaId) => createMachine(provider, cache, groupId, replicaId));
  }
  return types;
}

/** Groups started at once (each bootstrap writes a snapshot file and a log record). */
const startConcurrency = 32;

/**
 * Starts (or reopens from what is durable) every partition that lists this
 * node and does not run on the host yet, with its replicas as voters.
 * Returns the ids started, ascending.
 */
export async function startHostedPartitions(
  host: NodeHost,
  partitions: readonly PartitionInfo[],
  types: ReadonlyMap<string, StateMachineFactory>,
  /**
   * How a group starts: host.startGroup, or a node process's startGroup so the
   * gateway's typed (JSON) form knows the group's executable messages.
   */
  startGroup: (groupId: number, machine: StateMachine, members: { voters: readonly number[] }) => Promise<void> =
    (groupId, machine, members) => host.startGroup(groupId, machine, members),
): Promise<number[]> {
  const running = new Set(host.groupIds());
  const pending = partitions.filter(
    (partition) => partition.replicas.includes(host.nodeId) && !running.has(partition.partitionId),
  );
  const started: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      const partition = pending[next++];
      assert(partition !== undefined, "worker ran past the pending list");
      const factory = types.get(partition.stateMachineType);
      const type = partition.stateMachineType;
      assert(factory !== undefined, () => `no factory for "${type}" (checked at start)`);
      const machine = factory(partition.partitionId, host.nodeId);
      await startGroup(partition.partitionId, machine, { voters: partition.replicas });
      started.push(partition.partitionId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(startConcurrency, pending.length) }, worker));
  return started.sort((a, b) => a - b);
}
