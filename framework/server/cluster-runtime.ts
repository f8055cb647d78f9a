/**
 * The cluster manager inside a node process (issue #9): the meta group on
 * the boot cluster's lowest ids, ClusterService and ClusterAgentService on
 * the node's one port, the node agent's heartbeats, and the controller
 * loop that acts only while this node leads the meta group.
 */
import type { ConnectRouter } from "@connectrpc/connect";
import { ClusterAgentService } from "../../gen/raftkit/v1/cluster_agent_pb.js";
import { ClusterService } from "../../gen/raftkit/v1/cluster_pb.js";
import type {
  ClusterManager,
  MetaChannel,
  MetaStateMachine,
  PartitionInfo,
} from "../cluster/index.js";
import {
  ClusterError,
  ClusterErrorCode,
  createClusterServiceImpl,
  createMetaClusterManager,
  createMetaStateMachine,
  metaGroupId,
  metaStateMachineType,
  metaVotersOf,
} from "../cluster/index.js";
import type { RaftkitClient } from "../client/index.js";
import { ClientErrorCode, createRaftkitClient, isClientError } from "../client/index.js";
import type { NodeHost } from "../host/index.js";
import type { StateMachineFactory } from "../statemachine/index.js";
import { StateMachineError } from "../statemachine/index.js";
import type { Logger } from "../transport/index.js";
import { createClusterAgentServiceImpl } from "./cluster-agent-service.js";
import type { ClusterManagerSettings } from "./cluster-config.js";
import type { GroupLauncher } from "./group-launcher.js";
import type { ControllerLoop } from "./meta-controller-loop.js";
import { startControllerLoop } from "./meta-controller-loop.js";
import { createMetaControllerEnvironment } from "./meta-controller-environment.js";
import type { NodeAgent } from "./node-agent.js";
import { startNodeAgent } from "./node-agent.js";
import { addressToUrl } from "./node-config.js";
import type { PeerClients } from "./peer-clients.js";
import { createPeerClients } from "./peer-clients.js";
import type { StaticAdoption, StaticPartition } from "./static-adoption.js";
import { startStaticAdoption } from "./static-adoption.js";

/** A meta group call's deadline in call timeouts (retries and redirects included). */
const metaDeadlineCalls = 3;

/** Tries of StartReplica per replica when a partition is created. */
const startAttempts = 3;

export interface ClusterRuntimeOptions {
  readonly nodeId: number;
  /** This node's "host:port" as the others reach it (known once the port is bound). */
  readonly address: () => string;
  /** Boot peers: id → "host:port". */
  readonly peers: ReadonlyMap<number, string>;
  readonly settings: ClusterManagerSettings;
  readonly learnAddress: (nodeId: number, address: string) => void;
  readonly addressOf: (nodeId: number) => string | undefined;
  readonly logger: Logger;
}

export interface ClusterRuntime {
  /** The meta group's voters ([] on a node that joined later). */
  readonly metaVoters: readonly number[];
  readonly manager: ClusterManager;
  /** The meta state machine type, to add to the node's StateMachineTypes. */
  readonly metaFactory: StateMachineFactory;
  registerServices(router: ConnectRouter, host: NodeHost, launcher: GroupLauncher): void;
  /**
   * After the host started: the meta group here (a voter), the agent, the
   * controller loop, and the adoption of this node's static partitions.
   */
  start(
    host: NodeHost,
    launcher: GroupLauncher,
    statics?: readonly StaticPartition[],
  ): Promise<void>;
  stop(): Promise<void>;
}

/** The meta state machine's refusals as StateMachineErrors (what the cluster layer maps). */
function refusalOf(error: unknown): unknown {
  if (!isClientError(error) || error.code !== ClientErrorCode.StateMachine) return error;
  const code = error.context.executionCode;
  return code === undefined ? error : new StateMachineError(code, error.message, { cause: error });
}

/** The meta group through a RaftkitClient made at start (the seeds need this node's bound port). */
function metaChannelOf(client: () => RaftkitClient): MetaChannel {
  const rethrow = (error: unknown): never => {
    throw refusalOf(error);
  };
  return {
    command: (message, request) => client().command(message, metaGroupId, request).catch(rethrow),
    query: (message, request) => client().query(message, metaGroupId, request).catch(rethrow),
  };
}

/** What starting and stopping a partition's replicas needs. */
interface ReplicaCalls {
  readonly manager: ClusterManager;
  readonly peers: PeerClients;
  readonly settings: ClusterManagerSettings;
}

async function addressesOf(
  calls: ReplicaCalls,
  partition: PartitionInfo,
): Promise<Map<number, string>> {
  const nodes = await calls.manager.nodes();
  const placed = nodes.filter((node) => partition.replicas.includes(node.nodeId));
  return new Map(placed.map((node) => [node.nodeId, node.address]));
}

/** Starts a new partition's replicas on their nodes (CreatePartition). */
async function startReplicas(calls: ReplicaCalls, partition: PartitionInfo): Promise<void> {
  const { peers, settings } = calls;
  const addresses = await addressesOf(calls, partition);
  const request = {
    partitionId: BigInt(partition.partitionId),
    stateMachineType: partition.stateMachineType,
    voters: partition.replicas.map(BigInt),
    join: false,
  };
  const startOn = async (replica: number): Promise<void> => {
    const address = addresses.get(replica);
    if (address === undefined) throw new RangeError(`node ${replica} has no address`);
    // Idempotent (a replica already running answers already_running): a timed-out try is retried.
    for (let attempt = 1; ; attempt++) {
      try {
        const timeoutMs = settings.callTimeoutMs;
        await peers.of(address).agent.startReplica(request, { timeoutMs });
        return;
      } catch (error) {
        if (attempt >= startAttempts) throw error;
      }
    }
  };
  const results = await Promise.allSettled(partition.replicas.map(startOn));
  const failed = partition.replicas.flatMap((replica, index) => {
    const result = results[index]!;
    return result.status === "rejected" ? [`n${replica}: ${String(result.reason)}`] : [];
  });
  // A majority running is enough to serve; the rest is replaced once the node is found dead.
  if (failed.length * 2 >= partition.replicas.length) {
    const placed = partition.replicas.join(", ");
    const message = `partition ${partition.partitionId} is placed on [${placed}] ` +
      `but replicas did not start (${failed.join("; ")}); create it again to retry`;
    throw new ClusterError(ClusterErrorCode.Unavailable, message);
  }
}

/** Stops a deleted partition's replicas and deletes their data (best effort). */
async function stopReplicas(calls: ReplicaCalls, partition: PartitionInfo): Promise<void> {
  const { peers, settings } = calls;
  const addresses = await addressesOf(calls, partition);
  await Promise.allSettled([...addresses.values()].map((address) =>
    peers.of(address).agent.stopReplica(
      { partitionId: BigInt(partition.partitionId), removeData: true },
      { timeoutMs: settings.callTimeoutMs },
    )));
}

/**
 * The manager ClusterService uses: a partition is created only once this
 * node's static partitions are in the meta table, so a new id can never be
 * one of theirs (the table's counter moves above every adopted id).
 */
function afterAdoption(
  manager: ClusterManager,
  adoption: () => StaticAdoption | undefined,
  waitMs: number,
): ClusterManager {
  const settled = async (): Promise<void> => {
    const current = adoption();
    if (current === undefined || current.isSettled()) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
    await Promise.race([current.settled(), late]).finally(() => clearTimeout(timer));
    if (current.isSettled()) return;
    const message = "this node's static partitions (--groups) are not in the meta table yet: " +
      "a new partition could take one of their ids; retry once the meta group has a leader";
    throw new ClusterError(ClusterErrorCode.Unavailable, message);
  };
  return {
    partitions: () => manager.partitions(),
    partition: (partitionId) => manager.partition(partitionId),
    partitionForKey: (type, key) => manager.partitionForKey(type, key),
    createPartition: async (request) => {
      await settled();
      return manager.createPartition(request);
    },
    nodes: () => manager.nodes(),
    watch: (listener) => manager.watch(listener),
  };
}

export function createClusterRuntime(options: ClusterRuntimeOptions): ClusterRuntime {
  const { settings, logger, nodeId } = options;
  const joining = settings.join.length > 0;
  const bootIds = [nodeId, ...options.peers.keys()];
  const metaVoters = joining ? [] : metaVotersOf(bootIds, settings.metaVoters);
  const seedsOf = (): string[] => [
    ...metaVoters.map((id) => (id === nodeId ? options.address() : options.peers.get(id)!)),
    ...settings.join,
  ];
  let client: RaftkitClient | undefined;
  const channel = metaChannelOf(() => {
    if (client === undefined) {
      throw new ClusterError(ClusterErrorCode.Unavailable, "the node is starting");
    }
    return client;
  });
  const now = (): number => performance.now();
  const manager = createMetaClusterManager({ channel, now, refreshIntervalMs: 1_000 });
  const peers: PeerClients = createPeerClients();
  let meta: MetaStateMachine | undefined;
  let agent: NodeAgent | undefined;
  let loop: ControllerLoop | undefined;
  let adoption: StaticAdoption | undefined;
  const metaFactory: StateMachineFactory = (groupId) => {
    const defaultReplicationFactor = settings.defaultReplicationFactor;
    meta = createMetaStateMachine({ partitionId: groupId, defaultReplicationFactor });
    return meta.machine;
  };
  const calls: ReplicaCalls = { manager, peers, settings };
  const deadlineMs = settings.callTimeoutMs * metaDeadlineCalls;
  const serviceManager = afterAdoption(manager, () => adoption, deadlineMs);
  return {
    metaVoters,
    manager,
    metaFactory,
    registerServices(router, host, launcher) {
      const service = {
        manager: serviceManager,
        host,
        meta: channel,
        startReplicas: (partition: PartitionInfo) => startReplicas(calls, partition),
        stopReplicas: (partition: PartitionInfo) => stopReplicas(calls, partition),
      };
      router.service(ClusterService, createClusterServiceImpl(service));
      router.service(ClusterAgentService, createClusterAgentServiceImpl({
        host,
        launcher,
        addressOf: options.addressOf,
        logger,
        onHeartbeat: (beatingId, address) => {
          if (beatingId !== nodeId) options.learnAddress(beatingId, address);
          return loop?.onHeartbeat(beatingId, address) ?? { accepted: false };
        },
      }));
    },
    async start(host, launcher, statics = []) {
      const seeds = seedsOf();
      // A meta command waits for an election when the meta leader died: three call timeouts.
      const nodes = seeds.map(addressToUrl);
      client = createRaftkitClient({ nodes, defaultDeadlineMs: deadlineMs });
      if (metaVoters.includes(nodeId)) {
        const stateMachine = metaStateMachineType;
        const record = { groupId: metaGroupId, voters: metaVoters, stateMachine, join: false };
        await launcher.startGroups([record]);
        if (meta === undefined) {
          throw new RangeError("the meta group started without its state machine");
        }
        const callTimeoutMs = settings.callTimeoutMs;
        const environmentOptions = { host, meta, peers, callTimeoutMs, logger };
        const environment = createMetaControllerEnvironment(environmentOptions);
        const addressOf = options.addressOf;
        loop = startControllerLoop({ host, meta, environment, settings, addressOf, logger });
      }
      agent = startNodeAgent({
        nodeId,
        address: options.address(),
        seeds,
        peers,
        intervalMs: settings.heartbeatIntervalMs,
        callTimeoutMs: settings.callTimeoutMs,
        learnAddress: options.learnAddress,
        logger,
      });
      if (statics.length > 0) {
        const retryIntervalMs = settings.heartbeatIntervalMs;
        const partitions = statics;
        adoption = startStaticAdoption({ partitions, channel, host, retryIntervalMs, logger });
      }
    },
    async stop() {
      await adoption?.stop();
      await agent?.stop();
      await loop?.stop();
      await client?.close();
      peers.close();
    },
  };
}
