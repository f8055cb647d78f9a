/**
 * The controller's guards (issue #9), deterministic (time passed in):
 * - leader settling: no leader spreading until the cluster was quiet for
 *   leaderSettleMs (after the controller starts, a node state change, a
 *   membership step); a transfer under way is not asked again, and its group
 *   gets no other step, until the leader changes or the transfer times out;
 *   a draining node's leaderships move at once;
 * - rejoin guard: a node that left a group gets no fresh replica of it for
 *   rejoinAfterMs (repair placement and load moves pass it over);
 * - pause: a stall of the meta leader's own process is nobody's silence.
 */
import { describe, expect, it } from "vitest";
import type {
  ControllerEnvironment,
  GroupObservation,
  NodeInfo,
  RebalanceAction,
} from "../../../framework/cluster/index.js";
import {
  createController,
  createFailureDetector,
  createLeaderSettle,
  createRejoinGuard,
  defaultRebalanceLimits,
  planRebalance,
} from "../../../framework/cluster/index.js";

function aliveNodes(ids: readonly number[], states: Record<number, NodeInfo["state"]> = {}): NodeInfo[] {
  return ids.map((nodeId) => ({ nodeId, address: `h:${nodeId}`, state: states[nodeId] ?? "alive" }));
}

function group(partitionId: number, leader: number, voters: readonly number[]): GroupObservation {
  return {
    partitionId,
    replicationFactor: voters.length,
    leader,
    voters,
    learners: [],
    lag: new Map(voters.map((id) => [id, 0])),
    recentlyActive: new Set(voters),
    changing: false,
  };
}

/** A fake environment whose groups follow the controller's steps (transfers only when `obey`). */
function environmentOf(nodes: () => NodeInfo[], groups: GroupObservation[]) {
  const executed: { action: RebalanceAction; round: number }[] = [];
  let round = 0;
  let obey = false;
  const environment: ControllerEnvironment = {
    nodes,
    partitions: () => groups.map((g) => ({
      partitionId: g.partitionId, epoch: 1, replicas: g.voters, learners: g.learners, leaderHint: g.leader,
    })),
    setNodeState: async () => {},
    observe: async () => {
      round++;
      return groups;
    },
    recordMembership: async () => {},
    async execute(action) {
      executed.push({ action, round });
      if (action.kind === "transfer_leadership" && obey) {
        const index = groups.findIndex((g) => g.partitionId === action.partitionId);
        groups[index] = { ...groups[index]!, leader: action.to };
      }
    },
  };
  return { environment, executed, obeyTransfers: () => (obey = true) };
}

const limits = { ...defaultRebalanceLimits, maxTransfersPerRound: 10 };

describe("leader settling", () => {
  /** Node 1 leads all four groups of three nodes: share 2, two of them should move. */
  const lopsided = (): GroupObservation[] => [1, 2, 3, 4].map((id) => group(id, 1, [1, 2, 3]));

  it("spreads leaders only after leaderSettleMs of quiet since the start", async () => {
    const { environment, executed } = environmentOf(() => aliveNodes([1, 2, 3]), lopsided());
    const controller = createController({
      environment, limits, leaderSettleMs: 5_000, transferTimeoutMs: 2_000,
      detector: { suspectAfterMs: 1e6, deadAfterMs: 2e6 },
    });
    controller.onLeadershipStart(10_000);
    for (let now = 10_000; now < 15_000; now += 500) {
      expect((await controller.round(now)).actions).toEqual([]);
    }
    const spread = await controller.round(15_000);
    expect(spread.actions.map((a) => a.kind)).toEqual(["transfer_leadership", "transfer_leadership"]);
    expect(executed).toHaveLength(2);
  });

  it("never asks a transfer under way again, and asks again once it timed out", async () => {
    const { environment, executed } = environmentOf(() => aliveNodes([1, 2, 3]), lopsided());
    const controller = createController({
      environment, limits, leaderSettleMs: 0, transferTimeoutMs: 2_000,
      detector: { suspectAfterMs: 1e6, deadAfterMs: 2e6 },
    });
    controller.onLeadershipStart(0);
    const first = await controller.round(0);
    expect(first.actions).toHaveLength(2);
    // The groups do not move (the fake ignores transfers): nothing is asked while under way.
    for (let now = 500; now < 2_000; now += 500) {
      expect((await controller.round(now)).actions).toEqual([]);
    }
    const again = await controller.round(2_000);
    expect(again.actions).toEqual(first.actions);
    expect(executed).toHaveLength(4);
  });

  it("a transfer that happened ends the wait at once; nothing more to do", async () => {
    const { environment, executed, obeyTransfers } = environmentOf(() => aliveNodes([1, 2, 3]), lopsided());
    obeyTransfers();
    const controller = createController({
      environment, limits, leaderSettleMs: 0, transferTimeoutMs: 60_000,
      detector: { suspectAfterMs: 1e6, deadAfterMs: 2e6 },
    });
    controller.onLeadershipStart(0);
    expect((await controller.round(0)).actions).toHaveLength(2);
    expect((await controller.round(500)).actions).toEqual([]);
    expect(executed).toHaveLength(2);
  });

  it("a node state change or a membership step restarts the quiet time", () => {
    const settle = createLeaderSettle({ settleMs: 1_000, transferTimeoutMs: 500 });
    const nodes = aliveNodes([1, 2, 3]);
    const groups = [group(1, 1, [1, 2, 3])];
    settle.onLeadershipStart(0);
    expect(settle.observe(nodes, groups, 999).spreadLeaders).toBe(false);
    expect(settle.observe(nodes, groups, 1_000).spreadLeaders).toBe(true);
    expect(settle.observe(aliveNodes([1, 2, 3], { 3: "suspect" }), groups, 1_100).spreadLeaders).toBe(false);
    expect(settle.observe(aliveNodes([1, 2, 3], { 3: "suspect" }), groups, 2_100).spreadLeaders).toBe(true);
    settle.onExecuted({ kind: "promote", partitionId: 1, nodeId: 3 }, 2_200);
    expect(settle.observe(aliveNodes([1, 2, 3], { 3: "suspect" }), groups, 3_199).spreadLeaders).toBe(false);
    const moving = [{ ...group(1, 1, [1, 2, 3]), learners: [4] }];
    expect(settle.observe(aliveNodes([1, 2, 3], { 3: "suspect" }), moving, 5_000).spreadLeaders).toBe(false);
  });

  it("moves a draining node's leaderships while settling", () => {
    const nodes = aliveNodes([1, 2, 3], { 1: "draining" });
    const actions = planRebalance({
      nodes, groups: [group(1, 1, [1, 2, 3])], limits, spreadLeaders: false,
    });
    expect(actions).toEqual([{
      kind: "transfer_leadership", partitionId: 1, from: 1, to: 2, reason: "leader's node is draining",
    }]);
    const spreading = planRebalance({ nodes: aliveNodes([1, 2, 3]), groups: lopsided(), limits, spreadLeaders: false });
    expect(spreading).toEqual([]);
  });

  it("refuses bad settings, naming them", () => {
    expect(() => createLeaderSettle({ settleMs: -1, transferTimeoutMs: 1 })).toThrow(/settleMs = -1/);
    expect(() => createLeaderSettle({ settleMs: 0, transferTimeoutMs: 0 })).toThrow(/transferTimeoutMs = 0/);
  });
});

describe("rejoin guard", () => {
  it("bars a removed node from its group for rejoinAfterMs, then lets it back", () => {
    const guard = createRejoinGuard(10_000);
    guard.onRemoved(7, 4, 1_000);
    expect(guard.mayJoin(7, 4, 10_999)).toBe(false);
    expect(guard.mayJoin(7, 5, 1_000)).toBe(true);
    expect(guard.mayJoin(8, 4, 1_000)).toBe(true);
    expect(guard.mayJoin(7, 4, 11_000)).toBe(true);
  });

  it("dates a departure it did not cause from the first observation without the node", () => {
    const guard = createRejoinGuard(10_000);
    guard.observe([group(7, 1, [1, 2, 4])], 0);
    const after = guard.observe([group(7, 1, [1, 2, 3])], 2_000);
    expect([...after[0]!.barredNodes ?? []]).toEqual([4]);
    expect(guard.mayJoin(7, 4, 11_999)).toBe(false);
    expect(guard.observe([group(7, 1, [1, 2, 3])], 12_000)[0]!.barredNodes).toBeUndefined();
  });

  it("bars a stray replica's node (a departure a new meta leader cannot date) from now", () => {
    const guard = createRejoinGuard(10_000);
    guard.onStrayReplicas(new Map([[5, [7]]]), 3_000);
    guard.onStrayReplicas(new Map([[5, [7]]]), 9_000);
    expect(guard.mayJoin(7, 5, 12_999)).toBe(false);
    expect(guard.mayJoin(7, 5, 13_000)).toBe(true);
  });

  it("repair places the replacement elsewhere; a load move skips the barred node", () => {
    const nodes = aliveNodes([1, 2, 3, 4, 5], { 3: "dead" });
    const short = { ...group(1, 1, [1, 2, 3]), barredNodes: new Set([4]) };
    const repair = planRebalance({ nodes, groups: [short], limits });
    expect(repair).toEqual([{ kind: "add_learner", partitionId: 1, nodeId: 5, reason: "replaces node 3" }]);
    const onlyFour = aliveNodes([1, 2, 3, 4], { 3: "dead" });
    expect(planRebalance({ nodes: onlyFour, groups: [short], limits })).toEqual([]);
    // Node 4 holds nothing; the only movable group bars it: no move.
    const even = aliveNodes([1, 2, 3, 4]);
    const groups = [1, 2].map((id) => ({ ...group(id, id, [1, 2, 3]), barredNodes: new Set([4]) }));
    expect(planRebalance({ nodes: even, groups, limits }).filter((a) => a.kind === "add_learner")).toEqual([]);
    const unbarred = [1, 2].map((id) => group(id, id, [1, 2, 3]));
    const moves = planRebalance({ nodes: even, groups: unbarred, limits }).filter((a) => a.kind === "add_learner");
    expect(moves.map((a) => a.kind === "add_learner" && a.nodeId)).toEqual([4]);
  });

  it("the controller does not put a replica back on the node it just removed", async () => {
    // p1 on 1,2,3 plus 4 above the factor: 4 is removed; then 3 dies and the repair must not pick 4.
    const states: Record<number, NodeInfo["state"]> = {};
    let observed: GroupObservation = { ...group(1, 1, [1, 2, 3, 4]), replicationFactor: 3 };
    const environment: ControllerEnvironment = {
      nodes: () => aliveNodes([1, 2, 3, 4, 5], states),
      partitions: () => [{ partitionId: 1, epoch: 1, replicas: observed.voters, learners: [], leaderHint: 1 }],
      setNodeState: async () => {},
      observe: async () => [observed],
      recordMembership: async () => {},
      async execute(action) {
        if (action.kind === "remove") observed = { ...observed, voters: observed.voters.filter((id) => id !== action.nodeId) };
      },
    };
    const controller = createController({
      environment, limits, rejoinAfterMs: 10_000, detector: { suspectAfterMs: 1e6, deadAfterMs: 2e6 },
    });
    controller.onLeadershipStart(0);
    // Nodes 4 and 5 hold nothing else: unbarred, node 4 (lower id) would be placement's pick.
    const removal = await controller.round(0);
    expect(removal.actions).toEqual([{ kind: "remove", partitionId: 1, nodeId: 4, reason: "above replication factor" }]);
    states[3] = "dead";
    const repair = await controller.round(1_000);
    expect(repair.actions).toEqual([{ kind: "add_learner", partitionId: 1, nodeId: 5, reason: "replaces node 3" }]);
    // Removed at 0, first observed gone at 1,000: the later sign counts.
    expect(controller.mayJoin(1, 4, 10_999)).toBe(false);
    expect(controller.mayJoin(1, 4, 11_000)).toBe(true);
  });
});

describe("failure detector and a stall of its own process", () => {
  it("a pause is nobody's silence; without it every node would be dead", () => {
    const config = { suspectAfterMs: 1_000, deadAfterMs: 2_000 };
    const current = new Map([[1, "alive"], [2, "alive"]] as const);
    const paused = createFailureDetector(config);
    const unaware = createFailureDetector(config);
    for (const detector of [paused, unaware]) {
      detector.reset([1, 2], 0);
      detector.onHeartbeat(1, 500);
      detector.onHeartbeat(2, 500);
    }
    // The process stood still from 600 to 3,600.
    paused.onPause(3_000);
    expect(paused.evaluate(current, 3_600)).toEqual([]);
    expect(unaware.evaluate(current, 3_600).map((t) => t.to)).toEqual(["dead", "dead"]);
    // Silence after the pause counts again: node 2 beats, node 1 does not.
    paused.onHeartbeat(2, 4_000);
    expect(paused.evaluate(current, 5_500)).toEqual([
      { nodeId: 1, from: "alive", to: "dead" },
      { nodeId: 2, from: "alive", to: "suspect" },
    ]);
  });
});

describe("failure detector verdicts and an operator's drain", () => {
  it("a verdict is not proposed once the node's state changed after the round began (a drain)", async () => {
    // Nodes 1 and 2 never beat: both turn dead in one round. While the first verdict is
    // proposed, the operator drains node 2 (committed before the second proposal).
    const states: Record<number, NodeInfo["state"]> = {};
    const proposed: string[] = [];
    const environment: ControllerEnvironment = {
      nodes: () => aliveNodes([1, 2, 3], states),
      partitions: () => [],
      async setNodeState(nodeId, state) {
        proposed.push(`${nodeId}:${state}`);
        states[nodeId] = state;
        if (nodeId === 1) states[2] = "draining";
      },
      observe: async () => [],
      recordMembership: async () => {},
      execute: async () => {},
    };
    const controller = createController({
      environment, limits, detector: { suspectAfterMs: 1_000, deadAfterMs: 2_000 },
    });
    controller.onLeadershipStart(0);
    controller.onHeartbeat(3, 2_500);
    const report = await controller.round(3_000);
    expect(proposed).toEqual(["1:dead"]);
    expect(report.transitions).toEqual([{ nodeId: 1, from: "alive", to: "dead" }]);
    expect(states[2]).toBe("draining");
  });
});
