/**
 * One planning round of the rebalancer (run by the meta leader's
 * controller): repairs first, then — only when no move is under way — one
 * replica move to even load, then leader spreading. Rate limits: moves under
 * way cluster-wide, new moves per round, transfers per round. Pure and
 * deterministic: the same input plans the same actions.
 */
import { assert } from "../raft/index.js";
import type { NodeInfo } from "./cluster-manager.js";
import { planLeaderTransfers, planReplicaMoves } from "./balance-planner.js";
import { isUnusable, statesOf } from "./membership-safety.js";
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
  const transferring = input.transferring ?? new Map<number, number>();
  // A group with a transfer under way gets no step (raft would drop it) and is counted as
  // led by the transfer's target (otherwise other groups' leaderships would move as well).
  const groups = [...input.groups]
    .map((group) => {
      const to = transferring.get(group.partitionId);
      return to === undefined ? group : { ...group, leader: to, changing: true };
    })
    .sort((a, b) => a.partitionId - b.partitionId);
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
  // Evening out waits for every repair: a group short of voters, or with one on an unusable node.
  const needsRepair = groups.some((group) =>
    group.voters.length < group.replicationFactor ||
    group.voters.some((id) => isUnusable(states.get(id))) ||
    group.learners.some((id) => isUnusable(states.get(id))));
  const inFlight = groups.filter((group) =>
    group.learners.length > 0 || group.voters.length > group.replicationFactor).length;
  const balanceRoom = Math.min(
    limits.maxBalanceMoves - inFlight,
    limits.maxConcurrentMoves - underWay,
    limits.maxNewMovesPerRound - started,
  );
  const acted = new Set(actions.map((action) => action.partitionId));
  if (!needsRepair && !actions.some((action) => action.kind === "add_learner") && balanceRoom > 0) {
    actions.push(...planReplicaMoves(groups, context, balanceRoom, acted));
  }
  const busy = new Set(actions.map((action) => action.partitionId));
  // A round that takes a membership step is not a settled cluster: its leaders are spread
  // later (the step restarts the quiet time), never beside the step (the settle checks of
  // test/sim/cluster caught a spreading transfer in the same round as a repair's add_learner).
  const spread = (input.spreadLeaders ?? true) && actions.length === 0;
  actions.push(...planLeaderTransfers(groups, context, limits.maxTransfersPerRound, busy, spread));
  // The controller runs a round's actions side by side: never two steps of one group.
  const planned = new Set(actions.map((action) => action.partitionId));
  const count = actions.length;
  assert(planned.size === count, () => `${count} actions for ${planned.size} groups`);
  return actions;
}
