/**
 * The nodes of one cluster simulation (issue #9). Each node is what a
 * `raftkit start` process runs, on simulated parts: a real NodeHost over
 * its simulated disk (unsynced writes lost on a crash), the simulated
 * network and a virtual clock; the real GroupLauncher over an in-memory
 * data directory (group records survive crashes, as groups.json does); the
 * real ClusterAgentService and NodeService; the real node agent beating to
 * the meta leader; and on the meta voters the real meta group, controller
 * environment and controller loop. Only the RPC layer is simulated
 * (sim-peer-calls.ts). Data groups run test/sim/host's register machine,
 * whose applies are checked here: one request per log index, one index per
 * request, one digest per index across every replica.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { ClusterAgentService } from "../../../gen/raftkit/v1/cluster_agent_pb.js";
import type { MetaStateMachine } from "../../../framework/cluster/index.js";
import {
  createMetaStateMachine,
  metaGroupId,
  metaStateMachineType,
} from "../../../framework/cluster/index.js";
import type { NodeHostConfig } from "../../../framework/host/index.js";
import { NodeHost } from "../../../framework/host/index.js";
import type { NodeId, RandomSource } from "../../../framework/raft/index.js";
import { createSeededRandom, Role } from "../../../framework/raft/index.js";
import { createClusterAgentServiceImpl } from "../../../framework/server/cluster-agent-service.js";
import type { ClusterManagerSettings } from "../../../framework/server/cluster-config.js";
import type { DataDirectory, GroupRecord } from "../../../framework/server/data-directory.js";
import type { GroupLauncher } from "../../../framework/server/group-launcher.js";
import { createGroupLauncher } from "../../../framework/server/group-launcher.js";
import type { LoopTimers } from "../../../framework/server/loop-timers.js";
import type { ControllerLoop } from "../../../framework/server/meta-controller-loop.js";
import { startControllerLoop } from "../../../framework/server/meta-controller-loop.js";
import { createMetaControllerEnvironment } from "../../../framework/server/meta-controller-environment.js";
import { startNodeAgent } from "../../../framework/server/node-agent.js";
import { createNodeServiceImpl } from "../../../framework/server/node-service.js";
import { createRequestGate } from "../../../framework/server/request-gate.js";
import type { StateMachineFactory } from "../../../framework/statemachine/index.js";
import type { Logger } from "../../../framework/transport/index.js";
import type { SimulatedNetwork } from "../network.js";
import type { HostNetworkEnvironment } from "../host/host-network.js";
import { createHostTransport } from "../host/host-network.js";
import type { RegisterMachine } from "../host/register-machine.js";
import { createRegisterMachine } from "../host/register-machine.js";
import type { Scheduler } from "../host/scheduler.js";
import { createNodeClock } from "../host/scheduler.js";
import type { SimDisk } from "../host/sim-disk.js";
import { createSimDisk, openDisk } from "../host/sim-disk.js";
import type { SimServices } from "./sim-peer-calls.js";
import { createSimPeerCalls, simAddress } from "./sim-peer-calls.js";

/** The data groups' state machine type in the simulation. */
export const registerType = "register";

export interface ClusterWorldEnvironment {
  readonly scheduler: Scheduler;
  readonly random: RandomSource;
  readonly network: SimulatedNetwork;
  readonly tickMs: number;
  readonly hostConfig: Omit<NodeHostConfig, "nodeId">;
  readonly settings: ClusterManagerSettings;
  readonly metaVoters: readonly NodeId[];
  fsyncLatency(): number;
  violation(message: string): void;
  trace(line: string): void;
  count(what: string, by?: number): void;
}

interface RunningNode {
  readonly incarnation: number;
  readonly host: NodeHost;
  readonly launcher: GroupLauncher;
  readonly services: SimServices;
  meta: MetaStateMachine | undefined;
  loop: ControllerLoop | undefined;
  readonly crashDisk: () => number;
  readonly crashListeners: (() => void)[];
}

export interface ClusterSimNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  /** The data directory's records: durable across crashes. */
  readonly records: Map<number, GroupRecord>;
  readonly departed: Set<number>;
  incarnation: number;
  running: RunningNode | undefined;
}

/** What every replica of a data group applied, by log index. */
interface AppliedLog {
  readonly byIndex: Map<number, { readonly requestId: string; readonly digest: number }>;
  readonly indexOf: Map<string, number>;
}

export interface ClusterWorld {
  readonly nodes: ReadonlyMap<NodeId, ClusterSimNode>;
  start(nodeId: NodeId): void;
  crash(nodeId: NodeId): void;
  isUp(nodeId: NodeId): boolean;
  /** The running host of a node, if up. */
  host(nodeId: NodeId): NodeHost | undefined;
  /** The leader (highest term) among the running replicas of a group. */
  leader(groupId: number): { readonly nodeId: NodeId; readonly host: NodeHost } | undefined;
  /** The meta leader's node, host and state machine. */
  metaLeader(): { readonly nodeId: NodeId; readonly host: NodeHost; readonly meta: MetaStateMachine } | undefined;
  /** Log indexes at which a data group applied a request, across all replicas. */
  appliedIndexes(groupId: number, requestId: string): number | undefined;
  /** The node's calls to the others (the RPC layer the agent and controller use). */
  callsFrom(nodeId: NodeId): ReturnType<typeof createSimPeerCalls>;
}

export function createClusterWorld(
  env: ClusterWorldEnvironment,
  nodeIds: readonly NodeId[],
): ClusterWorld {
  const nodes = new Map<NodeId, ClusterSimNode>();
  for (const id of nodeIds) {
    const node: ClusterSimNode = {
      id, disk: createSimDisk(id, 2), records: new Map(), departed: new Set(),
      incarnation: 0, running: undefined,
    };
    nodes.set(id, node);
  }
  const applied = new Map<number, AppliedLog>();
  const nodeOf = (id: NodeId): ClusterSimNode => {
    const node = nodes.get(id);
    if (node === undefined) throw new RangeError(`node ${id}, allowed ${nodeIds.join(",")}`);
    return node;
  };
  const network = networkEnvironment(env, nodes);
  const callEnvironment = {
    scheduler: env.scheduler, network: env.network, random: env.random, tickMs: env.tickMs,
    services: (id: NodeId) => nodes.get(id)?.running?.services,
    count: (what: string) => env.count(what),
  };
  const callsFrom = (id: NodeId) => {
    const incarnation = nodeOf(id).incarnation;
    return createSimPeerCalls(callEnvironment, id, () => nodeOf(id).running?.incarnation === incarnation);
  };
  const parts: NodeParts = { env, network, applied, callsFrom };
  return {
    nodes,
    start: (id) => startNode(parts, nodeOf(id)),
    crash: (id) => crashNode(env, nodes, nodeOf(id)),
    isUp: (id) => nodeOf(id).running !== undefined,
    host: (id) => nodeOf(id).running?.host,
    leader: (groupId) => leaderOf(nodes, groupId),
    metaLeader() {
      const found = leaderOf(nodes, metaGroupId);
      const meta = found === undefined ? undefined : nodeOf(found.nodeId).running?.meta;
      return found === undefined || meta === undefined ? undefined : { ...found, meta };
    },
    appliedIndexes: (groupId, requestId) => applied.get(groupId)?.indexOf.get(requestId),
    callsFrom,
  };
}

interface NodeParts {
  readonly env: ClusterWorldEnvironment;
  readonly network: HostNetworkEnvironment;
  readonly applied: Map<number, AppliedLog>;
  readonly callsFrom: (id: NodeId) => ReturnType<typeof createSimPeerCalls>;
}

function networkEnvironment(
  env: ClusterWorldEnvironment,
  nodes: ReadonlyMap<NodeId, ClusterSimNode>,
): HostNetworkEnvironment {
  return {
    scheduler: env.scheduler,
    network: env.network,
    random: env.random,
    tickMs: env.tickMs,
    handler(nodeId) {
      const running = nodes.get(nodeId)?.running;
      return running === undefined ? undefined : { incarnation: running.incarnation, handler: running.host };
    },
    observeSent: () => {},
    onCrash(nodeId, incarnation, callback) {
      const running = nodes.get(nodeId)?.running;
      if (running?.incarnation === incarnation) running.crashListeners.push(callback);
    },
    count: (what) => env.count(what),
  };
}

/** The data directory of one incarnation: records held by the node, durable at once. */
function simDataDirectory(node: ClusterSimNode): DataDirectory {
  return {
    logDirectory: "/log",
    snapshotDirectory: "/snapshots",
    groups: node.records,
    departed: node.departed,
    async recordGroups(records) {
      for (const record of records) {
        node.records.set(record.groupId, record);
        node.departed.delete(record.groupId);
      }
    },
    async forgetGroups(groupIds) {
      for (const groupId of groupIds) {
        node.records.delete(groupId);
        node.departed.add(groupId);
      }
    },
  };
}

function virtualTimers(scheduler: Scheduler, alive: () => boolean): LoopTimers {
  return {
    now: () => scheduler.now(),
    // A crashed incarnation's loops never wake again.
    sleep: (ms) => new Promise<void>((resolve) => scheduler.after(ms, () => alive() && resolve())),
  };
}

function registerFactory(parts: NodeParts, nodeId: NodeId): StateMachineFactory {
  return (groupId): RegisterMachine => {
    let log = parts.applied.get(groupId);
    if (log === undefined) parts.applied.set(groupId, (log = { byIndex: new Map(), indexOf: new Map() }));
    const where = `node ${nodeId} group ${groupId}`;
    const checked = log;
    return createRegisterMachine({
      onApplied(entry, digest, write) {
        parts.env.count("commandsApplied");
        const seen = checked.byIndex.get(entry.index);
        if (seen === undefined) checked.byIndex.set(entry.index, { requestId: write.requestId, digest });
        else if (seen.requestId !== write.requestId || seen.digest !== digest) {
          parts.env.violation(`${where}: index ${entry.index} applied ${write.requestId} ` +
            `(digest ${digest}), another replica applied ${seen.requestId} (digest ${seen.digest})`);
        }
        const at = checked.indexOf.get(write.requestId);
        if (at === undefined) checked.indexOf.set(write.requestId, entry.index);
        else if (at !== entry.index) {
          parts.env.violation(`${where}: request ${write.requestId} applied at ${at} and ${entry.index}`);
        }
      },
      onRestored: (index) => parts.env.trace(`restored g${groupId} on ${nodeId} at ${index}`),
      violation: (message) => parts.env.violation(`${where}: ${message}`),
    });
  };
}

function simLogger(env: ClusterWorldEnvironment, nodeId: NodeId, alive: () => boolean): Logger {
  const text = (message: string, fields: object | undefined): string =>
    `${message}${fields === undefined ? "" : ` ${JSON.stringify(fields)}`}`;
  return {
    debug: () => {},
    info: (message, fields) => {
      if (alive()) env.trace(`info ${nodeId} ${text(message, fields)}`);
    },
    warn(message, fields) {
      env.count("warnings");
      if (message === "refused a call of a deposed meta controller") env.count("fenceRefusals");
      if (alive()) env.trace(`warn ${nodeId} ${text(message, fields)}`);
    },
    error(message, fields) {
      if (alive()) env.violation(`node ${nodeId} logged an error: ${text(message, fields)}`);
    },
  };
}

function startNode(parts: NodeParts, node: ClusterSimNode): void {
  const { env } = parts;
  if (node.running !== undefined) throw new Error(`node ${node.id} is already running`);
  const incarnation = ++node.incarnation;
  const alive = (): boolean => node.running?.incarnation === incarnation;
  const disk = openDisk(node.disk, {
    now: () => env.scheduler.now(),
    at: (time, run, label) => env.scheduler.at(time, run, label),
    fsyncLatency: () => env.fsyncLatency(),
    observer: { onEntriesDurable: () => {}, onHardStateDurable: () => {}, onSnapshotFileDurable: () => {} },
  });
  const logger = simLogger(env, node.id, alive);
  const host = new NodeHost({ ...env.hostConfig, nodeId: node.id }, {
    logStore: disk.logStore,
    snapshotStore: disk.snapshotStore,
    transport: createHostTransport(parts.network, node.id, incarnation),
    clock: createNodeClock(env.scheduler, alive),
    random: createSeededRandom(env.random.nextInt(0x1_0000_0000)),
    logger,
    // The meta machine stamps its commands with the proposer's clock.
    wallClockMs: () => env.scheduler.now(),
    yieldToEventLoop: () => new Promise<void>((resolve) => env.scheduler.after(0, () => alive() && resolve())),
  });
  let running: RunningNode | undefined;
  const metaFactory: StateMachineFactory = (groupId) => {
    const meta = createMetaStateMachine({ partitionId: groupId, defaultReplicationFactor: 3 });
    if (running !== undefined) running.meta = meta;
    return meta.machine;
  };
  const types = new Map<string, StateMachineFactory>([
    [registerType, registerFactory(parts, node.id)],
    [metaStateMachineType, metaFactory],
  ]);
  const launcher = createGroupLauncher({ nodeId: node.id, host, dataDirectory: simDataDirectory(node), types });
  const addressOf = (id: number): string => simAddress(id);
  const agent: ServiceImpl<typeof ClusterAgentService> = createClusterAgentServiceImpl({
    host, launcher, addressOf, logger,
    onHeartbeat: (id, address) => running?.loop?.onHeartbeat(id, address) ?? { accepted: false },
  });
  const nodeService = createNodeServiceImpl({
    nodeId: node.id, host, launcher, gate: createRequestGate(), addressOf, uptimeMs: () => 0,
  });
  running = {
    incarnation, host, launcher, meta: undefined, loop: undefined, crashDisk: () => disk.crash(),
    services: { incarnation, agent, node: nodeService }, crashListeners: [],
  };
  node.running = running;
  host.start();
  void bootNode(parts, node, running, alive, logger);
}

/** What node-process and cluster-runtime do at boot: reopen recorded groups, meta group, loops. */
async function bootNode(
  parts: NodeParts,
  node: ClusterSimNode,
  running: RunningNode,
  alive: () => boolean,
  logger: Logger,
): Promise<void> {
  const { env } = parts;
  const timers = virtualTimers(env.scheduler, alive);
  const calls = parts.callsFrom(node.id);
  const records = [...node.records.values()];
  const isMetaVoter = env.metaVoters.includes(node.id);
  if (isMetaVoter && !node.records.has(metaGroupId)) {
    records.push({ groupId: metaGroupId, voters: env.metaVoters, stateMachine: metaStateMachineType, join: false });
  }
  try {
    await running.launcher.startGroups(records);
  } catch (error) {
    if (alive()) env.violation(`node ${node.id}: boot: ${String(error)}`);
    return;
  }
  if (!alive()) return;
  env.trace(`booted ${node.id} with ${records.map((record) => record.groupId).join(",")}`);
  const { settings } = env;
  if (isMetaVoter) {
    const meta = running.meta;
    if (meta === undefined) throw new RangeError(`node ${node.id}: the meta group started without its machine`);
    const host = running.host;
    const environment = createMetaControllerEnvironment({
      host, meta, peers: calls, callTimeoutMs: settings.callTimeoutMs, logger,
    });
    running.loop = startControllerLoop({
      host, meta, environment, settings, addressOf: simAddress, logger, timers,
    });
  }
  startNodeAgent({
    nodeId: node.id,
    address: simAddress(node.id),
    seeds: env.metaVoters.map(simAddress),
    peers: calls,
    intervalMs: settings.heartbeatIntervalMs,
    callTimeoutMs: settings.callTimeoutMs,
    learnAddress: () => {},
    logger,
    timers,
  });
}

function crashNode(
  env: ClusterWorldEnvironment,
  nodes: ReadonlyMap<NodeId, ClusterSimNode>,
  node: ClusterSimNode,
): void {
  const running = node.running;
  if (running === undefined) return;
  env.count("unsyncedWritesLost", running.crashDisk());
  node.running = undefined;
  for (const listener of running.crashListeners) listener();
  // The survivors' streams from the crashed node break a little later.
  for (const other of nodes.values()) {
    const survivor = other.running;
    if (other.id === node.id || survivor === undefined) continue;
    if (env.network.decide(node.id, other.id).kind === "dropped") continue;
    env.scheduler.after(env.random.nextInt(env.tickMs), () => {
      if (other.running === survivor) survivor.host.onPeerDisconnected(node.id);
    });
  }
}

function leaderOf(
  nodes: ReadonlyMap<NodeId, ClusterSimNode>,
  groupId: number,
): { nodeId: NodeId; host: NodeHost } | undefined {
  let best: { nodeId: NodeId; host: NodeHost; term: number } | undefined;
  for (const node of nodes.values()) {
    const host = node.running?.host;
    if (host === undefined || !host.groupIds().includes(groupId)) continue;
    const status = host.status(groupId);
    if (status.role !== Role.Leader) continue;
    if (best === undefined || status.term > best.term) best = { nodeId: node.id, host, term: status.term };
  }
  return best === undefined ? undefined : { nodeId: best.nodeId, host: best.host };
}
