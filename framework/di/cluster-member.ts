/**
 * startNodeFromContainer's cluster-managed mode (issue #9): with no
 * ClusterManager bound and the cluster manager on (the node has peers or
 * joins, as `raftkit start`), the node is a full member — the meta group on
 * the boot cluster's lowest ids, the agent's heartbeats, the controller on
 * the meta leader, `config.groups` adopted as static partitions, partitions
 * created at run time started here when placed here. The meta group is the
 * source of truth; its ClusterManager is bound to ClusterManagerToken.
 *
 * A provider's `create(partition, …)` gets the cluster manager's entry when
 * this node has it (the static table of `config.groups` — what adoption
 * records — and every entry the meta manager fetched since); a replica the
 * controller starts here before this node fetched its entry gets the
 * partition as launched: its id, type and voters from the launch record,
 * the factor its voters' count (or the default for a joining replica),
 * epoch 0.
 */
import type { ClusterManager, PartitionInfo } from "../cluster/index.js";
import { createUniformStaticTable } from "../cluster/index.js";
import type { GroupRecord, NodeConfig, NodeExtras, RunningNode } from "../server/index.js";
import { resolveClusterManagerSettings, startNode } from "../server/index.js";
import type { Logger } from "../transport/index.js";
import type { PartitionCache } from "./container-partitions.js";
import { checkProvidersCover, createStateMachineTypes } from "./container-partitions.js";
import type { StateMachineProvider } from "./state-machine-provider.js";

/** Whether a node of this config runs the cluster manager (the same rule as `raftkit start`). */
export function runsClusterManager(config: NodeConfig): boolean {
  return resolveClusterManagerSettings(config.cluster, config.peers.size > 0).enabled;
}

/** The partitions `config.groups` adoption records: type config.stateMachine, every boot node. */
function staticPartitionsOf(config: NodeConfig): PartitionInfo[] {
  const nodes = new Map(config.peers);
  nodes.set(config.nodeId, `${config.listenHost}:${config.listenPort}`);
  const table = createUniformStaticTable({
    nodes, partitionIds: config.groups, stateMachineType: config.stateMachine,
  });
  return table.partitions.map((partition) => ({
    partitionId: partition.partitionId,
    stateMachineType: partition.stateMachineType,
    replicationFactor: partition.replicas.length,
    replicas: [...partition.replicas],
    epoch: 0,
  }));
}

/** Entries the node knows (static table, meta manager's fetches), else the launch records. */
interface MemberCache extends PartitionCache {
  onLaunch(record: GroupRecord): void;
  follow(manager: ClusterManager): void;
}

function createMemberCache(statics: readonly PartitionInfo[], defaultFactor: number): MemberCache {
  const known = new Map(statics.map((partition) => [partition.partitionId, partition]));
  const launched = new Map<number, PartitionInfo>();
  const unsubscribes: (() => void)[] = [];
  return {
    get: (partitionId) => known.get(partitionId) ?? launched.get(partitionId),
    all: () => [...known.values()].sort((a, b) => a.partitionId - b.partitionId),
    onLaunch(record) {
      const replicas = [...record.voters].sort((a, b) => a - b);
      launched.set(record.groupId, {
        partitionId: record.groupId,
        stateMachineType: record.stateMachine,
        replicationFactor: replicas.length > 0 ? replicas.length : defaultFactor,
        replicas,
        epoch: 0,
      });
    },
    follow(manager) {
      unsubscribes.push(manager.watch((event) => {
        if (event.kind === "partition") known.set(event.partition.partitionId, event.partition);
        if (event.kind === "partition_removed") known.delete(event.partitionId);
      }));
    },
    close() {
      for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
    },
  };
}

export interface MemberStart {
  readonly node: RunningNode;
  readonly manager: ClusterManager;
  readonly cache: PartitionCache;
}

/** Starts the node as a cluster member; the caller binds the manager and closes the cache. */
export async function startClusterMember(
  config: NodeConfig,
  logger: Logger,
  providers: ReadonlyMap<string, StateMachineProvider>,
  extras: NodeExtras,
): Promise<MemberStart> {
  const settings = resolveClusterManagerSettings(config.cluster, config.peers.size > 0);
  const statics = staticPartitionsOf(config);
  checkProvidersCover(config.nodeId, statics, providers);
  const cache = createMemberCache(statics, settings.defaultReplicationFactor);
  const types = createStateMachineTypes(providers, cache);
  const onGroupLaunch = (record: GroupRecord): void => {
    cache.onLaunch(record);
    extras.onGroupLaunch?.(record);
  };
  let node: RunningNode;
  try {
    node = await startNode(config, logger, types, { ...extras, onGroupLaunch });
  } catch (error) {
    cache.close();
    throw error;
  }
  const manager = node.clusterManager;
  if (manager === undefined) {
    await node.stop();
    cache.close();
    throw new RangeError(`node ${config.nodeId}: started without its cluster manager`);
  }
  cache.follow(manager);
  return { node, manager, cache };
}
