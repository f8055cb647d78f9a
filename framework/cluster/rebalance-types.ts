/**
 * The plain data the rebalancer plans over (issue #9): the meta table's
 * nodes, each partition's membership as its raft leader reports it, and the
 * actions that move the cluster one membership step at a time.
 */
import type { NodeInfo } from "./cluster-manager.js";

/** A data group as its leader sees it (NodeHost.status on the leader). */
export interface GroupObservation {
  readonly partitionId: number;
  readonly replicationFactor: number;
  readonly leader: number;
  /** Voters, ascending. */
  readonly voters: readonly number[];
  /** Learners, ascending. */
  readonly learners: readonly number[];
  /** Per replica: the leader's last index minus the replica's match index. */
  readonly lag: ReadonlyMap<number, number>;
  /** Replicas the leader heard from lately (raft's recentActive), the leader included. */
  readonly recentlyActive: ReadonlySet<number>;
  /** A membership change is proposed and not applied yet: plan nothing for this group. */
  readonly changing: boolean;
  /**
   * Learners whose lag fell no further for the controller's learner stall
   * time (learner-watch.ts): removed, so the group's repair adds a fresh one.
   */
  readonly stalledLearners?: ReadonlySet<number>;
  /**
   * Nodes that left this group too recently to receive a fresh replica of it
   * (rejoin-guard.ts): placement and load moves pass them over.
   */
  readonly barredNodes?: ReadonlySet<number>;
}

export type RebalanceAction =
  /** Start a replica on `nodeId` (join) and add it to the group as a learner. */
  | {
      readonly kind: "add_learner";
      readonly partitionId: number;
      readonly nodeId: number;
      readonly reason: string;
    }
  /** The learner caught up: make it a voter. */
  | { readonly kind: "promote"; readonly partitionId: number; readonly nodeId: number }
  /** Take `nodeId` out of the group (voter or learner). */
  | {
      readonly kind: "remove";
      readonly partitionId: number;
      readonly nodeId: number;
      readonly reason: string;
    }
  | {
      readonly kind: "transfer_leadership";
      readonly partitionId: number;
      readonly from: number;
      readonly to: number;
      readonly reason: string;
    };

export interface RebalanceLimits {
  /** Groups with a learner (a move under way) at once, cluster-wide. */
  readonly maxConcurrentMoves: number;
  /** New moves (add_learner) started per planning round. */
  readonly maxNewMovesPerRound: number;
  /** A learner within this many entries of the leader counts as caught up. */
  readonly catchUpLagMax: number;
  /** Leadership transfers per round. */
  readonly maxTransfersPerRound: number;
  /** Replicas per capacity a node may hold above the least loaded before load moves start. */
  readonly replicaSlack: number;
  /** Leaders a node may hold above its fair share (ceil) before transfers start. */
  readonly leaderSlack: number;
  /**
   * Load-evening moves under way at once (groups with a learner or a voter
   * above the replication factor), planned only when nothing needs repair;
   * also bounded by maxConcurrentMoves and maxNewMovesPerRound.
   */
  readonly maxBalanceMoves: number;
}

export const defaultRebalanceLimits: RebalanceLimits = {
  maxConcurrentMoves: 4,
  maxNewMovesPerRound: 2,
  catchUpLagMax: 64,
  maxTransfersPerRound: 4,
  replicaSlack: 1,
  leaderSlack: 0,
  maxBalanceMoves: 1,
};

export interface RebalanceInput {
  readonly nodes: readonly NodeInfo[];
  /** One per partition whose leader reported; a partition without one is left alone. */
  readonly groups: readonly GroupObservation[];
  readonly limits: RebalanceLimits;
  /**
   * Spread leaders over nodes above their share (default true); false while
   * the cluster settles (leader-settle.ts). Transfers a repair or a draining
   * node needs are planned either way.
   */
  readonly spreadLeaders?: boolean;
  /**
   * Groups with a leadership transfer under way → the node it goes to: planned
   * nothing (raft drops their proposals), their leadership counted at the target.
   */
  readonly transferring?: ReadonlyMap<number, number>;
}
