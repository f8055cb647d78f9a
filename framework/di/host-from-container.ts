import type { Container } from "inversify";
import type { ClusterManager } from "../cluster/index.js";
import type { HostLogStore, HostSnapshotStore, NodeHostConfig } from "../host/index.js";
import { NodeHost } from "../host/index.js";
import type { RandomSource } from "../raft/index.js";
import type { Clock, Logger, Transport } from "../transport/index.js";
import {
  checkProvidersCover,
  createStateMachineTypes,
  openPartitionCache,
  startHostedPartitions,
} from "./container-partitions.js";
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
} from "./tokens.js";

export interface HostFromContainerOptions {
  /** Lets I/O run between host iterations (setImmediate in a process; the simulator's own). */
  readonly yieldToEventLoop: () => Promise<void>;
  /** For state machines that stamp proposals (prepareProposal). */
  readonly wallClockMs?: () => number;
}

export interface ContainerHost {
  readonly host: NodeHost;
  readonly clusterManager: ClusterManager;
  readonly startedPartitions: readonly number[];
  /** Stops the host and the partition watch. */
  stop(): Promise<void>;
}

/**
 * An in-process NodeHost whose stores, transport, clock, random source and
 * logger all come from the container (tests, the simulator, embedding), with
 * every partition of the bound ClusterManager that lists this node started.
 * The caller starts and closes the transport itself.
 */
export async function createHostFromContainer(
  container: Container,
  config: NodeHostConfig,
  options: HostFromContainerOptions,
): Promise<ContainerHost> {
  const need = <T>(token: symbol, why: string): T => resolveBound<T>(container, token, why);
  const logger = need<Logger>(LoggerToken, "the host's logger");
  const dependencies = {
    logStore: need<HostLogStore>(LogStoreToken, "the host's log store"),
    snapshotStore: need<HostSnapshotStore>(SnapshotStoreToken, "the host's snapshot store"),
    transport: need<Transport>(TransportToken, "messages between nodes"),
    clock: need<Clock>(ClockToken, "ticks and timers"),
    random: need<RandomSource>(RandomToken, "election jitter"),
    logger,
    yieldToEventLoop: options.yieldToEventLoop,
    ...(options.wallClockMs === undefined ? {} : { wallClockMs: options.wallClockMs }),
  };
  if (!container.isBound(PartitionScopeFactoryToken)) {
    const factory = createPartitionScopeFactory(container);
    container.bind(PartitionScopeFactoryToken).toConstantValue(factory);
  }
  const providers = resolveProviders(container);
  const manager = need<ClusterManager>(ClusterManagerToken, "where partitions live");
  const cache = await openPartitionCache(manager);
  checkProvidersCover(config.nodeId, cache.all(), providers);
  const host = new NodeHost(config, dependencies);
  host.start();
  try {
    const types = createStateMachineTypes(providers, cache);
    const started = await startHostedPartitions(host, cache.all(), types);
    const stop = async (): Promise<void> => {
      cache.close();
      await host.stop();
    };
    return { host, clusterManager: manager, startedPartitions: started, stop };
  } catch (error) {
    cache.close();
    await host.stop();
    throw error;
  }
}
