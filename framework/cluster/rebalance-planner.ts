/**
 * One planning round of the rebalancer (run by the meta leader's
 * controller): repairs first, then — only when no move is under way — one
 * replica move to even load, then leader spreading. Rate limits: moves under
 * way cluster-wide, new moves per round, transfers per round. Pure and
 * deterministic: the same input plans the same actions.
 */
import { assert } from "../raft/index.js";
import type { NodeInfo } from "./cluster-manager.js";
import { planLeaderTransfers, planReplicaMove } from "./balance-planner.js";
import { statesOf } from "./membership-safety.js";
import { computeLoads } from "./placement.js";
import type { RebalanceAction, RebalanceInput } from "./rebalance-types.js";
import { planRepair } from "./repair-planner.js";

function checkInput(input: RebalanceInput): void {
  const { limits } = input;
  const { maxConcurrentMoves, maxNewMovesPerRound } = limits;
  assert(maxConcurrentMoves >= 1, `maxConcurrentMoves = ${maxConcurrentMoves}, allowed ≥ 1`);
  assert(maxNewMovesPerRound >= 1, `maxNewMovesPerRound = ${maxNewMovesPerRound}, allowed ≥ 1`);
  assert(limits.catchUpLagMax >= 0, `catchUpLagMax = ${limits.catchUpLagMax}, allowed ≥ 0`);
  const ids = new Set<number>();
  for (const group of input.groups) {
    assert(!ids.has(group.partitionId), `partition ${group.partitionId} observed twice`);
    ids.add(group.partitionId);
  }
}

export function planRebalance(input: RebalanceInput): RebalanceAction[] {
  checkInput(input);
  const { limits } = input;
  const groups = [...input.groups].sort((a, b) => a.partitionId - b.partitionId);
  const nodes = new Map<number, NodeInfo>(input.nodes.map((node) => [node.nodeId, node]));
  const states = statesOf(input.nodes);
  const loads = computeLoads(
    groups.map((group) => ({
      replicas: group.voters,
      learners: group.learners,
      leaderHint: group.leader,
    })),
  );
  let underWay = groups.filter((group) => group.learners.length > 0).length;
  let started = 0;
  const actions: RebalanceAction[] = [];
  for (const group of groups) {
    const action = planRepair(group, { nodes, states, loads, limits });
    if (action === undefined) continue;
    if (action.kind === "add_learner") {
      if (underWay >= limits.maxConcurrentMoves || started >= limits.maxNewMovesPerRound) continue;
      underWay++;
      started++;
    }
    actions.push(action);
  }
  const context = { nodes: input.nodes, states, loads, limits };
  if (actions.length === 0 && underWay === 0) {
    const move = planReplicaMove(groups, context);
    if (move !== undefined) actions.push(move);
  }
  const busy = new Set(actions.map((action) => action.partitionId));
  actions.push(...planLeaderTransfers(groups, context, limits.maxTransfersPerRound, busy));
  return actions;
}
