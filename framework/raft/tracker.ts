import { Progress } from "./progress.js";
import { jointCommittedIndex, jointVoteResult, VoteResult } from "./quorum.js";
import type { ConfState, NodeId, ProgressStatus } from "./types.js";

/**
 * A membership configuration. Outside joint consensus `votersOutgoing` is
 * empty. Invariants (checked by checkConfiguration): a learner is never a
 * voter of the incoming config; learnersNext are exactly outgoing voters that
 * will be learners once the joint config is left.
 */
export interface Configuration {
  readonly votersIncoming: ReadonlySet<NodeId>;
  readonly votersOutgoing: ReadonlySet<NodeId>;
  readonly learners: ReadonlySet<NodeId>;
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

export const emptyConfiguration: Configuration = {
  votersIncoming: new Set(),
  votersOutgoing: new Set(),
  learners: new Set(),
  learnersNext: new Set(),
  autoLeave: false,
};

export function isJoint(config: Configuration): boolean {
  return config.votersOutgoing.size > 0;
}

export function isVoter(config: Configuration, id: NodeId): boolean {
  return config.votersIncoming.has(id) || config.votersOutgoing.has(id);
}

export function configurationToConfState(config: Configuration): ConfState {
  const sorted = (ids: ReadonlySet<NodeId>): NodeId[] => [...ids].sort((a, b) => a - b);
  return {
    voters: sorted(config.votersIncoming),
    learners: sorted(config.learners),
    votersOutgoing: sorted(config.votersOutgoing),
    learnersNext: sorted(config.learnersNext),
    autoLeave: config.autoLeave,
  };
}

export function configurationFromConfState(confState: ConfState): Configuration {
  return {
    votersIncoming: new Set(confState.voters),
    votersOutgoing: new Set(confState.votersOutgoing),
    learners: new Set(confState.learners),
    learnersNext: new Set(confState.learnersNext),
    autoLeave: confState.autoLeave,
  };
}

/** Every replica the configuration names (voters of both halves, learners, learnersNext). */
export function configurationMembers(config: Configuration): Set<NodeId> {
  return new Set([
    ...config.votersIncoming,
    ...config.votersOutgoing,
    ...config.learners,
    ...config.learnersNext,
  ]);
}

/**
 * The leader's (and candidate's) view of the group: configuration, one
 * Progress per member, and the votes of the election under way.
 */
export class ProgressTracker {
  config: Configuration = emptyConfiguration;
  progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflight: number) {}

  /** The highest index replicated on a quorum of the (joint) configuration. */
  committed(): number {
    return jointCommittedIndex(this.config.votersIncoming, this.config.votersOutgoing, (id) =>
      this.progress.get(id)?.match,
    );
  }

  /** Check quorum (Raft thesis §6.2): has a quorum been heard from recently? */
  quorumActive(selfId: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, progress] of this.progress) {
      if (!progress.isLearner) active.set(id, id === selfId || progress.recentActive);
    }
    return jointVoteResult(this.config.votersIncoming, this.config.votersOutgoing, active) === VoteResult.Won;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; only the first answer from a voter counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteResult {
    return jointVoteResult(this.config.votersIncoming, this.config.votersOutgoing, this.votes);
  }

  /** Outcome of acks for a read index request: acks are "granted" votes. */
  ackResult(acks: ReadonlySet<NodeId>): VoteResult {
    const votes = new Map<NodeId, boolean>();
    for (const id of acks) votes.set(id, true);
    return jointVoteResult(this.config.votersIncoming, this.config.votersOutgoing, votes);
  }

  isSingleVoter(selfId: NodeId): boolean {
    return (
      this.config.votersOutgoing.size === 0 &&
      this.config.votersIncoming.size === 1 &&
      this.config.votersIncoming.has(selfId)
    );
  }

  statusOf(): Map<NodeId, ProgressStatus> {
    const result = new Map<NodeId, ProgressStatus>();
    for (const [id, progress] of this.progress) {
      result.set(id, {
        match: progress.match,
        next: progress.next,
        state: progress.state,
        isLearner: progress.isLearner,
        recentActive: progress.recentActive,
        inflight: progress.inflights.count,
      });
    }
    return result;
  }
}
