/**
 * Quorum arithmetic for membership steps: a step is allowed only if the
 * group keeps a quorum of live voters after it (Raft §4.1 / thesis §4.1:
 * one server at a time, so old and new majorities overlap).
 */
import type { NodeInfo, NodeState } from "./cluster-manager.js";

export function majority(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * Voters that count as up: on an alive or draining node (a draining node
 * runs and votes until removed; a suspect may be down) and, when the
 * leader's view is given, recently active by it (raft's recentActive: the
 * registry lags a crash by the suspicion period, the leader does not).
 */
export function liveVoters(
  voters: readonly number[],
  states: ReadonlyMap<number, NodeState>,
  recentlyActive?: ReadonlySet<number>,
): number {
  return voters.filter((nodeId) => {
    const state = states.get(nodeId);
    if (state !== "alive" && state !== "draining") return false;
    return recentlyActive === undefined || recentlyActive.has(nodeId);
  }).length;
}

/** Would `voters` still have a live quorum? */
export function keepsQuorum(
  voters: readonly number[],
  states: ReadonlyMap<number, NodeState>,
  recentlyActive?: ReadonlySet<number>,
): boolean {
  return voters.length > 0 && liveVoters(voters, states, recentlyActive) >= majority(voters.length);
}

/** A node that should hold no replica: dead, draining or removed. */
export function isUnusable(state: NodeState | undefined): boolean {
  return state === undefined || state === "dead" || state === "draining" || state === "removed";
}

export function statesOf(nodes: readonly NodeInfo[]): Map<number, NodeState> {
  return new Map(nodes.map((node) => [node.nodeId, node.state]));
}
