import type { NodeHost, NodeHostConfig } from "../../../framework/host/index.js";
import type { ConfChange, NodeId, RandomSource } from "../../../framework/raft/index.js";
import {
  AssertionError,
  ConfChangeType,
  createSeededRandom,
} from "../../../framework/raft/index.js";
import type { FaultMix, FaultMixName } from "../fault-mix.js";
import { faultMixes } from "../fault-mix.js";
import { createHistoryRecorder } from "../history.js";
import type { Operation } from "../history.js";
import { checkLinearizability } from "../linearizability.js";
import { createSimulatedNetwork, reliableNetwork } from "../network.js";
import { createTrace } from "../trace.js";
import type { ClientAccess, ClientMode, HostClients } from "./host-clients.js";
import { createHostClients } from "./host-clients.js";
import type { HostNemesisCounter, HostNemesisTarget } from "./host-nemesis.js";
import { runHostNemesis } from "./host-nemesis.js";
import { describeLiveness, groupsConverged } from "./liveness.js";
import { createScheduler, settle } from "./scheduler.js";
import type { Scheduler } from "./scheduler.js";
import type { World, WorldCounter } from "./host-world.js";
import { commandAt, createWorld } from "./host-world.js";

/**
 * NodeHosts inside the deterministic simulator: 3–5 nodes, each a NodeHost
 * hosting a replica of many groups (each group on 3 of the nodes at first),
 * over simulated disks (unsynced writes lost on crash), the simulated
 * network and a virtual clock, all driven by one seed. A safety phase under
 * the seed's fault mix (crashes and restarts of whole nodes, partitions,
 * message loss, duplication and reordering, membership changes with joining
 * replicas, leadership transfers, quiescence in half the runs) checks each
 * group's invariants after every event; a liveness phase (faults stop,
 * everyone restarts, the network heals) requires a leader per group, a write
 * by every client, a linearizable read of every key and every member caught
 * up, within a bound. The client history is then checked for
 * linearizability and every acknowledged write for its place in the log.
 */
export interface HostSimulationOptions {
  readonly seed: number;
  /** 3–5; drawn from the seed when absent. */
  readonly nodes?: number;
  /** Groups on the nodes; drawn (5–12) when absent. */
  readonly groups?: number;
  readonly mix?: HostFaultMixName;
  /** Quiescence of idle groups; on in every other block of seeds when absent. */
  readonly quiesce?: boolean;
  /** Client ticks (tickMs each) of the fault phase. */
  readonly safetyTicks?: number;
  readonly livenessTicks?: number;
  readonly traceSink?: (line: string) => void;
  /**
   * framework/storage's LogStore and SnapshotStore (via createDurableStores)
   * over a simulated file system, instead of the modelled disk; drawn when absent.
   */
  readonly frameworkStores?: boolean;
  /** State machines keep their state on the simulated disk; drawn from the seed when absent. */
  readonly durableMachines?: boolean;
  /** Disks acknowledge writes before fsync: a deliberately broken run, to test the checks. */
  readonly lyingDisks?: boolean;
}

/** The fault mixes of test/sim that apply to whole hosts (pauses and campaigns are core-only). */
export const hostFaultMixNames = [
  "calm",
  "lossy",
  "partitions",
  "crashes",
  "membership",
  "chaos",
] as const;
export type HostFaultMixName = (typeof hostFaultMixNames)[number] & FaultMixName;

export function isHostFaultMixName(name: string): name is HostFaultMixName {
  return (hostFaultMixNames as readonly string[]).includes(name);
}

export type HostSimulationCounters = Record<string, number>;

export interface HostSimulationResult {
  readonly seed: number;
  readonly nodes: number;
  readonly groups: number;
  readonly mix: HostFaultMixName;
  readonly quiesce: boolean;
  readonly durableMachines: boolean;
  readonly frameworkStores: boolean;
  readonly ticks: number;
  readonly steps: number;
  readonly traceHash: string;
  readonly violations: readonly string[];
  readonly counters: HostSimulationCounters;
  /** The client history (the linearizability checker's input). */
  readonly history: readonly Operation[];
  readonly traceTail: readonly string[];
}

export const tickMs = 10;
const electionTicks = 10;

interface RunSettings {
  readonly nodeIds: readonly NodeId[];
  readonly groupVoters: ReadonlyMap<number, readonly NodeId[]>;
  readonly mix: FaultMix & { readonly name: HostFaultMixName };
  readonly quiesce: boolean;
  readonly durableMachines: boolean;
  readonly frameworkStores: boolean;
  readonly safetyTicks: number;
  readonly livenessTicks: number;
  readonly hostConfig: Omit<NodeHostConfig, "nodeId">;
}

export async function runHostSimulation(
  options: HostSimulationOptions,
): Promise<HostSimulationResult> {
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) {
    throw new RangeError(`host simulation seed = ${options.seed}, allowed a non-negative integer`);
  }
  if (
    options.nodes !== undefined &&
    !(Number.isInteger(options.nodes) && options.nodes >= 3 && options.nodes <= 5)
  ) {
    throw new RangeError(`host simulation nodes = ${options.nodes}, allowed 3, 4 or 5`);
  }
  if (
    options.groups !== undefined &&
    !(Number.isInteger(options.groups) && options.groups >= 1 && options.groups <= 100)
  ) {
    throw new RangeError(
      `host simulation groups = ${options.groups}, allowed an integer in [1, 100]`,
    );
  }
  const random = createSeededRandom(options.seed);
  return new HostRun(options, random, drawSettings(options, random)).run();
}

function drawSettings(options: HostSimulationOptions, random: RandomSource): RunSettings {
  const mixName = options.mix ?? hostFaultMixNames[options.seed % hostFaultMixNames.length]!;
  const nodeCount = options.nodes ?? 3 + random.nextInt(3);
  const groupCount = options.groups ?? 5 + random.nextInt(8);
  const nodeIds = Array.from({ length: nodeCount }, (_, index) => index + 1);
  const groupVoters = new Map<number, NodeId[]>();
  for (let groupId = 1; groupId <= groupCount; groupId++) {
    const pool = [...nodeIds];
    const voters: NodeId[] = [];
    while (voters.length < 3) voters.push(pool.splice(random.nextInt(pool.length), 1)[0]!);
    groupVoters.set(
      groupId,
      voters.sort((a, b) => a - b),
    );
  }
  const quiesce = options.quiesce ?? Math.floor(options.seed / hostFaultMixNames.length) % 2 === 0;
  return {
    nodeIds,
    groupVoters,
    mix: { ...faultMixes[mixName], name: mixName },
    quiesce,
    durableMachines: options.durableMachines ?? random.nextInt(2) === 0,
    frameworkStores:
      options.frameworkStores ?? (options.lyingDisks !== true && random.nextInt(2) === 0),
    safetyTicks: options.safetyTicks ?? 300,
    livenessTicks: options.livenessTicks ?? 60 * electionTicks,
    hostConfig: {
      tickIntervalMs: tickMs,
      electionTicks,
      heartbeatTicks: 1 + random.nextInt(2),
      snapshotEntries: 4 + random.nextInt(30),
      compactionOverhead: random.nextInt(6),
      requestTimeoutMs: 30 * tickMs,
      maxSnapshotSends: 1 + random.nextInt(4),
      applyConcurrency: 1 + random.nextInt(4),
      quiesceAfterTicks: quiesce ? 3 + random.nextInt(15) : 0,
      raft: {
        preVote: random.nextInt(4) !== 0,
        checkQuorum: true,
        // Several Readies per group in flight (the host's default, 4), or one at a time.
        maxReadiesInFlight: [1, 2, 4, 4][random.nextInt(4)]!,
      },
    },
  };
}

class HostRun {
  private readonly trace;
  private readonly scheduler: Scheduler;
  private readonly network;
  private readonly history = createHistoryRecorder();
  private readonly counters: HostSimulationCounters = {};
  private readonly violations: string[] = [];
  private readonly world: World;
  private readonly clients: HostClients;
  private readonly access: ClientAccess;
  private readonly nemesis: HostNemesisTarget;
  private phase: "safety" | "liveness" | "done" = "safety";
  private ticks = 0;
  private livenessDeadline = Infinity;

  constructor(
    private readonly options: HostSimulationOptions,
    private readonly random: RandomSource,
    private readonly settings: RunSettings,
  ) {
    this.trace = createTrace(options.traceSink);
    this.scheduler = createScheduler(this.trace);
    this.network = createSimulatedNetwork(random, settings.mix.network);
    this.world = createWorld(
      {
        scheduler: this.scheduler,
        random,
        network: this.network,
        tickMs,
        keepSnapshots: 2,
        lyingDisks: options.lyingDisks === true,
        durableMachines: settings.durableMachines,
        frameworkStores: settings.frameworkStores,
        hostConfig: settings.hostConfig,
        fsyncLatency: () => this.fsyncLatency(),
        violation: (message) => this.violation(message),
        trace: (line) => this.record(line),
        count: (what, by) => this.count(what, by),
        onCrash: (nodeId) => this.clients.onCrash(nodeId, this.access),
      },
      settings.nodeIds,
      settings.groupVoters,
    );
    this.clients = createHostClients(
      [...settings.groupVoters.keys()],
      { perGroup: 2, keysPerGroup: 2, timeoutMs: 30 * tickMs, activity: 0.2, readRatio: 0.4 },
      this.history,
    );
    this.access = {
      now: () => this.scheduler.now(),
      random,
      host: (nodeId, groupId) => this.world.host(nodeId, groupId),
      placements: (groupId) => this.world.placements(groupId),
      violation: (message) => this.violation(message),
      trace: (line) => this.record(line),
    };
    this.nemesis = this.nemesisTarget();
  }

  private record(line: string): void {
    this.trace.record(`${this.scheduler.now()} ${line}`);
  }

  private violation(message: string): void {
    this.violations.push(message);
    this.record(`VIOLATION ${message}`);
  }

  private count(what: WorldCounter | HostNemesisCounter | string, by = 1): void {
    this.counters[what] = (this.counters[what] ?? 0) + by;
  }

  private fsyncLatency(): number {
    if (this.phase !== "safety") return this.random.nextInt(2);
    const { fsyncTicksMin, fsyncTicksMax } = this.settings.mix;
    const ticks = fsyncTicksMin + this.random.nextInt(fsyncTicksMax - fsyncTicksMin + 1);
    return ticks * tickMs + this.random.nextInt(tickMs);
  }

  async run(): Promise<HostSimulationResult> {
    const { settings } = this;
    this.record(
      `seed ${this.options.seed} nodes ${settings.nodeIds.length} ` +
        `groups ${settings.groupVoters.size} ` +
        `mix ${settings.mix.name} quiesce ${settings.quiesce} ` +
        `durable-machines ${settings.durableMachines} ` +
        `framework-stores ${settings.frameworkStores} ` +
        `host ${JSON.stringify(settings.hostConfig)}`,
    );
    for (const [groupId, voters] of settings.groupVoters)
      this.record(`group ${groupId} on ${voters.join(",")}`);
    for (const nodeId of settings.nodeIds) this.world.start(nodeId);
    this.scheduler.at(tickMs / 2, () => this.onClientTick(), "tick");
    try {
      while (this.phase !== "done") {
        if (!this.scheduler.runNext()) {
          this.violation("the agenda ran dry");
          break;
        }
        await settle();
        if (this.violations.length > 0 || this.world.violations().length > 0) break;
      }
    } catch (error) {
      const kind = error instanceof AssertionError ? "core assertion" : "exception";
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.violation(`${kind} at ${this.scheduler.now()} ms: ${text}`);
    }
    return this.finish();
  }

  private onClientTick(): void {
    this.ticks++;
    if (this.phase === "safety" && this.ticks >= this.settings.safetyTicks) this.startLiveness();
    if (this.phase === "safety") runHostNemesis(this.nemesis);
    this.world.observeLeaders();
    const quiesced = this.world.quiescedGroups();
    this.count("quiescedGroupTicks", quiesced);
    this.counters["quiescedGroupsMax"] = Math.max(
      this.counters["quiescedGroupsMax"] ?? 0,
      quiesced,
    );
    this.clients.onTick(this.access, this.clientMode());
    if (this.phase === "liveness") this.checkLiveness();
    if (this.phase !== "done") this.scheduler.after(tickMs, () => this.onClientTick(), "tick");
  }

  private clientMode(): ClientMode {
    if (this.phase === "safety") return "mixed";
    if (!this.clients.everyClientWrote()) return "writes-only";
    return this.clients.finalReadsDone() ? "quiet" : "final-reads";
  }

  private startLiveness(): void {
    this.phase = "liveness";
    this.record("liveness: heal, restart every node, no more faults");
    this.network.heal();
    this.network.setFaults(reliableNetwork);
    for (const nodeId of this.settings.nodeIds)
      if (!this.world.isUp(nodeId)) this.world.start(nodeId);
    this.clients.resetWriteCounts();
    this.livenessDeadline = this.ticks + this.settings.livenessTicks;
  }

  private checkLiveness(): void {
    const done =
      this.clients.everyClientWrote() &&
      this.clients.finalReadsDone() &&
      this.clients.idle() &&
      groupsConverged(this.world);
    if (done) {
      this.count(
        "livenessTicks",
        this.ticks - (this.livenessDeadline - this.settings.livenessTicks),
      );
      this.phase = "done";
      return;
    }
    if (this.ticks < this.livenessDeadline) return;
    this.violation(
      `liveness: not reached within ${this.settings.livenessTicks} ticks of healing ` +
        `(every client wrote: ${this.clients.everyClientWrote()}, ` +
        `final reads done: ${this.clients.finalReadsDone()}, ` +
        `clients idle: ${this.clients.idle()}); ` +
        describeLiveness(this.world),
    );
    this.phase = "done";
  }

  private nemesisTarget(): HostNemesisTarget {
    const world = this.world;
    return {
      random: this.random,
      network: this.network,
      mix: this.settings.mix,
      nodeIds: this.settings.nodeIds,
      groupIds: [...this.settings.groupVoters.keys()],
      maxDown: this.settings.nodeIds.length >= 5 ? 2 : 1,
      isUp: (nodeId) => world.isUp(nodeId),
      crash: (nodeId) => world.crash(nodeId),
      restart: (nodeId) => world.start(nodeId),
      leader: (groupId) => world.leader(groupId),
      changing: (groupId) => world.groups.get(groupId)?.changing ?? false,
      removed: (groupId) => world.groups.get(groupId)?.removed ?? new Set(),
      proposeChange: (groupId, leader, change, target) =>
        this.proposeChange(groupId, leader, change, target),
      trace: (line) => this.record(line),
      count: (what) => this.count(what),
    };
  }

  private proposeChange(
    groupId: number,
    leader: NodeHost,
    change: ConfChange,
    target: NodeId,
  ): void {
    const group = this.world.groups.get(groupId)!;
    const adding = change.changes.some(
      (single) => single.nodeId === target && single.type !== ConfChangeType.RemoveNode,
    );
    let result: Promise<unknown>;
    try {
      result = leader.proposeConfChange(groupId, change, { timeoutMs: 30 * tickMs });
    } catch (error) {
      this.record(`conf-change g${groupId} refused: ${String(error)}`);
      this.count("confChangesRefused");
      return;
    }
    group.changing = true;
    this.count("confChangesProposed");
    if (adding) this.world.place(groupId, target, true);
    else group.removed.add(target);
    result.then(
      () => {
        group.changing = false;
        this.count("confChangesApplied");
        this.record(`conf-change g${groupId} applied`);
      },
      (error: unknown) => {
        group.changing = false;
        this.record(`conf-change g${groupId} failed: ${String(error)}`);
      },
    );
  }

  private finish(): HostSimulationResult {
    const all = [...this.world.violations(), ...this.violations];
    if (all.length === 0) all.push(...this.checkAcknowledged());
    if (all.length === 0) {
      const linearizability = checkLinearizability(this.history.operations());
      for (const violation of linearizability.violations) {
        all.push(
          `linearizability: key ${violation.key}: ${violation.reason} ` +
            `(${violation.operations.length} operations)`,
        );
      }
    }
    Object.assign(this.counters, this.clients.stats());
    this.counters["steps"] = this.scheduler.steps();
    this.record(`end violations ${all.length}`);
    return {
      seed: this.options.seed,
      nodes: this.settings.nodeIds.length,
      groups: this.settings.groupVoters.size,
      mix: this.settings.mix.name,
      quiesce: this.settings.quiesce,
      durableMachines: this.settings.durableMachines,
      frameworkStores: this.settings.frameworkStores,
      ticks: this.ticks,
      steps: this.scheduler.steps(),
      traceHash: this.trace.digest(),
      violations: all,
      counters: this.counters,
      history: this.history.operations(),
      traceTail: this.trace.tail(),
    };
  }

  /** Every acknowledged write sits in the log where its result said, applied by every replica. */
  private checkAcknowledged(): string[] {
    const found: string[] = [];
    for (const write of this.clients.acked()) {
      const applied = this.world.groups.get(write.groupId)?.appliedRequests.get(commandAt(write.index, write.position));
      if (applied !== write.requestId) {
        found.push(
          `acknowledged write ${write.requestId} of group ${write.groupId} ` +
            `at ${write.index}.${write.position}/${write.term}: ` +
            `the log holds ${applied ?? "nothing applied"} there`,
        );
      }
    }
    return found;
  }
}
