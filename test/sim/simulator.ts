import type { ConfState, Message, NodeId, RandomSource } from "../../framework/raft/index.js";
import {
  AssertionError,
  MessageType,
  ReadOnlyOption,
  createMemoryStorage,
  createSeededRandom,
} from "../../framework/raft/index.js";
import type { ClientStats, ClusterAccess } from "./clients.js";
import { createClients } from "./clients.js";
import { createEventQueue } from "./event-queue.js";
import type { FaultMix, FaultMixName } from "./fault-mix.js";
import { faultMixNames, faultMixes } from "./fault-mix.js";
import type { Operation } from "./history.js";
import { createHistoryRecorder } from "./history.js";
import { createKvStateMachine } from "./kv-state-machine.js";
import { checkLinearizability } from "./linearizability.js";
import { clusterConverged, currentLeader, describeNodes, runningStatuses } from "./cluster-view.js";
import type { NemesisCounter, NemesisTarget } from "./nemesis.js";
import { chance, runNemesis } from "./nemesis.js";
import { createSimulatedNetwork, reliableNetwork } from "./network.js";
import type { RaftCore } from "./raft-core.js";
import { raftCore } from "./raft-core.js";
import { createSafetyChecker } from "./safety-checker.js";
import type { HostCounter, HostEnvironment, SimNode } from "./sim-node.js";
import { afterInput, completeDiskWrite, crashNode, createSimNode, startNode } from "./sim-node.js";
import { isDemotedVoterStall } from "./known-stalls.js";
import type { TargetedCounter, TargetedNemesis } from "./targeted-nemesis.js";
import { createTargetedNemesis } from "./targeted-nemesis.js";
import { describeTargetedFaults, drawTargetedFaults, noTargetedFaults } from "./targeted-faults.js";
import { createTrace } from "./trace.js";
import type { RaftTuning } from "./raft-tuning.js";
import { describeTuning, drawTuning } from "./raft-tuning.js";

/**
 * The deterministic whole-cluster simulator (FoundationDB / TigerBeetle VOPR
 * style): one seed → one random source → every choice of the run. A run is
 * a safety phase (faults of the seed's mix, invariants checked after every
 * step) and then a liveness phase (network healed, every node restarted, no
 * more faults: a leader must emerge, every client must get a write through
 * and every member must catch up, within `livenessTicks`). At the end the
 * client history is checked for linearizability.
 */
export interface SimulationOptions {
  readonly seed: number;
  /** Voters at the start (3 or 5); the pool holds two more nodes that may join. */
  readonly nodes: number;
  readonly safetyTicks?: number;
  readonly livenessTicks?: number;
  readonly mix?: FaultMixName;
  readonly clients?: number;
  readonly core?: RaftCore;
  /** The core's limits and switches; drawn from the seed when absent. */
  readonly tuning?: RaftTuning;
  /** Receives every trace line (the CLI's --trace). */
  readonly traceSink?: (line: string) => void;
}

export type SimulationCounters = Record<
  | HostCounter
  | NemesisCounter
  | TargetedCounter
  | "elections"
  | "steps"
  | "messagesSent"
  | "messagesDropped"
  | "messagesDuplicated"
  | "snapshotMessages",
  number
> &
  ClientStats;

export interface SimulationResult {
  readonly seed: number;
  readonly nodes: number;
  readonly mix: FaultMixName;
  readonly ticks: number;
  readonly traceHash: string;
  readonly violations: readonly string[];
  /** The liveness report when the run ended in the known demoted-voter stall (known-stalls.ts). */
  readonly knownStall: string | undefined;
  readonly counters: SimulationCounters;
  readonly history: readonly Operation[];
  /** The last trace lines, to read when the seed failed. */
  readonly traceTail: readonly string[];
}

type SimEvent =
  | { readonly kind: "tick" }
  | { readonly kind: "deliver"; readonly message: Message }
  | { readonly kind: "disk"; readonly node: NodeId; readonly incarnation: number }
  | {
      readonly kind: "snapshot-status";
      readonly leader: NodeId;
      readonly incarnation: number;
      readonly follower: NodeId;
      readonly status: "finish" | "failure";
    }
  /** A targeted fault's delayed action (a crash, a restart, a reconnect). */
  | { readonly kind: "call"; readonly action: () => void };

export const electionTicks = 10;
export const heartbeatTicks = 1;

export function runSimulation(options: SimulationOptions): SimulationResult {
  if (!(options.nodes === 3 || options.nodes === 5)) {
    throw new RangeError(`simulation nodes = ${options.nodes}, allowed 3 or 5`);
  }
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) {
    throw new RangeError(`simulation seed = ${options.seed}, allowed a non-negative integer`);
  }
  return createRun(options).run();
}

function zeroCounters(): SimulationCounters {
  return {
    readies: 0,
    diskWrites: 0,
    entriesApplied: 0,
    confChangesApplied: 0,
    snapshotsInstalled: 0,
    snapshotsCreated: 0,
    compactions: 0,
    unsyncedWritesLost: 0,
    unsyncedHardStatesLost: 0,
    crashes: 0,
    restarts: 0,
    partitions: 0,
    oneWayPartitions: 0,
    heals: 0,
    confChangesProposed: 0,
    confChangesRejected: 0,
    transfers: 0,
    campaigns: 0,
    simpleChanges: 0,
    jointChanges: 0,
    explicitLeaves: 0,
    pauses: 0,
    targetedIsolations: 0,
    targetedCrashes: 0,
    crashesDuringFsync: 0,
    staleLeaderEpisodes: 0,
    clockStalls: 0,
    elections: 0,
    steps: 0,
    messagesSent: 0,
    messagesDropped: 0,
    messagesDuplicated: 0,
    snapshotMessages: 0,
    writesOk: 0,
    writesFailed: 0,
    readsOk: 0,
    readsFailed: 0,
    timeouts: 0,
  };
}

function createRun(options: SimulationOptions) {
  const random: RandomSource = createSeededRandom(options.seed);
  // The mix follows the seed round-robin, so any nine consecutive seeds cover every mix.
  const mix: FaultMix =
    faultMixes[options.mix ?? faultMixNames[options.seed % faultMixNames.length]!];
  const safetyTicks = options.safetyTicks ?? 400;
  const livenessTicks = options.livenessTicks ?? 40 * electionTicks;
  const core = options.core ?? raftCore;
  const trace = createTrace(options.traceSink);
  const safety = createSafetyChecker();
  const history = createHistoryRecorder();
  const network = createSimulatedNetwork(random, mix.network);
  const queue = createEventQueue<SimEvent>();
  const counters = zeroCounters();
  const violations: string[] = [];
  const pool = Array.from({ length: options.nodes + 2 }, (_, index) => index + 1);
  const initialVoters = pool.slice(0, options.nodes);
  const nodes = pool.map((id) => createSimNode(id, bootstrapStorage(id, initialVoters)));
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const clients = createClients(
    {
      count: options.clients ?? 4,
      keys: 3,
      timeoutTicks: 6 * electionTicks,
      activity: 0.3,
      readRatio: 0.4,
    },
    history,
  );
  const snapshotEvery = 5 + random.nextInt(30);
  const drawnTuning = options.tuning ?? drawTuning(random);
  const targetedFaults =
    mix.targeted === noTargetedFaults ? noTargetedFaults : drawTargetedFaults(mix.targeted, random);
  // One entry per Append, unless the caller fixed the core's limits.
  const tuning =
    targetedFaults.oneEntryPerAppend && options.tuning === undefined
      ? { ...drawnTuning, maxSizePerMessage: 1 }
      : drawnTuning;
  let now = 0;
  let phase: "safety" | "liveness" = "safety";
  /** Set when the run ended in the known demoted-voter stall (not counted as a violation). */
  let knownStall: string | undefined;

  const env: HostEnvironment = {
    core,
    safety,
    electionTicks,
    heartbeatTicks,
    snapshotEvery,
    tuning,
    nextSeed: () => random.nextInt(0x1_0000_0000),
    compactionLag: () => random.nextInt(4),
    send: (node, messages) => {
      for (const message of messages) send(node, message);
    },
    scheduleDiskWrite(node) {
      const mixLatency =
        mix.fsyncTicksMin + random.nextInt(mix.fsyncTicksMax - mix.fsyncTicksMin + 1);
      const latency = phase === "safety" ? targeted.diskLatency(node, mixLatency) : 0;
      // A crash it schedules for the same tick comes first: the write is lost.
      targeted.onDiskWriteScheduled(node, latency);
      queue.schedule(now + latency, {
        kind: "disk",
        node: node.id,
        incarnation: node.incarnation,
      });
    },
    onApplied: (node, entry, write) => clients.onApplied(node, entry, write, access),
    onReadStates: (node, readStates) => clients.onReadStates(node, readStates),
    onAppliedBatch: (node) => clients.onAppliedBatch(node, access),
    onLeaderEvent: (node, event) => targeted.onLeaderEvent(node, event),
    count: (what) => {
      counters[what]++;
    },
  };
  const access: ClusterAccess = {
    now: () => now,
    node: (id) => {
      const node = byId.get(id);
      // A stalled node does not answer.
      return node !== undefined && node.pausedUntil > now ? undefined : node;
    },
    nodeIds: () => pool,
    afterInput: (node) => afterInput(node, env),
    violation: (message) => violations.push(message),
    trace: (line) => trace.record(`${now} ${line}`),
  };

  function send(from: SimNode, message: Message): void {
    counters.messagesSent++;
    const decision = network.decide(message.from, message.to);
    const isSnapshot = message.type === MessageType.Snapshot;
    if (isSnapshot) counters.snapshotMessages++;
    if (decision.kind === "dropped") {
      counters.messagesDropped++;
      if (isSnapshot) reportSnapshotLater(from, message.to, "failure");
      return;
    }
    if (decision.delays.length > 1) counters.messagesDuplicated++;
    for (const delay of decision.delays) queue.schedule(now + delay, { kind: "deliver", message });
  }

  function reportSnapshotLater(
    leader: SimNode,
    follower: NodeId,
    status: "finish" | "failure",
  ): void {
    queue.schedule(now + 1 + random.nextInt(3), {
      kind: "snapshot-status",
      leader: leader.id,
      incarnation: leader.incarnation,
      follower,
      status,
    });
  }

  function deliver(message: Message): void {
    const target = byId.get(message.to);
    const sender = byId.get(message.from);
    const lost = target?.raft === undefined || network.isCut(message.from, message.to);
    trace.record(
      `${now} d ${message.type} ${message.from}>${message.to} t${message.term} ` +
        `i${message.index}/${message.logTerm} n${message.entries.length} c${message.commit}` +
        `${snapshotLabel(message)}` +
        `${message.reject ? " R" : ""}${lost ? " lost" : ""}`,
    );
    if (lost || target === undefined || target.raft === undefined) {
      counters.messagesDropped++;
      if (message.type === MessageType.Snapshot && sender !== undefined)
        reportSnapshotLater(sender, message.to, "failure");
      if (sender?.raft !== undefined && chance(random, 0.1))
        sender.raft.reportUnreachable(message.to);
      return;
    }
    target.raft.step(message);
    afterInput(target, env);
    if (message.type === MessageType.Snapshot && sender !== undefined)
      reportSnapshotLater(sender, message.to, "finish");
  }

  function onSnapshotStatus(event: Extract<SimEvent, { kind: "snapshot-status" }>): void {
    const leader = byId.get(event.leader);
    if (leader?.raft === undefined || leader.incarnation !== event.incarnation) return;
    trace.record(`${now} snapshot-status ${event.leader}>${event.follower} ${event.status}`);
    leader.raft.reportSnapshot(event.follower, event.status);
    afterInput(leader, env);
  }

  const nemesis: NemesisTarget = {
    random,
    network,
    mix,
    nodes,
    core,
    limits: {
      pool,
      minVoters: targetedFaults.shrinkToOneVoter ? 1 : options.nodes - 1,
      maxVoters: options.nodes + 1,
    },
    leader: () => currentLeader(nodes, now),
    now: () => now,
    pausesAllowed: tuning.readOnlyOption === ReadOnlyOption.Safe,
    crash: (node) => crashNode(node, env),
    restart: (node) => {
      startNode(node, env);
      afterInput(node, env);
    },
    afterInput: (node) => afterInput(node, env),
    trace: (line) => trace.record(`${now} ${line}`),
    count: (what) => {
      counters[what]++;
    },
  };

  const targeted: TargetedNemesis = createTargetedNemesis({
    random,
    network,
    faults: targetedFaults,
    nodes,
    clockStallsAllowed: tuning.readOnlyOption === ReadOnlyOption.Safe,
    clientCount: options.clients ?? 4,
    now: () => now,
    inSafetyPhase: () => phase === "safety",
    leader: () => currentLeader(nodes, now),
    later: (delay, action) => queue.schedule(now + delay, { kind: "call", action }),
    crash: (node) => crashNode(node, env),
    restart: (node) => nemesis.restart(node),
    steerClients: (steering) => clients.steer(steering),
    trace: (line) => trace.record(`${now} ${line}`),
    count: (what) => {
      counters[what]++;
    },
  });

  function onTick(): void {
    trace.record(`${now} tick`);
    if (phase === "safety") {
      runNemesis(nemesis);
      targeted.onTick();
    }
    for (const node of nodes) {
      if (node.raft === undefined || node.pausedUntil > now) continue;
      if (node.clockStalledUntil > now) continue;
      node.raft.tick();
      afterInput(node, env);
    }
    clients.onTick(
      access,
      random,
      phase === "safety" ? "mixed" : clients.everyClientWrote() ? "quiet" : "writes-only",
    );
  }

  function startLiveness(): void {
    phase = "liveness";
    trace.record(`${now} liveness: heal, restart all, no more faults`);
    network.heal();
    network.setFaults(reliableNetwork);
    clients.steer(undefined);
    for (const node of nodes) {
      node.pausedUntil = 0;
      node.clockStalledUntil = 0;
      if (node.raft === undefined) nemesis.restart(node);
    }
    clients.resetWriteCounts();
  }

  function livenessReport(): string {
    const leader = currentLeader(nodes);
    return (
      `liveness: not reached within ${livenessTicks} ticks of healing ` +
      `(leader ${leader?.id ?? "none"}, ` +
      `every client wrote: ${clients.everyClientWrote()}); nodes: ${describeNodes(nodes)}`
    );
  }

  /** Events for a stalled node wait until it resumes. */
  function stalledNode(event: SimEvent): SimNode | undefined {
    const id =
      event.kind === "deliver"
        ? event.message.to
        : event.kind === "disk"
          ? event.node
          : event.kind === "snapshot-status"
            ? event.leader
            : 0;
    const node = byId.get(id);
    return node !== undefined && node.pausedUntil > now ? node : undefined;
  }

  function step(event: SimEvent): void {
    counters.steps++;
    const stalled = stalledNode(event);
    if (stalled !== undefined) {
      queue.schedule(stalled.pausedUntil, event);
      return;
    }
    switch (event.kind) {
      case "tick":
        onTick();
        queue.schedule(now + 1, { kind: "tick" });
        return;
      case "deliver":
        deliver(event.message);
        return;
      case "disk": {
        const node = byId.get(event.node);
        if (node === undefined) throw new Error(`disk event for unknown node ${event.node}`);
        if (node.incarnation === event.incarnation) trace.record(`${now} fsync ${event.node}`);
        completeDiskWrite(node, event.incarnation, env);
        return;
      }
      case "snapshot-status":
        onSnapshotStatus(event);
        return;
      case "call":
        event.action();
        return;
    }
  }

  function run(): SimulationResult {
    trace.record(
      `seed ${options.seed} nodes ${options.nodes} mix ${mix.name} snapshotEvery ${snapshotEvery}`,
    );
    trace.record(`raft ${describeTuning(tuning)}`);
    trace.record(`targeted ${describeTargetedFaults(targetedFaults)}`);
    for (const node of nodes) nemesis.restart(node);
    queue.schedule(1, { kind: "tick" });
    let livenessDeadline = Infinity;
    try {
      for (;;) {
        const next = queue.pop();
        if (next === undefined) throw new Error("simulation agenda ran dry");
        now = next.time;
        if (phase === "safety" && now >= safetyTicks) {
          startLiveness();
          livenessDeadline = now + livenessTicks;
        }
        step(next.event);
        if (safety.violations().length > 0 || violations.length > 0) break;
        if (phase === "liveness" && next.event.kind === "tick") {
          if (clients.everyClientWrote() && clients.idle() && clusterConverged(nodes)) break;
          if (now >= livenessDeadline) {
            if (isDemotedVoterStall(runningStatuses(nodes))) knownStall = livenessReport();
            else violations.push(livenessReport());
            break;
          }
        }
      }
    } catch (error) {
      const kind = error instanceof AssertionError ? "core assertion" : "exception";
      violations.push(
        `${kind} at tick ${now}: ` +
          `${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    return finish();
  }

  function finish(): SimulationResult {
    const all = [...safety.violations(), ...violations];
    const operations = history.operations();
    if (all.length === 0) {
      const linearizability = checkLinearizability(operations);
      for (const violation of linearizability.violations) {
        all.push(
          `linearizability: key ${violation.key}: ${violation.reason} ` +
            `(${violation.operations.length} operations)`,
        );
      }
    }
    Object.assign(counters, clients.stats());
    counters.elections = safety.stats().leaders;
    trace.record(`end ${now} violations ${all.length}`);
    return {
      seed: options.seed,
      nodes: options.nodes,
      mix: mix.name,
      ticks: now,
      traceHash: trace.digest(),
      violations: all,
      knownStall,
      counters,
      history: operations,
      traceTail: trace.tail(),
    };
  }

  return { run };
}

/** Initial voters start from a snapshot at index 1 holding the configuration; others empty. */
function bootstrapStorage(id: NodeId, initialVoters: readonly NodeId[]) {
  if (!initialVoters.includes(id)) return createMemoryStorage();
  const confState: ConfState = {
    voters: initialVoters,
    learners: [],
    votersOutgoing: [],
    learnersNext: [],
    autoLeave: false,
  };
  const storage = createMemoryStorage({ confState, hardState: { term: 1, vote: 0, commit: 1 } });
  const machine = createKvStateMachine({ applied: 1, confState });
  storage.applySnapshot({
    metadata: { index: 1, term: 1, confState },
    data: machine.encodeSnapshot(),
  });
  return storage;
}

function snapshotLabel(message: Message): string {
  const metadata = message.snapshot?.metadata;
  return metadata === undefined ? "" : ` s${metadata.index}/${metadata.term}`;
}
