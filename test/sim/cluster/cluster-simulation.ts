/**
 * The seeded cluster simulation (issue #9): five simulated node processes
 * (cluster-world.ts) run the meta group on nodes 1–3, the node agent
 * everywhere and the controller loop on the meta leader; partitions of a
 * register machine are created through the meta group and started on
 * their nodes like ClusterService does. Clients write throughout. Faults:
 * crashes (unsynced writes lost) and restarts, partitions, message loss and
 * one node crashed for good. Then the network heals, every other node
 * restarts, and within a bounded quiet period the cluster must converge
 * (cluster-checks.ts) and every acknowledged write must read back through
 * its group's leader. Everything runs on one virtual clock from the seed:
 * the same seed gives the same trace hash.
 */
import { create } from "@bufbuild/protobuf";
import {
  CreatePartitionRequestSchema,
  SetNodeStateRequestSchema,
} from "../../../gen/raftkit/v1/cluster_pb.js";
import {
  CreatePartition,
  defaultRebalanceLimits,
  nodeStateToWire,
  SetNodeState,
} from "../../../framework/cluster/index.js";
import type { NodeId, RandomSource } from "../../../framework/raft/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import type { ClusterManagerSettings } from "../../../framework/server/cluster-config.js";
import { proposeMeta } from "../../../framework/server/meta-controller-environment.js";
import type { NetworkFaults } from "../network.js";
import { createSimulatedNetwork, reliableNetwork } from "../network.js";
import { createTrace } from "../trace.js";
import type { Trace } from "../trace.js";
import type { Scheduler } from "../host/scheduler.js";
import { createScheduler, settle } from "../host/scheduler.js";
import { createClusterClients } from "./cluster-clients.js";
import type { ClusterClients } from "./cluster-clients.js";
import { convergenceProblems } from "./cluster-checks.js";
import type { ClusterWorld } from "./cluster-world.js";
import { createClusterWorld, registerType } from "./cluster-world.js";
import { runClusterNemesis } from "./cluster-nemesis.js";
import { simAddress } from "./sim-peer-calls.js";

export interface ClusterSimulationOptions {
  readonly seed: number;
  /** Data partitions created through the meta group (default 6). */
  readonly partitions?: number;
  /** Virtual milliseconds of faults (default 8,000). */
  readonly faultMs?: number;
  /** Virtual milliseconds the cluster gets to converge after the faults (default 60,000). */
  readonly quietMs?: number;
  readonly traceSink?: (line: string) => void;
  /**
   * Virtual milliseconds the converged cluster keeps running (clients
   * writing, controller rounds) before the reads (default 0): time for the
   * leader spreading that waits for a settled cluster.
   */
  readonly holdMs?: number;
  /** Idle ticks before a group quiesces (default 0: never). */
  readonly quiesceAfterTicks?: number;
  /** Cluster manager settings over simulatedClusterSettings (e.g. a guard switched off). */
  readonly settings?: Partial<ClusterManagerSettings>;
  /**
   * The operator drains the meta leader of the moment the faults end (instead
   * of node 4 or 5 on odd seeds): the meta leadership is handed off while its
   * controller acts, the controller fence's case. No random draw: the rest of
   * the run's schedule is the seed's.
   */
  readonly drainMetaLeader?: boolean;
}

export interface ClusterSimulationResult {
  readonly seed: number;
  readonly traceHash: string;
  readonly violations: readonly string[];
  readonly counters: Readonly<Record<string, number>>;
  readonly acknowledged: number;
  /** The node crashed for good. */
  readonly gone: NodeId;
  /** Virtual milliseconds from the end of the faults to convergence (undefined: never). */
  readonly convergedAfterMs: number | undefined;
  readonly virtualMs: number;
  readonly traceTail: readonly string[];
}

export const clusterTickMs = 10;
const nodeIds: readonly NodeId[] = [1, 2, 3, 4, 5];
const metaVoters: readonly NodeId[] = [1, 2, 3];
const replicationFactor = 3;
const driverIntervalMs = 100;
const setupDeadlineMs = 20_000;

const faultyNetwork: NetworkFaults = { dropRate: 0.02, duplicateRate: 0.01, delayMin: 0, delayMax: 3 };

export const simulatedClusterSettings: ClusterManagerSettings = {
  enabled: true,
  metaVoters: 3,
  join: [],
  heartbeatIntervalMs: 100,
  suspectAfterMs: 400,
  deadAfterMs: 1_500,
  roundIntervalMs: 100,
  callTimeoutMs: 300,
  defaultReplicationFactor: replicationFactor,
  limits: { ...defaultRebalanceLimits, maxBalanceMoves: 2 },
  learnerStallMs: 5_000,
  leaderSettleMs: 1_000,
  // Raft abandons a transfer after an election timeout (10 ticks of 10 ms).
  transferTimeoutMs: 300,
  rejoinAfterMs: 2_000,
};

type Phase = "setup" | "faults" | "quiet" | "hold" | "reads" | "done";

export async function runClusterSimulation(
  options: ClusterSimulationOptions,
): Promise<ClusterSimulationResult> {
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) {
    throw new RangeError(`cluster simulation seed = ${options.seed}, allowed a non-negative integer`);
  }
  const partitions = options.partitions ?? 6;
  if (!(Number.isInteger(partitions) && partitions >= 1 && partitions <= 50)) {
    throw new RangeError(`cluster simulation partitions = ${partitions}, allowed an integer in [1, 50]`);
  }
  return new ClusterRun(options, partitions).run();
}

class ClusterRun {
  private readonly random: RandomSource;
  private readonly trace: Trace;
  private readonly scheduler: Scheduler;
  private readonly network;
  private readonly world: ClusterWorld;
  private readonly clients: ClusterClients;
  private readonly counters: Record<string, number> = {};
  private readonly violations: string[] = [];
  private readonly faultMs: number;
  private readonly quietMs: number;
  private readonly gone: NodeId;
  /**
   * Odd seeds: the other one of nodes 4 and 5, drained by the operator after the faults;
   * with drainMetaLeader, the meta leader when the faults end (set then).
   */
  private drained: NodeId | undefined;
  private phase: Phase = "setup";
  private partitionIds: number[] = [];
  private creating = false;
  private absentDone = false;
  private faultsEndAt = Infinity;
  private goneAt = Infinity;
  private convergedAt: number | undefined;

  constructor(private readonly options: ClusterSimulationOptions, private readonly partitions: number) {
    this.random = createSeededRandom(options.seed);
    this.trace = createTrace(options.traceSink);
    this.scheduler = createScheduler(this.trace);
    this.network = createSimulatedNetwork(this.random, reliableNetwork);
    this.faultMs = options.faultMs ?? 8_000;
    this.quietMs = options.quietMs ?? 60_000;
    this.gone = 4 + this.random.nextInt(2);
    const drainsOddSeeds = options.drainMetaLeader !== true && options.seed % 2 === 1;
    this.drained = drainsOddSeeds ? 9 - this.gone : undefined;
    const random = this.random;
    this.world = createClusterWorld({
      scheduler: this.scheduler,
      random,
      network: this.network,
      tickMs: clusterTickMs,
      hostConfig: {
        tickIntervalMs: clusterTickMs,
        electionTicks: 10,
        heartbeatTicks: 1 + random.nextInt(2),
        snapshotEntries: 8 + random.nextInt(30),
        compactionOverhead: random.nextInt(6),
        requestTimeoutMs: 300,
        maxSnapshotSends: 1 + random.nextInt(3),
        applyConcurrency: 1 + random.nextInt(3),
        quiesceAfterTicks: options.quiesceAfterTicks ?? 0,
        raft: { preVote: random.nextInt(4) !== 0, checkQuorum: true },
      },
      settings: { ...simulatedClusterSettings, ...options.settings },
      metaVoters,
      fsyncLatency: () => this.fsyncLatency(),
      violation: (message) => this.violation(message),
      trace: (line) => this.record(line),
      count: (what, by) => this.count(what, by),
    }, nodeIds);
    this.clients = createClusterClients({
      world: this.world,
      scheduler: this.scheduler,
      random,
      violation: (message) => this.violation(message),
      trace: (line) => this.record(line),
      count: (what) => this.count(what),
    });
  }

  private record(line: string): void {
    this.trace.record(`${this.scheduler.now()} ${line}`);
  }

  private violation(message: string): void {
    this.violations.push(message);
    this.record(`VIOLATION ${message}`);
  }

  private count(what: string, by = 1): void {
    this.counters[what] = (this.counters[what] ?? 0) + by;
  }

  private fsyncLatency(): number {
    if (this.phase !== "faults") return this.random.nextInt(2);
    return this.random.nextInt(4) * clusterTickMs + this.random.nextInt(clusterTickMs);
  }

  async run(): Promise<ClusterSimulationResult> {
    this.record(`seed ${this.options.seed} partitions ${this.partitions} gone ${this.gone} ` +
      `drained ${this.drained ?? "none"}`);
    for (const nodeId of nodeIds) this.world.start(nodeId);
    this.scheduler.after(driverIntervalMs, () => this.onDriverTick(), "driver");
    const holdMs = this.options.holdMs ?? 0;
    const limit = setupDeadlineMs + this.faultMs + this.quietMs + holdMs + 30_000;
    try {
      while (this.phase !== "done") {
        if (!this.scheduler.runNext()) {
          this.violation("the agenda ran dry");
          break;
        }
        await settle();
        if (this.violations.length > 0) break;
        if (this.scheduler.now() > limit) {
          this.violation(`still in phase ${this.phase} at ${this.scheduler.now()} ms`);
          break;
        }
      }
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.violation(`exception at ${this.scheduler.now()} ms: ${text}`);
    }
    return {
      seed: this.options.seed,
      traceHash: this.trace.digest(),
      violations: [...this.violations],
      counters: { ...this.counters },
      acknowledged: this.clients.acknowledged().length,
      gone: this.gone,
      convergedAfterMs: this.convergedAt === undefined ? undefined : this.convergedAt - this.faultsEndAt,
      virtualMs: this.scheduler.now(),
      traceTail: this.trace.tail(),
    };
  }

  private onDriverTick(): void {
    const now = this.scheduler.now();
    if (this.phase === "setup") this.setup(now);
    else if (this.phase === "faults") this.faults(now);
    else if (this.phase === "quiet") this.quiet(now);
    else if (this.phase === "hold") this.hold(now);
    if (this.phase === "faults" || this.phase === "quiet" || this.phase === "hold") {
      this.clients.tick(this.partitionIds, driverIntervalMs);
    }
    if (this.phase !== "done") this.scheduler.after(driverIntervalMs, () => this.onDriverTick(), "driver");
  }

  private setup(now: number): void {
    if (now > setupDeadlineMs) {
      this.violation(`setup not done after ${setupDeadlineMs} ms (partitions ${this.partitionIds.join(",")})`);
      return;
    }
    const leader = this.world.metaLeader();
    if (this.creating || leader === undefined) return;
    const alive = leader.meta.table.nodes().filter((node) => node.state === "alive");
    if (alive.length < nodeIds.length) return;
    this.creating = true;
    // Half the seeds create the partitions while a node is down (its crash not yet
    // suspected): its replicas fail to start, and it comes back a second later.
    const absent = this.random.nextInt(2) === 0 ? [4, 5].find((id) => id !== this.gone) : undefined;
    if (absent !== undefined && !this.absentDone) {
      this.absentDone = true;
      this.record(`node ${absent} is down while the partitions are created`);
      this.world.crash(absent);
      this.scheduler.after(1_000, () => {
        if (!this.world.isUp(absent)) this.world.start(absent);
      }, "restart after creation");
    }
    void this.createPartitions(leader.nodeId).then(
      (ids) => {
        this.partitionIds = ids;
        this.phase = "faults";
        this.faultsEndAt = now + this.faultMs;
        this.goneAt = now + 500 + this.random.nextInt(this.faultMs / 2);
        this.record(`created partitions ${ids.join(",")}; faults until ${this.faultsEndAt}`);
      },
      (error: unknown) => {
        this.creating = false;
        this.record(`partition creation failed, again: ${String(error)}`);
      },
    );
  }

  /** CreatePartition on the meta leader, then StartReplica on each replica's node (as ClusterService). */
  private async createPartitions(from: NodeId): Promise<number[]> {
    const ids: number[] = [];
    const calls = this.world.callsFrom(from);
    for (let index = 0; index < this.partitions; index++) {
      const host = this.world.host(from);
      if (host === undefined) throw new Error(`node ${from} is down`);
      const request = create(CreatePartitionRequestSchema, {
        stateMachineType: registerType, key: `p${index}`, replicationFactor,
      });
      const { partition } = await proposeMeta(host, CreatePartition, request);
      if (partition === undefined) throw new Error("CreatePartition answered no partition");
      const voters = partition.replicas;
      // As ClusterService: a majority started is enough; a replica that did not start is the
      // cluster manager's to repair.
      const started = await Promise.allSettled(voters.map((voter) => calls.of(simAddress(Number(voter)))
        .agent.startReplica(
          { partitionId: partition.partitionId, stateMachineType: registerType, voters, join: false },
          { timeoutMs: simulatedClusterSettings.callTimeoutMs },
        )));
      const failed = started.filter((result) => result.status === "rejected").length;
      if (failed * 2 >= voters.length) throw new Error(`p${partition.partitionId}: ${failed} replicas did not start`);
      if (failed > 0) this.record(`p${partition.partitionId}: ${failed} replica(s) did not start`);
      ids.push(Number(partition.partitionId));
    }
    return ids;
  }

  private faults(now: number): void {
    if (now >= this.goneAt && this.world.isUp(this.gone)) {
      this.record(`node ${this.gone} crashes for good`);
      this.world.crash(this.gone);
    }
    if (now < this.faultsEndAt) {
      runClusterNemesis({
        world: this.world, network: this.network, random: this.random, nodeIds,
        gone: this.gone, faultyNetwork, record: (line) => this.record(line),
        count: (what) => this.count(what),
      });
      return;
    }
    this.phase = "quiet";
    this.record("quiet: heal, reliable network, restart every node but the one gone");
    this.network.heal();
    this.network.setFaults(reliableNetwork);
    if (this.world.isUp(this.gone)) this.world.crash(this.gone);
    for (const nodeId of nodeIds) {
      if (nodeId !== this.gone && !this.world.isUp(nodeId)) this.world.start(nodeId);
    }
    if (this.options.drainMetaLeader === true) {
      // After the restarts an election may be under way: the last leader known, else node 1.
      this.drained = this.world.metaLeader()?.nodeId ?? 1;
      this.record(`draining the meta leader n${this.drained}`);
    }
    if (this.drained !== undefined) void this.setState(this.drained, "draining");
  }

  /**
   * The operator's RemoveNode for the node gone: the meta group accepts it
   * only once its table records no replica there (a stale record is refused).
   */
  private async removeGone(): Promise<void> {
    await this.setState(this.gone, "removed");
    if (this.drained !== undefined) await this.setState(this.drained, "removed");
  }

  /** An operator's SetNodeState (DrainNode, RemoveNode) on the meta leader, retried across elections. */
  private async setState(nodeId: NodeId, state: "draining" | "removed"): Promise<void> {
    const request = create(SetNodeStateRequestSchema, {
      nodeId: BigInt(nodeId), state: nodeStateToWire(state),
    });
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      const leader = this.world.metaLeader();
      try {
        if (leader !== undefined) {
          await proposeMeta(leader.host, SetNodeState, request);
          this.record(`node ${nodeId} ${state} in the meta table`);
          return;
        }
      } catch (error) {
        lastError = error;
      }
      await new Promise<void>((resolve) => this.scheduler.after(100, resolve));
    }
    this.violation(`SetNodeState ${nodeId} ${state} refused: ${String(lastError)}`);
  }

  /** The converged cluster runs on for holdMs; then the reads. */
  private hold(now: number): void {
    if (this.convergedAt === undefined || now < this.convergedAt + (this.options.holdMs ?? 0)) return;
    this.phase = "reads";
    void this.removeGone()
      .then(() => this.clients.verifyAll())
      .then(() => {
        this.phase = "done";
      });
  }

  private quiet(now: number): void {
    if (now % 500 !== 0 && now < this.faultsEndAt + this.quietMs) return;
    const problems = convergenceProblems({
      world: this.world, nodeIds, gone: this.gone, drained: this.drained,
      partitionIds: this.partitionIds, replicationFactor,
    });
    if (problems.length === 0) {
      this.convergedAt = now;
      this.record(`converged ${now - this.faultsEndAt} ms after the faults`);
      this.phase = "hold";
      this.hold(now);
      return;
    }
    if ((now - this.faultsEndAt) % 5_000 === 0) this.record(`not converged yet: ${problems.slice(0, 4).join("; ")}`);
    if (now >= this.faultsEndAt + this.quietMs) {
      this.violation(`not converged ${this.quietMs} ms after the faults: ${problems.slice(0, 12).join("; ")}`);
    }
  }
}
