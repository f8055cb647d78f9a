import type { Container } from "inversify";
import type { ClusterManager } from "../cluster/index.js";
import {
  createClusterServiceImpl,
  createStaticClusterManager,
  createUniformStaticTable,
  metaGroupId,
} from "../cluster/index.js";
import { runsClusterManager, startClusterMember } from "./cluster-member.js";
import { ClusterService } from "../../gen/raftkit/v1/cluster_pb.js";
import type { NodeConfig, NodeExtras, RunningNode } from "../server/index.js";
import { startNode } from "../server/index.js";
import type { Logger } from "../transport/index.js";
import type { PartitionCache } from "./container-partitions.js";
import {
  checkProvidersCover,
  createStateMachineTypes,
  openPartitionCache,
  startHostedPartitions,
} from "./container-partitions.js";
import { DiError, DiErrorCode } from "./errors.js";
import { createPartitionScopeFactory } from "./partition-scope.js";
import { resolveBound, resolveProviders } from "./resolve.js";
import {
  ClockToken,
  ClusterManagerToken,
  LoggerToken,
  LogStoreToken,
  PartitionScopeFactoryToken,
  RandomToken,
  SnapshotStoreToken,
  TransportToken,
  tokenName,
} from "./tokens.js";

export interface ContainerNode extends RunningNode {
  readonly clusterManager: ClusterManager;
  /** Partitions this node started from the cluster manager's table, ascending. */
  readonly startedPartitions: readonly number[];
}

/** startNode makes these from the config (data directory, peers): a binding would be ignored. */
const processOwnedTokens = [
  ClockToken,
  RandomToken,
  LogStoreToken,
  SnapshotStoreToken,
  TransportToken,
];

function refuseProcessOwnedBindings(container: Container): void {
  for (const token of processOwnedTokens) {
    if (!container.isBound(token)) continue;
    const name = tokenName(token);
    throw new DiError(
      DiErrorCode.UnsupportedBinding,
      `${name} is bound, but a node process builds its own from the config; ` +
        "unbind it, or build an in-process host with createHostFromContainer",
      { subject: name },
    );
  }
}

/** The bound ClusterManager; with none bound, a static table of config.groups (then bound). */
function clusterManagerOf(container: Container, config: NodeConfig): ClusterManager {
  if (container.isBound(ClusterManagerToken)) {
    if (config.groups.length > 0) {
      throw new DiError(
        DiErrorCode.InvalidConfig,
        `groups [${config.groups.join(", ")}] are set and a ClusterManager is bound: ` +
          "list the partitions in one place (the cluster manager's table), leave groups empty",
        { subject: "groups" },
      );
    }
    return resolveBound<ClusterManager>(container, ClusterManagerToken, "where partitions live");
  }
  const nodes = new Map(config.peers);
  nodes.set(config.nodeId, `${config.listenHost}:${config.listenPort}`);
  const table = createUniformStaticTable({
    nodes,
    partitionIds: config.groups,
    stateMachineType: config.stateMachine,
  });
  const manager = createStaticClusterManager(table);
  container.bind(ClusterManagerToken).toConstantValue(manager);
  return manager;
}

/**
 * Starts a node process from a container: its StateMachineProviders make
 * the state machines, its LoggerToken logs. Where partitions live: a bound
 * ClusterManager (static, the cluster manager off); with none bound and the
 * cluster manager on (peers or join, as `raftkit start`), the node is a
 * full member of the meta group's cluster (cluster-member.ts); otherwise a
 * static table of config.groups.
 * Everything is resolved before the port opens, so a missing binding fails
 * here with a DiError naming the token.
 */
export async function startNodeFromContainer(
  container: Container,
  config: NodeConfig,
  extras: NodeExtras = {},
): Promise<ContainerNode> {
  refuseProcessOwnedBindings(container);
  const logger = resolveBound<Logger>(container, LoggerToken, "the node's logger");
  if (!container.isBound(PartitionScopeFactoryToken)) {
    const factory = createPartitionScopeFactory(container);
    container.bind(PartitionScopeFactoryToken).toConstantValue(factory);
  }
  const providers = resolveProviders(container);
  if (!container.isBound(ClusterManagerToken) && runsClusterManager(config)) {
    const { node, manager, cache } = await startClusterMember(config, logger, providers, extras);
    container.bind(ClusterManagerToken).toConstantValue(manager);
    const started = node.host.groupIds().filter((id) => id !== metaGroupId).sort((a, b) => a - b);
    const stop = async (): Promise<void> => {
      cache.close();
      await node.stop();
    };
    return { ...node, stop, clusterManager: manager, startedPartitions: started };
  }
  const manager = clusterManagerOf(container, config);
  const cache: PartitionCache = await openPartitionCache(manager);
  let node: RunningNode | undefined;
  try {
    checkProvidersCover(config.nodeId, cache.all(), providers);
    const types = createStateMachineTypes(providers, cache);
    const services: NodeExtras["services"] = (router, host) => {
      // The management API (raftkit.v1.ClusterService) on the node's port.
      router.service(ClusterService, createClusterServiceImpl({ manager, host }));
      extras.services?.(router, host);
    };
    // The container's ClusterManager (or the static table) says where partitions live; the
    // node's own meta group would be a second source of truth, so it stays off here.
    const nodeConfig = { ...config, groups: [], cluster: { ...config.cluster, enabled: false } };
    node = await startNode(nodeConfig, logger, types, { ...extras, services });
    const started = await startHostedPartitions(node.host, cache.all(), types, node.startGroup);
    const running = node;
    const stop = async (): Promise<void> => {
      cache.close();
      await running.stop();
    };
    return { ...running, stop, clusterManager: manager, startedPartitions: started };
  } catch (error) {
    cache.close();
    await node?.stop();
    throw error;
  }
}
