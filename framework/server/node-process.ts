import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { randomInt } from "node:crypto";
import { createDurableStores, NodeHost, resolveNodeHostConfig } from "../host/index.js";
import type { GroupMembers } from "../host/index.js";
import type { StateMachine } from "../statemachine/index.js";
import { createSeededRandom } from "../raft/index.js";
import type { LogStore } from "../storage/index.js";
import { openLogStore, openSnapshotStore } from "../storage/index.js";
import type { Logger, Transport } from "../transport/index.js";
import {
  createConnectTransport,
  createSystemClock,
  createTransportLimits,
  registerTransportService,
} from "../transport/index.js";
import { GatewayService } from "../../gen/raftkit/v1/gateway_pb.js";
import { NodeService } from "../../gen/raftkit/v1/node_pb.js";
import type { DataDirectory, GroupRecord } from "./data-directory.js";
import { openDataDirectory } from "./data-directory.js";
import type { DualProtocolListener } from "./dual-protocol-listener.js";
import { listenDualProtocol } from "./dual-protocol-listener.js";
import { ServerError, ServerErrorCode } from "./errors.js";
import { createConnectBatchRoute, createConnectUnaryRoute } from "./connect-batch-route.js";
import type { RawUnaryCall, RawUnaryHandler, RouteRequest, RouteResponse } from "./connect-batch-route.js";
import { createBinaryBatchExecutor, createBinaryExecuteBatch, createGatewayServiceImpl } from "./gateway-service.js";
import type { GatewayServiceOptions } from "./gateway-service.js";
import { executeBatchPath, executeBatchServerMethod, isBinaryBatchContentType } from "./gateway-wire.js";
import type { RequestHandler } from "./dual-protocol-listener.js";
import type { GroupLauncher } from "./group-launcher.js";
import { createGroupLauncher } from "./group-launcher.js";
import type { NodeConfig } from "./node-config.js";
import { addressToUrl } from "./node-config.js";
import { createNodeServiceImpl } from "./node-service.js";
import { createRequestGate } from "./request-gate.js";
import type { RequestGate } from "./request-gate.js";
import type { StateMachineTypes } from "./state-machine-types.js";
import type { ClusterManager } from "../cluster/index.js";
import { metaGroupId, metaStateMachineType } from "../cluster/index.js";
import type { ClusterManagerSettings } from "./cluster-config.js";
import { resolveClusterManagerSettings } from "./cluster-config.js";
import type { ClusterRuntime } from "./cluster-runtime.js";
import { createClusterRuntime } from "./cluster-runtime.js";
import { builtinStateMachineTypes } from "./state-machine-types.js";
import type { StaticPartition } from "./static-adoption.js";

export interface RunningNode {
  readonly nodeId: number;
  /** The bound port (listenPort, or the one picked for 0). */
  readonly port: number;
  readonly host: NodeHost;
  /**
   * Graceful stop: refuse new requests and connections, wait (≤ shutdownGraceMs)
   * for requests in flight, stop the host (its current iteration — persist
   * and apply — finishes), close the transport, the connections and the stores.
   */
  stop(): Promise<void>;
  /**
   * Starts a group with a state machine the caller made (e.g. from a
   * ClusterManager's table), like host.startGroup, but known to the node:
   * the gateway's typed (JSON) form finds its executable messages. Not
   * recorded in the data directory — the caller restarts it at boot.
   */
  startGroup(groupId: number, machine: StateMachine, members: GroupMembers, options?: { join?: boolean }): Promise<void>;
  /** The meta group's ClusterManager when the cluster manager runs here (issue #9). */
  readonly clusterManager?: ClusterManager;
}

interface Parts {
  readonly host: NodeHost;
  readonly transport: Transport;
  readonly logStore: LogStore;
  readonly dataDirectory: DataDirectory;
  readonly gate: RequestGate;
  readonly launcher: GroupLauncher;
  readonly addressOf: (nodeId: number) => string | undefined;
  /** Records a registered node's "host:port" (the transport resolves peers through addressOf). */
  readonly learnAddress: (nodeId: number, address: string) => void;
}

/** Starts one node: stores, host, transport, one port serving transport, gateway and node services. */
/** Extras a node serves besides its own services. */
export interface NodeExtras {
  /**
   * Serves every HTTP request no Connect service matched (e.g. the web UI at
   * /ui, issue #10). Without it such requests get 404.
   */
  readonly fallback?: ConnectNodeAdapterOptions["fallback"];
  /**
   * Registers further Connect services on the node's port (e.g. a state
   * machine's own service that batches inserts on the leader, issue #8).
   * Called once, with the node's host, before the port opens.
   */
  readonly services?: (router: ConnectRouter, host: NodeHost) => void;
  /** Told each group's launch record before its machine is made (GroupLauncherOptions.onLaunch). */
  readonly onGroupLaunch?: (record: GroupRecord) => void;
  /**
   * Methods whose binary forms (Connect proto, gRPC, gRPC-Web) a hand codec
   * serves, as the gateway's ExecuteBatch does (gateway-wire.ts): a request
   * to `path` in a binary content type goes to the router that `routes`
   * fills; JSON and every other request go to the services above. The hand
   * codec must read and write exactly the bytes the method's proto defines.
   */
  readonly binaryRoutes?: readonly BinaryRoute[];
}

/** One method served by a hand codec in its binary forms (NodeExtras.binaryRoutes). */
export interface BinaryRoute {
  /** The method's URL path, "/package.Service/Method". */
  readonly path: string;
  /** Registers the one method on the router, with the node's host. */
  readonly routes: (router: ConnectRouter, host: NodeHost) => void;
  /**
   * Optional: the method's binary unary forms (Connect proto, gRPC over
   * HTTP/2, gRPC-Web) served from the request body's bytes to the answer's
   * bytes, without connect's per-call machinery (connect-batch-route.ts);
   * what it does not take (JSON, compression, gRPC over HTTP/1.1) still goes
   * to `routes`. Called once, with the node's host, before the port opens. A
   * ConnectError thrown is answered as it is; anything else as Internal
   * "internal error", as connect answers it. The handler reads at most
   * `readMaxBytes` of message.
   */
  readonly unary?: {
    readonly handler: (host: NodeHost) => RawUnaryHandler;
    readonly readMaxBytes: number;
    /**
     * Optional: a refusal decided from the call's headers alone, before its
     * body is read (createConnectUnaryRoute's `refuseEarly`): an error
     * returned is answered as the handler's throw would be.
     */
    readonly refuseEarly?: (host: NodeHost) => (call: RawUnaryCall) => unknown;
    /**
     * Optional: the handler keeps no view of the body past its promise's
     * settling, so bodies of several chunks may be joined into reused
     * memory (createConnectUnaryRoute's `reuseBodies`). Default false.
     */
    readonly reuseBodies?: boolean;
  };
}

export async function startNode(
  config: NodeConfig,
  logger: Logger,
  types: StateMachineTypes = builtinStateMachineTypes,
  extras: NodeExtras = {},
): Promise<RunningNode> {
  const settings = resolveClusterManagerSettings(
    { transferTimeoutMs: transferTimeoutOf(config), ...config.cluster },
    config.peers.size > 0,
  );
  if (config.groups.includes(metaGroupId)) {
    const message = `group ${metaGroupId} is reserved for the meta group`;
    throw new ServerError(ServerErrorCode.InvalidConfig, message, { setting: "groups" });
  }
  let boundPort = config.listenPort;
  const runtime = settings.enabled ? createClusterRuntimeOf(config, settings, logger, () => boundPort) : undefined;
  const allTypes = runtime === undefined ? types : new Map([...types, [metaStateMachineType, runtime.value.metaFactory]]);
  const parts = await assemble(config, logger, allTypes, extras.onGroupLaunch);
  runtime?.bind(parts);
  const { host, transport, logStore, gate } = parts;
  const startedAt = performance.now();
  let listener: DualProtocolListener;
  const services: NodeExtras["services"] = (router, servedHost) => {
    runtime?.value.registerServices(router, servedHost, parts.launcher);
    extras.services?.(router, servedHost);
  };
  try {
    listener = await listen(config, parts, logger, () => performance.now() - startedAt, { ...extras, services });
  } catch (error) {
    await logStore.close();
    throw error;
  }
  boundPort = listener.port;
  await transport.start();
  host.start();
  const reopened = await startGroupsAtBoot(config, parts);
  await runtime?.value.start(host, parts.launcher, staticPartitionsOf(config, parts, settings));
  logger.info("node started", { nodeId: config.nodeId, port: listener.port, groups: host.groupIds().length, reopened });
  const stop = async (): Promise<void> => {
    await runtime?.value.stop();
    gate.close();
    listener.stopAccepting();
    const drained = await gate.drained(config.shutdownGraceMs);
    if (!drained) logger.warn("shutdown: requests still in flight after the grace period", { inFlight: gate.inFlight() });
    await host.stop();
    await transport.close();
    await listener.closeConnections();
    await logStore.close();
    logger.info("node stopped", { nodeId: config.nodeId });
  };
  let stopping: Promise<void> | undefined;
  return {
    nodeId: config.nodeId,
    port: listener.port,
    host,
    stop: () => (stopping ??= stop()),
    startGroup: (groupId, machine, members, options = {}) => parts.launcher.startAdopted(groupId, machine, members, options),
    ...(runtime === undefined ? {} : { clusterManager: runtime.value.manager }),
  };
}

/** The cluster runtime, bound to the node's address book once the parts exist. */
function createClusterRuntimeOf(
  config: NodeConfig,
  settings: ClusterManagerSettings,
  logger: Logger,
  port: () => number,
): { value: ClusterRuntime; bind(parts: Parts): void } {
  let bound: Parts | undefined;
  const value = createClusterRuntime({
    nodeId: config.nodeId,
    address: () => `${config.listenHost}:${port()}`,
    peers: config.peers,
    settings,
    learnAddress: (nodeId, address) => bound?.learnAddress(nodeId, address),
    addressOf: (nodeId) => bound?.addressOf(nodeId),
    logger,
  });
  return { value, bind: (parts) => (bound = parts) };
}

/**
 * The configured (--groups) partitions the meta table is to adopt, with the
 * type they run here and the boot cluster's size as their factor. A node
 * that joined later adopts none: its groups are the controller's to place.
 */
function staticPartitionsOf(
  config: NodeConfig,
  parts: Parts,
  settings: ClusterManagerSettings,
): StaticPartition[] {
  if (settings.join.length > 0) return [];
  // Only groups running here: a departed one is adopted by the nodes that hold it.
  const bootVoters = [config.nodeId, ...config.peers.keys()].sort((a, b) => a - b);
  const records = parts.dataDirectory.groups;
  const running = config.groups.filter((groupId) => records.has(groupId));
  return running.map((partitionId) => ({
    partitionId,
    stateMachineType: records.get(partitionId)?.stateMachine ?? config.stateMachine,
    replicationFactor: bootVoters.length,
    bootVoters,
  }));
}

/** Reopens every group recorded in the data directory, then starts the configured ones not among them. */
/**
 * How long the controller counts a leadership transfer as under way: two of
 * the node's election timeouts (raft abandons a transfer after one).
 */
function transferTimeoutOf(config: NodeConfig): number {
  const host = resolveNodeHostConfig({ ...config.host, nodeId: config.nodeId });
  return 2 * host.electionTicks * host.tickIntervalMs;
}

async function startGroupsAtBoot(config: NodeConfig, parts: Parts): Promise<number> {
  const recorded = [...parts.dataDirectory.groups.values()];
  const voters = [config.nodeId, ...config.peers.keys()].sort((a, b) => a - b);
  // A configured group whose replica moved away from here stays away (the controller placed it).
  const configured = config.groups
    .filter((groupId) => !parts.dataDirectory.groups.has(groupId))
    .filter((groupId) => !parts.dataDirectory.departed.has(groupId))
    .map((groupId) => ({ groupId, voters, stateMachine: config.stateMachine, join: false }));
  await parts.launcher.startGroups([...recorded, ...configured]);
  return recorded.length;
}

async function assemble(
  config: NodeConfig,
  logger: Logger,
  types: StateMachineTypes,
  onLaunch?: (record: GroupRecord) => void,
): Promise<Parts> {
  const dataDirectory = await openDataDirectory(config.dataDirectory, config.nodeId, config.clusterId);
  const logStore = await openLogStore({ directory: dataDirectory.logDirectory });
  const snapshotStore = await openSnapshotStore({ directory: dataDirectory.snapshotDirectory });
  const stores = await createDurableStores(logStore, snapshotStore);
  const addresses = new Map<number, string>();
  for (const [peer, address] of config.peers) addresses.set(peer, addressToUrl(address));
  const addressOf = (nodeId: number): string | undefined => addresses.get(nodeId);
  const learnAddress = (nodeId: number, address: string): void => {
    if (nodeId !== config.nodeId) addresses.set(nodeId, addressToUrl(address));
  };
  const clock = createSystemClock();
  let host: NodeHost | undefined;
  const transport = createConnectTransport({
    nodeId: config.nodeId,
    clusterId: config.clusterId,
    resolvePeer: addressOf,
    // The host exists before the transport sends anything (transport.start comes later).
    handler: { onUnreachable: (groupId, nodeId) => host?.onUnreachable(groupId, nodeId) },
    clock,
    random: createSeededRandom(randomInt(2 ** 31)),
    logger,
    limits: config.transport,
  });
  host = new NodeHost(
    { ...config.host, nodeId: config.nodeId },
    {
      ...stores,
      transport,
      clock,
      random: createSeededRandom(randomInt(2 ** 31)),
      // The leader stamps commands of state machines that ask for time (prepareProposal).
      wallClockMs: () => Date.now(),
      logger,
      yieldToEventLoop: () => new Promise<void>((resolve) => setImmediate(resolve)),
    },
  );
  const launcher = createGroupLauncher({
    nodeId: config.nodeId, host, dataDirectory, types, ...(onLaunch === undefined ? {} : { onLaunch }),
  });
  return { host, transport, logStore, dataDirectory, gate: createRequestGate(), launcher, addressOf, learnAddress };
}

async function listen(
  config: NodeConfig,
  parts: Parts,
  logger: Logger,
  uptimeMs: () => number,
  extras: NodeExtras,
): Promise<DualProtocolListener> {
  const { host, gate, launcher, addressOf } = parts;
  const limits = createTransportLimits(config.transport);
  const maxRequestBytes = (config.host.maxProposalBytes ?? 8 << 20) + 64 * 1024;
  const gateway: GatewayServiceOptions = { host, addressOf, machineOf: (groupId) => launcher.machine(groupId), gate, logger };
  const generic = connectNodeAdapter({
    ...(extras.fallback === undefined ? {} : { fallback: extras.fallback }),
    routes: (router) => {
      registerTransportService(router, { nodeId: config.nodeId, clusterId: config.clusterId, handler: host, limits, logger });
      router.service(GatewayService, createGatewayServiceImpl(gateway), {
        readMaxBytes: maxRequestBytes,
      });
      router.service(
        NodeService,
        createNodeServiceImpl({ nodeId: config.nodeId, host, launcher, gate, addressOf, uptimeMs }),
        { readMaxBytes: 1024 * 1024 },
      );
      extras.services?.(router, host);
    },
  });
  // ExecuteBatch in a binary format (Connect proto, gRPC, gRPC-Web) goes to the hand codec's
  // handler (gateway-wire.ts); JSON and everything else to the generic one.
  const binaryBatch = connectNodeAdapter({
    routes: (router) => router.rpc(executeBatchServerMethod, createBinaryExecuteBatch(gateway), { readMaxBytes: maxRequestBytes }),
  });
  // Its Connect unary proto form (the client library's) without connect's per-call machinery.
  const connectBatch = createConnectBatchRoute(createBinaryBatchExecutor(gateway), maxRequestBytes);
  type RawRoute = { serve(request: RouteRequest, response: RouteResponse): boolean };
  const binaryRoutes = new Map<string, { readonly handler: RequestHandler; readonly raw?: RawRoute }>(
    [[executeBatchPath, { handler: binaryBatch, raw: connectBatch }]]);
  for (const route of extras.binaryRoutes ?? []) {
    if (binaryRoutes.has(route.path)) {
      throw new ServerError(ServerErrorCode.InvalidConfig, `two binary routes for ${route.path}`, { setting: "binaryRoutes" });
    }
    const handler = connectNodeAdapter({ routes: (router) => route.routes(router, host) });
    const unary = route.unary;
    binaryRoutes.set(route.path, unary === undefined ? { handler } : {
      handler, raw: createConnectUnaryRoute(unary.handler(host), unary.readMaxBytes, asConnectHandlerError,
        { grpc: true, reuseBodies: unary.reuseBodies === true,
          ...(unary.refuseEarly === undefined ? {} : { refuseEarly: unary.refuseEarly(host) }) }),
    });
  }
  const handler: RequestHandler = (request, response) => {
    const binary = request.url === undefined ? undefined : binaryRoutes.get(request.url);
    if (binary !== undefined && isBinaryBatchContentType(mediaTypeOf(request.headers["content-type"]))) {
      if (binary.raw !== undefined && binary.raw.serve(request, response)) return;
      binary.handler(request, response);
    } else {
      generic(request, response);
    }
  };
  try {
    return await listenDualProtocol(config.listenHost, config.listenPort, handler);
  } catch (error) {
    throw new ServerError(
      ServerErrorCode.ListenFailed,
      `cannot listen on ${config.listenHost}:${config.listenPort}: ${String(error)}`,
      { setting: "listen", cause: error },
    );
  }
}

/** A handler's throw that is not a ConnectError, as connect's universal handler answers it. */
function asConnectHandlerError(reason: unknown): ConnectError {
  return new ConnectError("internal error", Code.Internal, undefined, undefined, reason);
}

/** "application/grpc+proto; charset=x" → "application/grpc+proto". */
function mediaTypeOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== "string") return undefined;
  const end = header.indexOf(";");
  return (end < 0 ? header : header.slice(0, end)).trim().toLowerCase();
}
