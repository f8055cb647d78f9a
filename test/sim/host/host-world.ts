import { NodeHost } from "../../../framework/host/index.js";
import type { NodeHostConfig } from "../../../framework/host/index.js";
import type { NodeId, RandomSource } from "../../../framework/raft/index.js";
import { createSeededRandom, MessageType, Role } from "../../../framework/raft/index.js";
import type { GroupMessage, Logger } from "../../../framework/transport/index.js";
import type { SafetyChecker } from "../safety-checker.js";
import { createSafetyChecker } from "../safety-checker.js";
import { durableLog } from "../sim-node.js";
import type { SimulatedNetwork } from "../network.js";
import type { HostNetworkEnvironment, NetworkCounter } from "./host-network.js";
import { createHostTransport } from "./host-network.js";
import type { ApplyObserver, RegisterState } from "./register-machine.js";
import { createRegisterMachine, emptyRegisterState } from "./register-machine.js";
import type { Scheduler } from "./scheduler.js";
import { createNodeClock } from "./scheduler.js";
import type { DiskHandle, DiskObserver, SimDisk } from "./sim-disk.js";
import { createSimDisk, openDisk } from "./sim-disk.js";

/**
 * The simulated nodes and groups of one run: each node is a NodeHost over
 * its simulated disk, the simulated network and a virtual clock, hosting a
 * replica of many groups. A crash drops the NodeHost with every write its
 * disk had not synced; a restart builds a new NodeHost over what survived
 * and starts every group placed on the node again (startGroup restarts from
 * the log, or bootstraps again what never became durable).
 */
export interface WorldEnvironment {
  readonly scheduler: Scheduler;
  readonly random: RandomSource;
  readonly network: SimulatedNetwork;
  readonly tickMs: number;
  readonly keepSnapshots: number;
  /** The NodeHost settings shared by every node (nodeId aside). */
  readonly hostConfig: Omit<NodeHostConfig, "nodeId">;
  fsyncLatency(): number;
  /** Test of the checks themselves: disks acknowledge writes before they are durable. */
  readonly lyingDisks: boolean;
  /** State machines keep their state on the node's disk (open() answers their index). */
  readonly durableMachines: boolean;
  violation(message: string): void;
  trace(line: string): void;
  count(what: WorldCounter, by?: number): void;
  /** The node crashed (after its host was dropped). */
  onCrash(nodeId: NodeId): void;
}

export type WorldCounter =
  | NetworkCounter
  | "diskWrites"
  | "unsyncedWritesLost"
  | "entriesPersisted"
  | "commandsApplied"
  | "snapshotFiles"
  | "snapshotsRestored"
  | "groupStarts"
  | "joins"
  | "hostWarnings";

export interface SimGroup {
  readonly id: number;
  readonly initialVoters: readonly NodeId[];
  readonly safety: SafetyChecker;
  readonly removed: Set<NodeId>;
  changing: boolean;
  /** Request id of the command applied at each index (first replica to apply it). */
  readonly appliedRequests: Map<number, string>;
}

interface Running {
  readonly incarnation: number;
  readonly host: NodeHost;
  readonly disk: DiskHandle;
  readonly started: Set<number>;
  /** Serializes startGroup calls on this host. */
  starting: Promise<void>;
}

export interface SimHostNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  incarnation: number;
  running: Running | undefined;
  /** Groups this node hosts a replica of; join: it was added to a running group. */
  readonly placements: Map<number, { readonly join: boolean }>;
  /** The term each group is led by this node in, as last polled. */
  readonly leaderTerms: Map<number, number>;
  crashListeners: { readonly incarnation: number; readonly callback: () => void }[];
}

export interface World {
  readonly nodes: ReadonlyMap<NodeId, SimHostNode>;
  readonly groups: ReadonlyMap<number, SimGroup>;
  start(nodeId: NodeId): void;
  crash(nodeId: NodeId): void;
  isUp(nodeId: NodeId): boolean;
  /** Places a replica of the group on the node; starts it if the node runs. */
  place(groupId: number, nodeId: NodeId, join: boolean): void;
  placements(groupId: number): NodeId[];
  /** The running host with the group started, if any. */
  host(
    nodeId: NodeId,
    groupId: number,
  ): { readonly host: NodeHost; readonly incarnation: number } | undefined;
  leader(groupId: number): { readonly nodeId: NodeId; readonly host: NodeHost } | undefined;
  /** Polls every replica's role for the election and leader completeness checks. */
  observeLeaders(): void;
  quiescedGroups(): number;
  violations(): string[];
}

export function createWorld(
  env: WorldEnvironment,
  nodeIds: readonly NodeId[],
  groupVoters: ReadonlyMap<number, readonly NodeId[]>,
): World {
  const nodes = new Map<NodeId, SimHostNode>();
  for (const id of nodeIds) {
    nodes.set(id, {
      id,
      disk: createSimDisk(id, env.keepSnapshots),
      incarnation: 0,
      running: undefined,
      placements: new Map(),
      leaderTerms: new Map(),
      crashListeners: [],
    });
  }
  const groups = new Map<number, SimGroup>();
  for (const [id, voters] of groupVoters) {
    groups.set(id, {
      id,
      initialVoters: voters,
      safety: createSafetyChecker(),
      removed: new Set(),
      changing: false,
      appliedRequests: new Map(),
    });
    for (const nodeId of voters) nodeOf(nodes, nodeId).placements.set(id, { join: false });
  }
  const network = networkEnvironment(env, nodes, groups);
  const world: World = {
    nodes,
    groups,
    start: (nodeId) => startNode(env, network, groups, nodeOf(nodes, nodeId)),
    crash: (nodeId) => crashNode(env, groups, nodeOf(nodes, nodeId)),
    isUp: (nodeId) => nodeOf(nodes, nodeId).running !== undefined,
    place(groupId, nodeId, join) {
      const node = nodeOf(nodes, nodeId);
      if (node.placements.has(groupId)) return;
      node.placements.set(groupId, { join });
      if (node.running !== undefined) queueStart(env, groups, node, node.running, groupId);
    },
    placements: (groupId) =>
      [...nodes.values()].filter((node) => node.placements.has(groupId)).map((node) => node.id),
    host(nodeId, groupId) {
      const running = nodes.get(nodeId)?.running;
      if (running === undefined || !running.started.has(groupId)) return undefined;
      return { host: running.host, incarnation: running.incarnation };
    },
    leader: (groupId) => findLeader(nodes, groupId),
    observeLeaders: () => observeLeaders(nodes, groups),
    quiescedGroups() {
      let count = 0;
      for (const node of nodes.values()) count += node.running?.host.quiescedGroupCount() ?? 0;
      return count;
    },
    violations() {
      const found: string[] = [];
      for (const group of groups.values()) {
        for (const violation of group.safety.violations())
          found.push(`group ${group.id}: ${violation}`);
      }
      return found;
    },
  };
  return world;
}

function nodeOf(nodes: ReadonlyMap<NodeId, SimHostNode>, nodeId: NodeId): SimHostNode {
  const node = nodes.get(nodeId);
  if (node === undefined)
    throw new RangeError(`node ${nodeId}, allowed one of ${[...nodes.keys()].join(",")}`);
  return node;
}

function groupOf(groups: ReadonlyMap<number, SimGroup>, groupId: number): SimGroup {
  const group = groups.get(groupId);
  if (group === undefined) throw new RangeError(`group ${groupId} is not simulated`);
  return group;
}

function networkEnvironment(
  env: WorldEnvironment,
  nodes: ReadonlyMap<NodeId, SimHostNode>,
  groups: ReadonlyMap<number, SimGroup>,
): HostNetworkEnvironment {
  return {
    scheduler: env.scheduler,
    network: env.network,
    random: env.random,
    tickMs: env.tickMs,
    handler(nodeId) {
      const running = nodes.get(nodeId)?.running;
      return running === undefined
        ? undefined
        : { incarnation: running.incarnation, handler: running.host };
    },
    observeSent: (from, batch) => observeSent(groups, from, batch),
    onCrash(nodeId, incarnation, callback) {
      nodeOf(nodes, nodeId).crashListeners.push({ incarnation, callback });
    },
    count: (what) => env.count(what),
  };
}

/** Only a leader sends appends, heartbeats and snapshots: each names its term. */
function observeSent(
  groups: ReadonlyMap<number, SimGroup>,
  from: NodeId,
  batch: readonly GroupMessage[],
): void {
  for (const { groupId, message } of batch) {
    if (groupId === 0) continue;
    const type = message.type;
    if (
      type === MessageType.Append ||
      type === MessageType.Heartbeat ||
      type === MessageType.Snapshot
    ) {
      groups.get(groupId)?.safety.observeLeader(from, message.term);
    }
  }
}

function startNode(
  env: WorldEnvironment,
  network: HostNetworkEnvironment,
  groups: ReadonlyMap<number, SimGroup>,
  node: SimHostNode,
): void {
  if (node.running !== undefined) throw new Error(`node ${node.id} is already running`);
  const incarnation = ++node.incarnation;
  const alive = (): boolean => node.running?.incarnation === incarnation;
  const disk = openDisk(node.disk, {
    now: () => env.scheduler.now(),
    at: (time, run, label) => env.scheduler.at(time, run, label),
    fsyncLatency: () => {
      env.count("diskWrites");
      return env.fsyncLatency();
    },
    observer: diskObserver(env, groups, node.id),
    acknowledgeBeforeSync: env.lyingDisks,
  });
  const host = new NodeHost(
    { ...env.hostConfig, nodeId: node.id },
    {
      logStore: disk.logStore,
      snapshotStore: disk.snapshotStore,
      transport: createHostTransport(network, node.id, incarnation),
      clock: createNodeClock(env.scheduler, alive),
      random: createSeededRandom(env.random.nextInt(0x1_0000_0000)),
      logger: simLogger(env, node.id, alive),
      // The loop's next iteration is an event of its own, so deliveries interleave.
      yieldToEventLoop: () =>
        new Promise<void>((resolve) => env.scheduler.after(0, () => alive() && resolve())),
    },
  );
  const running: Running = {
    incarnation,
    host,
    disk,
    started: new Set(),
    starting: Promise.resolve(),
  };
  node.running = running;
  host.start();
  for (const groupId of node.placements.keys()) queueStart(env, groups, node, running, groupId);
}

function queueStart(
  env: WorldEnvironment,
  groups: ReadonlyMap<number, SimGroup>,
  node: SimHostNode,
  running: Running,
  groupId: number,
): void {
  const group = groupOf(groups, groupId);
  const join = node.placements.get(groupId)?.join ?? false;
  const start = async (): Promise<void> => {
    if (node.running !== running) return;
    const machine = createRegisterMachine(
      applyObserver(env, group, node.id),
      durableState(env, node, groupId),
    );
    try {
      await running.host.startGroup(groupId, machine, { voters: group.initialVoters }, { join });
    } catch (error) {
      if (node.running === running)
        env.violation(`node ${node.id}: startGroup ${groupId}: ${String(error)}`);
      return;
    }
    if (node.running !== running) return;
    running.started.add(groupId);
    env.count(join ? "joins" : "groupStarts");
    env.trace(`started g${groupId} on ${node.id}${join ? " (join)" : ""}`);
  };
  running.starting = running.starting.then(start);
}

function durableState(
  env: WorldEnvironment,
  node: SimHostNode,
  groupId: number,
): RegisterState | undefined {
  if (!env.durableMachines) return undefined;
  let state = node.disk.machines.get(groupId);
  if (state === undefined) node.disk.machines.set(groupId, (state = emptyRegisterState()));
  return state;
}

function crashNode(
  env: WorldEnvironment,
  groups: ReadonlyMap<number, SimGroup>,
  node: SimHostNode,
): void {
  const running = node.running;
  if (running === undefined) return;
  env.count("unsyncedWritesLost", running.disk.crash());
  node.running = undefined;
  const listeners = node.crashListeners;
  node.crashListeners = [];
  for (const listener of listeners)
    if (listener.incarnation === running.incarnation) listener.callback();
  for (const group of groups.values()) group.safety.forgetLeader(node.id);
  node.leaderTerms.clear();
  env.onCrash(node.id);
}

function diskObserver(
  env: WorldEnvironment,
  groups: ReadonlyMap<number, SimGroup>,
  nodeId: NodeId,
): DiskObserver {
  return {
    onEntriesDurable(groupId, entries, log) {
      groupOf(groups, groupId).safety.observePersistedEntries(nodeId, entries, durableLog(log));
      env.count("entriesPersisted", entries.length);
    },
    onHardStateDurable(groupId, previous, next, log) {
      groupOf(groups, groupId).safety.observePersistedHardState(
        nodeId,
        previous,
        next,
        durableLog(log),
      );
    },
    onSnapshotFileDurable(_groupId, metadata) {
      if (metadata.index > 1) env.count("snapshotFiles");
    },
  };
}

function applyObserver(env: WorldEnvironment, group: SimGroup, nodeId: NodeId): ApplyObserver {
  return {
    onApplied(entry, digestAfter, write) {
      group.safety.observeApplied(nodeId, entry, digestAfter);
      if (!group.appliedRequests.has(entry.index))
        group.appliedRequests.set(entry.index, write.requestId);
      env.count("commandsApplied");
    },
    onRestored(index, lastCommandIndex, lastCommandTerm, digest) {
      env.count("snapshotsRestored");
      env.trace(`restored g${group.id} on ${nodeId} at ${index} (commands to ${lastCommandIndex})`);
      if (lastCommandIndex > 0) {
        group.safety.observeSnapshotRestored(nodeId, lastCommandIndex, lastCommandTerm, digest);
      }
    },
    violation: (message) => env.violation(`node ${nodeId} group ${group.id}: ${message}`),
  };
}

/** Warnings go to the trace; an error log line means the host gave up on a group or itself. */
function simLogger(env: WorldEnvironment, nodeId: NodeId, alive: () => boolean): Logger {
  const describe = (message: string, fields: object | undefined): string =>
    `${message}${fields === undefined ? "" : ` ${JSON.stringify(fields)}`}`;
  return {
    debug: () => {},
    info: () => {},
    warn(message, fields) {
      env.count("hostWarnings");
      env.trace(`warn ${nodeId} ${describe(message, fields)}`);
    },
    error(message, fields) {
      if (alive()) env.violation(`node ${nodeId} logged an error: ${describe(message, fields)}`);
    },
  };
}

function findLeader(
  nodes: ReadonlyMap<NodeId, SimHostNode>,
  groupId: number,
): { nodeId: NodeId; host: NodeHost } | undefined {
  let best: { nodeId: NodeId; host: NodeHost; term: number } | undefined;
  for (const node of nodes.values()) {
    const running = node.running;
    if (running === undefined || !running.started.has(groupId)) continue;
    const status = running.host.status(groupId);
    if (status.role !== Role.Leader) continue;
    if (best === undefined || status.term > best.term) {
      best = { nodeId: node.id, host: running.host, term: status.term };
    }
  }
  return best === undefined ? undefined : { nodeId: best.nodeId, host: best.host };
}

function observeLeaders(
  nodes: ReadonlyMap<NodeId, SimHostNode>,
  groups: ReadonlyMap<number, SimGroup>,
): void {
  for (const node of nodes.values()) {
    const running = node.running;
    if (running === undefined) continue;
    for (const groupId of running.started) {
      const group = groupOf(groups, groupId);
      const status = running.host.status(groupId);
      if (status.role === Role.Leader) {
        group.safety.observeLeader(node.id, status.term);
        if (node.leaderTerms.get(groupId) !== status.term) {
          node.leaderTerms.set(groupId, status.term);
          const log = node.disk.logs.get(groupId);
          if (log !== undefined) {
            group.safety.observeNewLeaderLog(
              node.id,
              status.term,
              status.lastIndex,
              durableLog(log),
            );
          }
        }
      } else if (node.leaderTerms.delete(groupId)) {
        group.safety.forgetLeader(node.id);
      }
    }
  }
}
