/**
 * A model cluster for the rebalancer: nodes that crash, return and drain;
 * groups whose membership changes exactly as the planner's actions say
 * (one step per action, learners catching up over a few rounds); the
 * failure detector on simulated time. No raft underneath — this checks the
 * planner's decisions (safety at every step, convergence after faults),
 * not the membership changes' execution.
 */
import type {
  GroupObservation,
  NodeInfo,
  NodeState,
  RebalanceAction,
  RebalanceLimits,
} from "../../../framework/cluster/index.js";
import {
  createFailureDetector,
  isUnusable,
  placeReplicas,
  planRebalance,
  zoneOf,
} from "../../../framework/cluster/index.js";
import type { SeededRandom } from "../../../framework/raft/index.js";

export interface ModelGroup {
  readonly partitionId: number;
  voters: number[];
  learners: number[];
  leader: number;
  /** Rounds each learner still needs to catch up. */
  readonly catchUp: Map<number, number>;
}

export interface ModelOptions {
  readonly nodeCount: number;
  readonly zones: number;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly limits: RebalanceLimits;
  readonly roundMs: number;
  readonly suspectAfterMs: number;
  readonly deadAfterMs: number;
}

export class RebalanceModel {
  readonly nodes = new Map<number, NodeInfo>();
  /** Whether the process runs (heartbeats); the registry's state is the detector's opinion. */
  readonly up = new Map<number, boolean>();
  readonly groups: ModelGroup[] = [];
  readonly detector;
  nowMs = 0;
  readonly log: string[] = [];

  constructor(readonly options: ModelOptions, private readonly random: SeededRandom) {
    this.detector = createFailureDetector(options);
    for (let nodeId = 1; nodeId <= options.nodeCount; nodeId++) {
      const zone = options.zones > 0 ? `z${nodeId % options.zones}` : undefined;
      const base = { nodeId, address: `n${nodeId}`, state: "alive" as NodeState };
      this.nodes.set(nodeId, zone === undefined ? base : { ...base, zone });
      this.up.set(nodeId, true);
    }
    this.detector.reset([...this.nodes.keys()], 0);
    for (let partitionId = 1; partitionId <= options.partitions; partitionId++) {
      this.createGroup(partitionId);
    }
  }

  private createGroup(partitionId: number): void {
    const loads = new Map<number, { replicas: number; leaders: number }>();
    for (const group of this.groups) {
      for (const id of group.voters) {
        loads.set(id, { replicas: (loads.get(id)?.replicas ?? 0) + 1, leaders: 0 });
      }
    }
    const count = this.options.replicationFactor;
    const voters = placeReplicas({ count, nodes: [...this.nodes.values()], loads });
    this.groups.push({ partitionId, voters, learners: [], leader: voters[0]!, catchUp: new Map() });
  }

  setState(nodeId: number, state: NodeState): void {
    const node = this.nodes.get(nodeId)!;
    this.nodes.set(nodeId, { ...node, state });
  }

  states(): Map<number, NodeState> {
    return new Map([...this.nodes].map(([id, node]) => [id, node.state]));
  }

  /** Heartbeats of running nodes, the detector's verdicts applied to the registry. */
  detect(): void {
    for (const [nodeId, up] of this.up) if (up) this.detector.onHeartbeat(nodeId, this.nowMs);
    for (const change of this.detector.evaluate(this.states(), this.nowMs)) {
      this.setState(change.nodeId, change.to);
    }
  }

  /** Raft's view: a group whose leader is down elects a live voter if a live quorum remains. */
  electLeaders(): void {
    for (const group of this.groups) {
      if (this.up.get(group.leader) === true && group.voters.includes(group.leader)) continue;
      const upVoters = group.voters.filter((id) => this.up.get(id) === true);
      if (upVoters.length >= Math.floor(group.voters.length / 2) + 1) group.leader = upVoters[0]!;
    }
  }

  observations(): GroupObservation[] {
    return this.groups
      .filter((group) => this.up.get(group.leader) === true)
      .map((group) => ({
        partitionId: group.partitionId,
        replicationFactor: this.options.replicationFactor,
        leader: group.leader,
        voters: [...group.voters].sort((a, b) => a - b),
        learners: [...group.learners].sort((a, b) => a - b),
        lag: new Map(group.learners.map((id) => [id, (group.catchUp.get(id) ?? 0) * 1000])),
        recentlyActive: new Set(
          [...group.voters, ...group.learners].filter((id) => this.up.get(id) === true),
        ),
        changing: false,
      }));
  }

  /** Learners on running nodes catch up a round at a time. */
  progressLearners(): void {
    for (const group of this.groups) {
      for (const id of group.learners) {
        if (this.up.get(id) !== true) continue;
        group.catchUp.set(id, Math.max(0, (group.catchUp.get(id) ?? 0) - 1));
      }
    }
  }

  plan(): RebalanceAction[] {
    const nodes = [...this.nodes.values()];
    return planRebalance({ nodes, groups: this.observations(), limits: this.options.limits });
  }

  /** Applies one action as its membership change would; returns the group. */
  apply(action: RebalanceAction): ModelGroup {
    const group = this.groups.find((candidate) => candidate.partitionId === action.partitionId)!;
    switch (action.kind) {
      case "add_learner":
        group.learners.push(action.nodeId);
        group.catchUp.set(action.nodeId, 1 + this.random.nextInt(3));
        break;
      case "promote":
        group.learners = group.learners.filter((id) => id !== action.nodeId);
        group.voters.push(action.nodeId);
        break;
      case "remove":
        group.learners = group.learners.filter((id) => id !== action.nodeId);
        group.voters = group.voters.filter((id) => id !== action.nodeId);
        break;
      case "transfer_leadership":
        if (this.up.get(action.to) === true) group.leader = action.to;
        break;
    }
    this.log.push(`${this.nowMs}: ${JSON.stringify(action)}`);
    return group;
  }

  /**
   * Two replicas that are meant to stay (on usable nodes) share a zone. A
   * replacement may share the zone of the dead or draining replica it
   * replaces until that one is removed.
   */
  zonesRepeated(group: ModelGroup): boolean {
    const members = [...group.voters, ...group.learners];
    const staying = members.filter((id) => !isUnusable(this.nodes.get(id)!.state));
    const zones = staying.map((id) => zoneOf(this.nodes.get(id)!));
    return new Set(zones).size !== zones.length;
  }

  /** Ground truth, not the registry's opinion: a majority of the voters' processes run. */
  liveQuorum(group: ModelGroup): boolean {
    const running = group.voters.filter((id) => this.up.get(id) === true).length;
    return running >= Math.floor(group.voters.length / 2) + 1;
  }
}
