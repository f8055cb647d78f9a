/**
 * A learner that never catches up is replaced (issue #9): the learner watch
 * marks a learner stalled once its lag reached no new low for the stall
 * time; the planner removes a stalled learner; the controller, over an
 * in-memory environment, plans the removal only after the stall time and
 * then (the group short of its replacement) a fresh learner.
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
  createLearnerWatch,
  defaultRebalanceLimits,
  planRebalance,
} from "../../../framework/cluster/index.js";

const nodes: NodeInfo[] = [1, 2, 3, 4, 5].map((nodeId) => ({
  nodeId, address: `h:${nodeId}`, state: nodeId === 3 ? "dead" : "alive",
}));

/** p1: voters 1,2,3 (3 dead), learner 4 replacing it, at the given lag. */
function replacing(lag: number): GroupObservation {
  return {
    partitionId: 1,
    replicationFactor: 3,
    leader: 1,
    voters: [1, 2, 3],
    learners: [4],
    lag: new Map([[1, 0], [2, 0], [3, 900], [4, lag]]),
    recentlyActive: new Set([1, 2, 4]),
    changing: false,
  };
}

describe("learner watch", () => {
  it("marks a learner stalled once its lag fell no further for the stall time", () => {
    const watch = createLearnerWatch(10_000, 64);
    expect(watch.observe([replacing(500)], 0)[0]!.stalledLearners).toBeUndefined();
    expect(watch.observe([replacing(500)], 9_999)[0]!.stalledLearners).toBeUndefined();
    expect([...watch.observe([replacing(700)], 10_000)[0]!.stalledLearners ?? []]).toEqual([4]);
  });

  it("restarts the clock whenever the lag reaches a new low, or comes within catchUpLagMax", () => {
    const watch = createLearnerWatch(10_000, 64);
    let lag = 5_000;
    for (let now = 0; now <= 60_000; now += 5_000) {
      lag -= 100; // slow but steady: streaming
      expect(watch.observe([replacing(lag)], now)[0]!.stalledLearners).toBeUndefined();
    }
    const near = createLearnerWatch(10_000, 64);
    for (let now = 0; now <= 60_000; now += 5_000) {
      // Caught up but not promoted (e.g. no live quorum with it yet): not stalled.
      expect(near.observe([replacing(60)], now)[0]!.stalledLearners).toBeUndefined();
    }
  });

  it("forgets a learner that left and starts afresh when it comes back", () => {
    const watch = createLearnerWatch(10_000, 64);
    watch.observe([replacing(500)], 0);
    watch.observe([{ ...replacing(0), learners: [] }], 5_000);
    expect(watch.observe([replacing(500)], 12_000)[0]!.stalledLearners).toBeUndefined();
  });

  it("refuses a stall time that is not positive", () => {
    expect(() => createLearnerWatch(0, 64)).toThrow(/stallMs = 0/);
  });
});

describe("planner and controller with a stalled learner", () => {
  it("the planner removes a stalled learner, and waits on one that is not", () => {
    const limits = defaultRebalanceLimits;
    expect(planRebalance({ nodes, groups: [replacing(500)], limits })).toEqual([]);
    const stalled = { ...replacing(500), stalledLearners: new Set([4]) };
    expect(planRebalance({ nodes, groups: [stalled], limits })).toEqual([
      { kind: "remove", partitionId: 1, nodeId: 4, reason: "learner never caught up" },
    ]);
  });

  it("the controller removes it after learnerStallMs, then adds a fresh learner", async () => {
    let observed = replacing(500);
    const executed: RebalanceAction[] = [];
    const environment: ControllerEnvironment = {
      nodes: () => nodes,
      partitions: () => [{ partitionId: 1, epoch: 1, replicas: [1, 2, 3], learners: [4], leaderHint: 1 }],
      setNodeState: async () => {},
      observe: async () => [observed],
      recordMembership: async () => {},
      async execute(action) {
        executed.push(action);
        if (action.kind === "remove") observed = { ...observed, learners: [] };
      },
    };
    const controller = createController({
      environment,
      detector: { suspectAfterMs: 1_000_000, deadAfterMs: 2_000_000 },
      limits: defaultRebalanceLimits,
      learnerStallMs: 30_000,
    });
    controller.onLeadershipStart(0);
    for (let now = 0; now < 30_000; now += 1_000) {
      expect((await controller.round(now)).actions).toEqual([]);
    }
    const removal = await controller.round(30_000);
    expect(removal.actions).toEqual([
      { kind: "remove", partitionId: 1, nodeId: 4, reason: "learner never caught up" },
    ]);
    const next = await controller.round(31_000);
    expect(next.actions).toHaveLength(1);
    expect(next.actions[0]).toMatchObject({ kind: "add_learner", partitionId: 1, reason: "replaces node 3" });
    expect(executed).toHaveLength(2);
  });
});
