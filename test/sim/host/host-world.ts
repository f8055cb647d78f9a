import { createDurableStores, NodeHost } from "../../../framework/host/index.js";
import type {
  HostLogStore,
  HostSnapshotStore,
  NodeHostConfig,
} from "../../../framework/host/index.js";
import type { HardState, NodeId, RandomSource } from "../../../framework/raft/index.js";
import { openLogStore, openSnapshotStore } from "../../../framework/storage/index.js";
import { createSeededRandom, MessageType, Role } from "../../../framework/raft/index.js";
import type { GroupMessage, Logger } from "../../../framework/transport/index.js";
import type { SafetyChecker } from "../safety-checker.js";
import { createSafetyChecker } from "../safety-checker.js";
import type { SimulatedNetwork } from "../network.js";
import type { HostNetworkEnvironment, NetworkCounter } from "./host-network.js";
import { createHostTransport } from "./host-network.js";
import type { ApplyObserver, RegisterState } from "./register-machine.js";
import { createRegisterMachine, emptyRegisterState } from "./register-machine.js";
import type { Scheduler } from "./scheduler.js";
import { createNodeClock } from "./scheduler.js";
import { observeLogStore, observeSnapshotStore, storageLogView } from "./observed-stores.js";
import type { DiskObserver, SimDisk } from "./sim-disk.js";
import { createSimDisk, openDisk } from "./sim-disk.js";
import type { SimFileSystemDisk } from "./sim-file-system.js";
import { createSimFileSystemDisk } from "./sim-file-system.js";

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
  /** framework/storage's stores over a simulated file system, instead of the modelled disk. */
  readonly frameworkStores: boolean;
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
  /** Commands applied at a position > 0 of their entry (they shared it with an earlier command). */
  | "packedCommands"
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
  /** Request id applied at each command's place, keyed by commandAt(index, position). */
  readonly appliedRequests: Map<string, string>;
}

interface Running {
  readonly incarnation: number;
  /** Undefined while the stores open (framework stores recover first). */
  host: NodeHost | undefined;
  stores:
    { readonly logStore: HostLogStore; readonly snapshotStore: HostSnapshotStore } | undefined;
  /** Loses what the stores had not synced; returns how many syncs were in flight. */
  crashStores: () => number;
  readonly started: Set<number>;
  /** Groups whose startGroup is queued or done. */
  readonly queued: Set<number>;
  /** Serializes opening the stores and startGroup calls on this host. */
  starting: Promise<void>;
}

export interface SimHostNode {
  readonly id: NodeId;
  readonly disk: SimDisk;
  /** For runs on framework/storage's stores: the node's file system. */
  readonly files: SimFileSystemDisk;
  /** The newest hard state each group made durable here, across restarts. */
  readonly hardStates: Map<number, HardState>;
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
      files: createSimFileSystemDisk(),
      hardStates: new Map(),
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
    crash: (nodeId) => {
      crashNode(env, groups, nodeOf(nodes, nodeId));
      reportDisconnected(env, nodes, nodeId);
    },
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
      const host = running?.host;
      if (running === undefined || host === undefined || !running.started.has(groupId)) {
        return undefined;
      }
      return { host, incarnation: running.incarnation };
    },
    leader: (groupId) => findLeader(nodes, groupId),
    observeLeaders: () => observeLeaders(nodes, groups),
    quiescedGroups() {
      let count = 0;
      for (const node of nodes.values()) count += node.running?.host?.quiescedGroupCount() ?? 0;
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
      return running?.host === undefined
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
  const running: Running = {
    incarnation: ++node.incarnation,
    host: undefined,
    stores: undefined,
    crashStores: () => 0,
    started: new Set(),
    queued: new Set(),
    starting: Promise.resolve(),
  };
  node.running = running;
  const observer = diskObserver(env, groups, node);
  if (env.frameworkStores) {
    running.starting = openFrameworkStores(env, node, running, observer).then(
      (stores) => {
        if (node.running === running) launchHost(env, network, groups, node, running, stores);
      },
      (error: unknown) => {
        if (node.running === running) env.violation(`node ${node.id}: stores: ${String(error)}`);
      },
    );
    return;
  }
  const disk = openDisk(node.disk, {
    now: () => env.scheduler.now(),
    at: (time, run, label) => env.scheduler.at(time, run, label),
    fsyncLatency: () => {
      env.count("diskWrites");
      return env.fsyncLatency();
    },
    observer,
    acknowledgeBeforeSync: env.lyingDisks,
  });
  running.crashStores = () => disk.crash();
  launchHost(env, network, groups, node, running, disk);
}

/** framework/storage's LogStore and SnapshotStore over the node's simulated file system. */
async function openFrameworkStores(
  env: WorldEnvironment,
  node: SimHostNode,
  running: Running,
  observer: DiskObserver,
): Promise<{ logStore: HostLogStore; snapshotStore: HostSnapshotStore }> {
  const files = node.files.open({
    random: env.random,
    // Half the incarnations' files have O_DSYNC writes (only their own bytes durable), half only fdatasync.
    durableWrites: env.random.nextInt(2) === 0,
    afterSync: (run: () => void, label: string) => {
      env.count("diskWrites");
      env.scheduler.after(env.fsyncLatency(), run, `${label} n${node.id}`);
    },
  });
  running.crashStores = () => files.crash();
  const fileSystem = files.fileSystem;
  const logStore = await openLogStore({ directory: "/log", fileSystem, segmentBytes: 16 * 1024 });
  const snapshotStore = await openSnapshotStore({ directory: "/snapshots", fileSystem });
  const stores = await createDurableStores(logStore, snapshotStore);
  return {
    logStore: observeLogStore(stores.logStore, observer),
    snapshotStore: observeSnapshotStore(stores.snapshotStore, observer),
  };
}

function launchHost(
  env: WorldEnvironment,
  network: HostNetworkEnvironment,
  groups: ReadonlyMap<number, SimGroup>,
  node: SimHostNode,
  running: Running,
  stores: { readonly logStore: HostLogStore; readonly snapshotStore: HostSnapshotStore },
): void {
  const alive = (): boolean => node.running === running;
  const host = new NodeHost(
    { ...env.hostConfig, nodeId: node.id },
    {
      logStore: stores.logStore,
      snapshotStore: stores.snapshotStore,
      transport: createHostTransport(network, node.id, running.incarnation),
      clock: createNodeClock(env.scheduler, alive),
      random: createSeededRandom(env.random.nextInt(0x1_0000_0000)),
      logger: simLogger(env, node.id, alive),
      // The loop's next iteration is an event of its own, so deliveries interleave.
      yieldToEventLoop: () =>
        new Promise<void>((resolve) => env.scheduler.after(0, () => alive() && resolve())),
    },
  );
  running.host = host;
  running.stores = stores;
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
  if (running.queued.has(groupId)) return;
  running.queued.add(groupId);
  const group = groupOf(groups, groupId);
  const join = node.placements.get(groupId)?.join ?? false;
  const start = async (): Promise<void> => {
    const host = running.host;
    if (node.running !== running || host === undefined) return;
    checkRecoveredHardState(env, node, running, groupId);
    const machine = createRegisterMachine(
      applyObserver(env, group, node.id),
      durableState(env, node, groupId),
      { packed: true }, // the hosts pack the proposals of one loop iteration (command-pack.ts)
    );
    try {
      await host.startGroup(groupId, machine, { voters: group.initialVoters }, { join });
    } catch (error) {
      if (node.running === running) {
        env.violation(`node ${node.id}: startGroup ${groupId}: ${String(error)}`);
      }
      return;
    }
    if (node.running !== running) return;
    running.started.add(groupId);
    env.count(join ? "joins" : "groupStarts");
    env.trace(`started g${groupId} on ${node.id}${join ? " (join)" : ""}`);
  };
  running.starting = running.starting.then(start);
}

/**
 * What the stores recovered holds at least the newest hard state they
 * acknowledged before the crash: the term never goes back, a vote cast in
 * that term stays, the commit never goes back.
 */
function checkRecoveredHardState(
  env: WorldEnvironment,
  node: SimHostNode,
  running: Running,
  groupId: number,
): void {
  const acknowledged = node.hardStates.get(groupId);
  const logStore = running.stores?.logStore;
  if (acknowledged === undefined || logStore === undefined) return;
  if (!logStore.groupIds().includes(groupId)) {
    env.violation(`node ${node.id}: group ${groupId}'s log is gone after a restart`);
    return;
  }
  const recovered = logStore.storage(groupId).initialState().hardState;
  const lostVote =
    recovered.term === acknowledged.term &&
    recovered.vote !== acknowledged.vote &&
    acknowledged.vote !== 0;
  if (recovered.term < acknowledged.term || lostVote || recovered.commit < acknowledged.commit) {
    env.violation(
      `node ${node.id} group ${groupId}: recovered hard state ${JSON.stringify(recovered)}, ` +
        `acknowledged durable before the crash ${JSON.stringify(acknowledged)}`,
    );
  }
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

/**
 * The survivors' streams from a crashed node break: each live node hears
 * TransportHandler.onPeerDisconnected a little later (or never, when a
 * partition already cut them apart), as the node's server would report it.
 */
function reportDisconnected(
  env: WorldEnvironment,
  nodes: ReadonlyMap<NodeId, SimHostNode>,
  crashed: NodeId,
): void {
  for (const other of nodes.values()) {
    const running = other.running;
    if (other.id === crashed || running?.host === undefined) continue;
    if (env.network.decide(crashed, other.id).kind === "dropped") continue;
    const incarnation = running.incarnation;
    env.scheduler.after(env.random.nextInt(env.tickMs), () => {
      if (other.running?.incarnation !== incarnation) return;
      other.running.host?.onPeerDisconnected(crashed);
    }, `disconnected ${crashed} at n${other.id}`);
  }
}

function crashNode(
  env: WorldEnvironment,
  groups: ReadonlyMap<number, SimGroup>,
  node: SimHostNode,
): void {
  const running = node.running;
  if (running === undefined) return;
  env.count("unsyncedWritesLost", running.crashStores());
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
  node: SimHostNode,
): DiskObserver {
  return {
    onEntriesDurable(groupId, entries, log) {
      groupOf(groups, groupId).safety.observePersistedEntries(node.id, entries, log);
      env.count("entriesPersisted", entries.length);
    },
    onHardStateDurable(groupId, previous, next, log) {
      // The newest acknowledged across restarts: a store that lost one shows here.
      const before = node.hardStates.get(groupId) ?? previous;
      node.hardStates.set(groupId, next);
      groupOf(groups, groupId).safety.observePersistedHardState(node.id, before, next, log);
    },
    onSnapshotFileDurable(_groupId, metadata) {
      if (metadata.index > 1) env.count("snapshotFiles");
    },
  };
}

/** Key of a command's place in the log: its entry's index and its position in that entry. */
export function commandAt(index: number, position: number): string {
  return `${index}.${position}`;
}

function applyObserver(env: WorldEnvironment, group: SimGroup, nodeId: NodeId): ApplyObserver {
  return {
    onApplied(entry, digestAfter, write, position) {
      group.safety.observeApplied(nodeId, entry, digestAfter);
      const at = commandAt(entry.index, position);
      if (!group.appliedRequests.has(at)) group.appliedRequests.set(at, write.requestId);
      if (position > 0) env.count("packedCommands");
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
    const host = node.running?.host;
    if (host === undefined || node.running?.started.has(groupId) !== true) continue;
    const status = host.status(groupId);
    if (status.role !== Role.Leader) continue;
    if (best === undefined || status.term > best.term) {
      best = { nodeId: node.id, host, term: status.term };
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
    const host = running?.host;
    const logStore = running?.stores?.logStore;
    if (running === undefined || host === undefined || logStore === undefined) continue;
    for (const groupId of running.started) {
      const group = groupOf(groups, groupId);
      const status = host.status(groupId);
      if (status.role === Role.Leader) {
        group.safety.observeLeader(node.id, status.term);
        if (node.leaderTerms.get(groupId) !== status.term) {
          node.leaderTerms.set(groupId, status.term);
          const log = storageLogView(logStore.storage(groupId));
          group.safety.observeNewLeaderLog(node.id, status.term, status.lastIndex, log);
        }
      } else if (node.leaderTerms.delete(groupId)) {
        group.safety.forgetLeader(node.id);
      }
    }
  }
}
