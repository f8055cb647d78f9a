/**
 * The rebalancing controller, run on the meta group's leader (issue #9).
 * One round: the failure detector's verdicts become node-state commands,
 * the data groups' leaders are observed, the meta table is brought in line
 * with what they report (replicas, learners, leader hint), the planner's
 * actions are carried out — each one membership step of one group.
 *
 * The environment does the I/O (meta commands, observing groups, changing
 * their membership); the controller decides. Time is passed in. An action
 * that fails (leader moved, node unreachable) is reported and planned again
 * next round from fresh observations; it is never retried blindly.
 */
import type { NodeInfo, NodeState } from "./cluster-manager.js";
import type { FailureDetectorConfig, NodeTransition } from "./failure-detector.js";
import { createFailureDetector } from "./failure-detector.js";
import { createLeaderSettle } from "./leader-settle.js";
import { createLearnerWatch } from "./learner-watch.js";
import { planRebalance } from "./rebalance-planner.js";
import type { GroupObservation, RebalanceAction, RebalanceLimits } from "./rebalance-types.js";
import { createRejoinGuard } from "./rejoin-guard.js";

/** A partition as the meta table records it, as far as the controller compares it. */
export interface RecordedMembership {
  readonly partitionId: number;
  readonly epoch: number;
  readonly replicas: readonly number[];
  readonly learners: readonly number[];
  readonly leaderHint?: number;
}

export interface ControllerEnvironment {
  /** The node registry as the meta table holds it. */
  nodes(): readonly NodeInfo[];
  /** The partition table's membership records. */
  partitions(): readonly RecordedMembership[];
  setNodeState(nodeId: number, state: NodeState): Promise<void>;
  /** One observation per partition whose leader answered. */
  observe(): Promise<readonly GroupObservation[]>;
  /** Records observed membership in the meta table (UpdatePartition at `expectedEpoch`). */
  recordMembership(observation: GroupObservation, expectedEpoch: number): Promise<void>;
  /** Carries out one membership step (or leadership transfer) on the group. */
  execute(action: RebalanceAction): Promise<void>;
  /**
   * Replicas seen at the last observation on nodes outside their group's
   * configuration (node → partitions); none when the environment cannot tell.
   */
  strayReplicas?(): ReadonlyMap<number, readonly number[]>;
}

export interface ControllerOptions {
  readonly environment: ControllerEnvironment;
  readonly detector: FailureDetectorConfig;
  readonly limits: RebalanceLimits;
  /** A learner whose lag falls no further for this long is replaced (default 60 s). */
  readonly learnerStallMs?: number;
  /** Quiet time before leaders are spread (leader-settle.ts; default 10 s). */
  readonly leaderSettleMs?: number;
  /** A transfer asked for counts as under way this long unless the leader changes (default 5 s). */
  readonly transferTimeoutMs?: number;
  /** A node that left a group gets no fresh replica of it this long (rejoin-guard.ts; 30 s). */
  readonly rejoinAfterMs?: number;
}

/** Default of ControllerOptions.learnerStallMs. */
export const defaultLearnerStallMs = 60_000;
/** Default of ControllerOptions.leaderSettleMs. */
export const defaultLeaderSettleMs = 10_000;
/** Default of ControllerOptions.transferTimeoutMs: above raft's default election timeout. */
export const defaultTransferTimeoutMs = 5_000;
/** Default of ControllerOptions.rejoinAfterMs. */
export const defaultRejoinAfterMs = 30_000;

export interface RoundFailure {
  readonly action: RebalanceAction | string;
  readonly error: unknown;
}

export interface RoundReport {
  /** The round's time (its `nowMs`): what its decisions were based on. */
  readonly atMs: number;
  readonly transitions: readonly NodeTransition[];
  readonly recorded: readonly number[];
  readonly actions: readonly RebalanceAction[];
  readonly failures: readonly RoundFailure[];
}

export interface Controller {
  /** This node became the meta leader: every registered node's timer starts now. */
  onLeadershipStart(nowMs: number): void;
  onHeartbeat(nodeId: number, nowMs: number): void;
  /** This process stood still for `pauseMs`: nobody's silence (FailureDetector.onPause). */
  onPause(pauseMs: number): void;
  round(nowMs: number): Promise<RoundReport>;
  /** Whether `nodeId` may receive a fresh replica of `partitionId` now (rejoin-guard.ts). */
  mayJoin(partitionId: number, nodeId: number, nowMs: number): boolean;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

function differs(recorded: RecordedMembership, observed: GroupObservation): boolean {
  return (
    !sameMembers(recorded.replicas, observed.voters) ||
    !sameMembers(recorded.learners, observed.learners) ||
    recorded.leaderHint !== observed.leader
  );
}

export function createController(options: ControllerOptions): Controller {
  const { environment } = options;
  const detector = createFailureDetector(options.detector);
  const learners = createLearnerWatch(
    options.learnerStallMs ?? defaultLearnerStallMs,
    options.limits.catchUpLagMax,
  );
  const settle = createLeaderSettle({
    settleMs: options.leaderSettleMs ?? defaultLeaderSettleMs,
    transferTimeoutMs: options.transferTimeoutMs ?? defaultTransferTimeoutMs,
  });
  const rejoin = createRejoinGuard(options.rejoinAfterMs ?? defaultRejoinAfterMs);
  const recordChanges = async (
    observations: readonly GroupObservation[],
    failures: RoundFailure[],
  ): Promise<number[]> => {
    const recorded = new Map(environment.partitions().map((p) => [p.partitionId, p]));
    const updated: number[] = [];
    // One record per partition, each at its own epoch: independent, so they go out together.
    await Promise.all(observations.map(async (observation) => {
      const record = recorded.get(observation.partitionId);
      if (record === undefined || !differs(record, observation)) return;
      try {
        await environment.recordMembership(observation, record.epoch);
        updated.push(observation.partitionId);
      } catch (error) {
        failures.push({ action: `record partition ${observation.partitionId}`, error });
      }
    }));
    return updated.sort((a, b) => a - b);
  };
  const applyVerdicts = async (nowMs: number, failures: RoundFailure[]) => {
    const states = new Map(environment.nodes().map((node) => [node.nodeId, node.state]));
    const transitions: NodeTransition[] = [];
    for (const transition of detector.evaluate(states, nowMs)) {
      // Proposals go one by one: an operator may have changed the node meanwhile (a drain).
      const current = environment.nodes().find((node) => node.nodeId === transition.nodeId);
      if (current?.state !== transition.from) continue;
      transitions.push(transition);
      try {
        await environment.setNodeState(transition.nodeId, transition.to);
      } catch (error) {
        failures.push({ action: `node ${transition.nodeId} → ${transition.to}`, error });
      }
    }
    return transitions;
  };
  /** This round's observations with stalled learners and barred nodes marked. */
  const observeGroups = async (nowMs: number): Promise<GroupObservation[]> => {
    const observed = learners.observe(await environment.observe(), nowMs);
    rejoin.onStrayReplicas(environment.strayReplicas?.() ?? new Map(), nowMs);
    return rejoin.observe(observed, nowMs);
  };
  const execute = async (
    actions: readonly RebalanceAction[],
    nowMs: number,
    failures: RoundFailure[],
  ): Promise<void> => {
    // The planner gives at most one action per group (and the rate limits bound
    // their number), so the groups' steps run side by side.
    await Promise.all(actions.map(async (action) => {
      try {
        await environment.execute(action);
        settle.onExecuted(action, nowMs);
        if (action.kind === "remove") rejoin.onRemoved(action.partitionId, action.nodeId, nowMs);
      } catch (error) {
        // A remove whose answer was lost may still have happened: its departure counts.
        if (action.kind === "remove") rejoin.onRemoved(action.partitionId, action.nodeId, nowMs);
        // A failed transfer is not under way; a failed membership step still stirred the group.
        if (action.kind !== "transfer_leadership") settle.onExecuted(action, nowMs);
        failures.push({ action, error });
      }
    }));
  };
  return {
    onLeadershipStart(nowMs) {
      detector.reset(environment.nodes().map((node) => node.nodeId), nowMs);
      settle.onLeadershipStart(nowMs);
    },
    onHeartbeat: (nodeId, nowMs) => detector.onHeartbeat(nodeId, nowMs),
    onPause: (pauseMs) => detector.onPause(pauseMs),
    mayJoin: (partitionId, nodeId, nowMs) => rejoin.mayJoin(partitionId, nodeId, nowMs),
    async round(nowMs) {
      const failures: RoundFailure[] = [];
      const transitions = await applyVerdicts(nowMs, failures);
      const observations = await observeGroups(nowMs);
      const recorded = await recordChanges(observations, failures);
      const nodes = environment.nodes();
      // Load counts from a partial view (a group with no leader yet, a node that did not
      // answer) would move replicas toward whoever looks empty: evening out waits for a
      // full view. Repairs and leader transfers go on.
      const observed = new Set(observations.map((observation) => observation.partitionId));
      const complete = environment.partitions().every((p) => observed.has(p.partitionId));
      const limits = complete ? options.limits : { ...options.limits, maxBalanceMoves: 0 };
      const { spreadLeaders, transferring } = settle.observe(nodes, observations, nowMs);
      const groups = observations;
      const actions = planRebalance({ nodes, groups, limits, spreadLeaders, transferring });
      await execute(actions, nowMs, failures);
      return { atMs: nowMs, transitions, recorded, actions, failures };
    },
  };
}
