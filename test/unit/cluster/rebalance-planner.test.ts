import { describe, expect, it } from "vitest";
import type {
  GroupObservation,
  NodeInfo,
  NodeState,
  RebalanceLimits,
} from "../../../framework/cluster/index.js";
import { defaultRebalanceLimits, planRebalance } from "../../../framework/cluster/index.js";

const node = (nodeId: number, state: NodeState = "alive", zone?: string): NodeInfo =>
  zone === undefined
    ? { nodeId, address: `h:${nodeId}`, state }
    : { nodeId, address: `h:${nodeId}`, state, zone };

function group(
  partitionId: number,
  voters: number[],
  extra: Partial<GroupObservation> = {},
): GroupObservation {
  return {
    partitionId,
    replicationFactor: 3,
    leader: voters[0] ?? 0,
    voters,
    learners: [],
    lag: new Map(),
    recentlyActive: new Set([...voters, ...(extra.learners ?? [])]),
    changing: false,
    ...extra,
  };
}

const limits = (extra: Partial<RebalanceLimits> = {}): RebalanceLimits => ({
  ...defaultRebalanceLimits,
  ...extra,
});

describe("rebalance planner: repair", () => {
  it("replaces a dead voter by adding a learner on the least loaded node first", () => {
    const nodes = [node(1), node(2), node(3, "dead"), node(4)];
    const actions = planRebalance({ nodes, groups: [group(1, [1, 2, 3])], limits: limits() });
    const reason = "replaces node 3";
    expect(actions).toEqual([{ kind: "add_learner", partitionId: 1, nodeId: 4, reason }]);
  });

  it("promotes a caught-up learner, waits for a lagging one", () => {
    const nodes = [node(1), node(2), node(3, "dead"), node(4)];
    const lagging = group(1, [1, 2, 3], { learners: [4], lag: new Map([[4, 500]]) });
    expect(planRebalance({ nodes, groups: [lagging], limits: limits() })).toEqual([]);
    const caughtUp = { ...lagging, lag: new Map([[4, 3]]) };
    expect(planRebalance({ nodes, groups: [caughtUp], limits: limits() })).toEqual([
      { kind: "promote", partitionId: 1, nodeId: 4 },
    ]);
  });

  it("then removes the dead voter, never the live ones", () => {
    const nodes = [node(1), node(2), node(3, "dead"), node(4)];
    const actions = planRebalance({ nodes, groups: [group(1, [1, 2, 3, 4])], limits: limits() });
    const reason = "above replication factor";
    expect(actions).toEqual([{ kind: "remove", partitionId: 1, nodeId: 3, reason }]);
  });

  it("does not promote when the new configuration would lack a live quorum", () => {
    // Voters 1 (alive), 2 and 3 dead: promoting 4 gives 2 live of 4 < 3.
    const nodes = [node(1), node(2, "dead"), node(3, "dead"), node(4)];
    const observed = group(1, [1, 2, 3], { learners: [4], lag: new Map([[4, 0]]) });
    expect(planRebalance({ nodes, groups: [observed], limits: limits() })).toEqual([]);
  });

  it("trusts the leader's recentlyActive: no promotion that needs a silent voter", () => {
    // The registry still says 2 and 3 are alive, but the leader has not heard from 3.
    const nodes = [node(1), node(2), node(3), node(4)];
    const observed = group(1, [1, 2, 3], {
      learners: [4],
      lag: new Map([[4, 0]]),
      recentlyActive: new Set([1, 4]),
    });
    expect(planRebalance({ nodes, groups: [observed], limits: limits() })).toEqual([]);
  });

  it("does nothing while the group changes membership or while a node is only suspect", () => {
    const nodes = [node(1), node(2), node(3, "suspect"), node(4)];
    const groups = [group(1, [1, 2, 3]), group(2, [1, 2, 4], { changing: true })];
    const actions = planRebalance({ nodes, groups, limits: limits() });
    expect(actions.filter((action) => action.kind !== "transfer_leadership")).toEqual([]);
  });

  it("moves the leader off a replica about to be removed before removing it", () => {
    const nodes = [node(1, "draining"), node(2), node(3), node(4)];
    const actions = planRebalance({ nodes, groups: [group(1, [1, 2, 3, 4])], limits: limits() });
    expect(actions).toEqual([
      {
        kind: "transfer_leadership",
        partitionId: 1,
        from: 1,
        to: 2,
        reason: "leader to be removed",
      },
    ]);
  });

  it("keeps zones apart when replacing", () => {
    const nodes = [
      node(1, "alive", "a"),
      node(2, "alive", "b"),
      node(3, "dead", "c"),
      node(4, "alive", "a"),
      node(5, "alive", "c"),
    ];
    const actions = planRebalance({ nodes, groups: [group(1, [1, 2, 3])], limits: limits() });
    const reason = "replaces node 3";
    expect(actions).toEqual([{ kind: "add_learner", partitionId: 1, nodeId: 5, reason }]);
  });
});

describe("rebalance planner: rate limits", () => {
  it("starts at most maxNewMovesPerRound moves, and none beyond maxConcurrentMoves", () => {
    const nodes = [node(1), node(2), node(3, "dead"), node(4), node(5)];
    const groups = [1, 2, 3, 4, 5].map((id) => group(id, [1, 2, 3]));
    const first = planRebalance({ nodes, groups, limits: limits({ maxNewMovesPerRound: 2 }) });
    const started = first.filter((action) => action.kind === "add_learner");
    expect(started.map((action) => action.partitionId)).toEqual([1, 2]);
    const moving = { learners: [4], lag: new Map([[4, 999]]) };
    const busy = groups.map((g, index) => (index < 3 ? { ...g, ...moving } : g));
    const capped = limits({ maxConcurrentMoves: 3 });
    const second = planRebalance({ nodes, groups: busy, limits: capped });
    expect(second.filter((action) => action.kind === "add_learner")).toEqual([]);
  });
});

describe("rebalance planner: evening out", () => {
  it("moves one replica from the most loaded (then most leading) node to the least loaded", () => {
    const nodes = [node(1), node(2), node(3), node(4)];
    const groups = [group(1, [1, 2, 3]), group(2, [1, 2, 3]), group(3, [1, 2, 3], { leader: 2 })];
    const actions = planRebalance({ nodes, groups, limits: limits({ leaderSlack: 5 }) });
    expect(actions).toEqual([
      { kind: "add_learner", partitionId: 1, nodeId: 4, reason: "evens load: node 1 → node 4" },
    ]);
  });

  it("spreads leaders: no node keeps more than its share when a voter can take one", () => {
    const nodes = [node(1), node(2), node(3)];
    const groups = [1, 2, 3, 4, 5, 6].map((id) => group(id, [1, 2, 3]));
    const actions = planRebalance({ nodes, groups, limits: limits() });
    expect(actions.map((action) => action.kind)).toEqual(Array(4).fill("transfer_leadership"));
    const to = actions.map((action) => (action.kind === "transfer_leadership" ? action.to : 0));
    expect(to).toEqual([2, 3, 2, 3]);
  });

  it("spreads no leader in a round that takes a membership step (the cluster is not settled)", () => {
    const nodes = [node(1), node(2), node(3), node(4, "dead"), node(5)];
    // Node 1 leads all six groups of nodes 1-3; group 7 lost node 4 and is repaired this round.
    const groups = [...[1, 2, 3, 4, 5, 6].map((id) => group(id, [1, 2, 3])), group(7, [1, 2, 4])];
    const actions = planRebalance({ nodes, groups, limits: limits() });
    expect(actions).toEqual([{ kind: "add_learner", partitionId: 7, nodeId: 5, reason: "replaces node 4" }]);
    // Without the repair, the same leaders are spread.
    const settled = planRebalance({ nodes: nodes.slice(0, 3), groups: groups.slice(0, 6), limits: limits() });
    expect(settled.every((action) => action.kind === "transfer_leadership")).toBe(true);
    expect(settled.length).toBeGreaterThan(0);
  });
});

describe("rebalance planner: several load moves at once (maxBalanceMoves)", () => {
  const nodes = [node(1), node(2), node(3), node(4), node(5)];
  // Ten groups on nodes 1-4, node 5 empty (it just joined or returned).
  const groups = Array.from({ length: 10 }, (_, index) =>
    group(index + 1, [[1, 2, 3], [2, 3, 4], [1, 3, 4], [1, 2, 4]][index % 4]!, { leader: 0 }));
  const moves = (actions: ReturnType<typeof planRebalance>) =>
    actions.filter((action) => action.kind === "add_learner");

  it("starts one move at a time by default", () => {
    expect(moves(planRebalance({ nodes, groups, limits: limits() }))).toHaveLength(1);
  });

  it("starts up to the limit, each in its own group, all toward the least loaded node", () => {
    const planned = moves(planRebalance({
      nodes,
      groups,
      limits: limits({ maxBalanceMoves: 3, maxNewMovesPerRound: 3 }),
    }));
    expect(planned).toHaveLength(3);
    expect(new Set(planned.map((action) => action.partitionId)).size).toBe(3);
    expect(planned.every((action) => action.kind === "add_learner" && action.nodeId === 5)).toBe(true);
  });

  it("counts moves in flight (a learner or a voter above the factor) against the limit", () => {
    const inFlight = [
      ...groups.slice(2),
      group(1, [1, 2, 3], { learners: [5], lag: new Map([[5, 500]]), leader: 0 }),
      group(2, [2, 3, 4, 5], { leader: 0 }),
    ];
    const planned = moves(planRebalance({
      nodes,
      groups: inFlight,
      limits: limits({ maxBalanceMoves: 3, maxNewMovesPerRound: 3 }),
    }));
    expect(planned).toHaveLength(1);
  });

  it("waits while any group needs repair", () => {
    const withDead = [node(1), node(2), node(3), node(4), node(5), node(6, "dead")];
    const broken = [...groups.slice(1), group(1, [1, 2, 6], { leader: 0 })];
    const actions = planRebalance({
      nodes: withDead,
      groups: broken,
      limits: limits({ maxBalanceMoves: 3, maxNewMovesPerRound: 3 }),
    });
    expect(moves(actions).map((action) => action.partitionId)).toEqual([1]);
  });
});

describe("rebalance planner: shrinking a group above its factor", () => {
  it("picks the same voter whoever leads (no leadership ping-pong)", () => {
    const nodes = [node(1), node(2), node(3), node(4), node(5)];
    // Nodes 2 and 4 hold as many replicas; only group 1's leadership tells them apart.
    const others = [group(2, [2, 3, 4], { leader: 3 }), group(3, [2, 4, 5], { leader: 5 })];
    const removalFor = (leader: number) => {
      const groups = [group(1, [1, 2, 4, 5], { leader }), ...others];
      return planRebalance({ nodes, groups, limits: limits() }).find((a) => a.partitionId === 1);
    };
    // Led by node 4: leadership moves away from it first; led by node 2: node 4 is removed.
    expect(removalFor(4)).toMatchObject({ kind: "transfer_leadership", from: 4 });
    expect(removalFor(2)).toEqual({
      kind: "remove",
      partitionId: 1,
      nodeId: 4,
      reason: "above replication factor",
    });
  });
});
