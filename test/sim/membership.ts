import type {
  ConfChange,
  ConfChangeSingle,
  ConfState,
  NodeId,
  RandomSource,
} from "../../framework/raft/index.js";
import { ConfChangeTransition, ConfChangeType } from "../../framework/raft/index.js";

/**
 * Random membership changes over a fixed pool of node ids: add or remove a
 * voter, add, promote or remove a learner (one change: a simple change), and
 * joint consensus with two or three arbitrary changes at once, left
 * implicitly (auto) or explicitly (an empty ConfChange proposed later).
 * Voter counts stay within [minVoters, maxVoters] so a majority of the pool
 * can always be live at the end of a run.
 */
export interface MembershipLimits {
  readonly pool: readonly NodeId[];
  readonly minVoters: number;
  readonly maxVoters: number;
}

export type ChangeKind =
  "simple" | "joint-implicit" | "joint-explicit" | "joint-auto" | "leave-joint";

export interface PlannedChange {
  readonly kind: ChangeKind;
  readonly change: ConfChange;
}

const noContext = new Uint8Array(0);

/** Plans a change valid against `current`, or undefined when none is sensible now. */
export function planConfChange(
  current: ConfState,
  limits: MembershipLimits,
  random: RandomSource,
): PlannedChange | undefined {
  if (current.votersOutgoing.length > 0) {
    // In a joint configuration only leaving it is allowed; an auto-leave one leaves by itself.
    if (current.autoLeave) return undefined;
    return {
      kind: "leave-joint",
      change: { transition: ConfChangeTransition.Auto, changes: [], context: noContext },
    };
  }
  const wanted = 1 + (random.nextInt(3) === 0 ? 1 + random.nextInt(2) : 0);
  const changes = pickChanges(current, limits, random, wanted);
  if (changes.length === 0) return undefined;
  const joint = changes.length > 1 || random.nextInt(4) === 0;
  if (!joint) {
    return {
      kind: "simple",
      change: { transition: ConfChangeTransition.Auto, changes, context: noContext },
    };
  }
  const roll = random.nextInt(3);
  if (roll === 0 && changes.length > 1) {
    // Auto with several changes: joint consensus, left automatically.
    return {
      kind: "joint-auto",
      change: { transition: ConfChangeTransition.Auto, changes, context: noContext },
    };
  }
  if (roll === 2) {
    return {
      kind: "joint-explicit",
      change: { transition: ConfChangeTransition.JointExplicit, changes, context: noContext },
    };
  }
  return {
    kind: "joint-implicit",
    change: { transition: ConfChangeTransition.JointImplicit, changes, context: noContext },
  };
}

function pickChanges(
  current: ConfState,
  limits: MembershipLimits,
  random: RandomSource,
  wanted: number,
): ConfChangeSingle[] {
  const voters = new Set(current.voters);
  const learners = new Set(current.learners);
  const touched = new Set<NodeId>();
  const changes: ConfChangeSingle[] = [];
  for (let attempt = 0; attempt < wanted * 4 && changes.length < wanted; attempt++) {
    const id = limits.pool[random.nextInt(limits.pool.length)]!;
    if (touched.has(id)) continue;
    const single = changeFor(id, voters, learners, limits, random);
    if (single === undefined) continue;
    touched.add(id);
    changes.push(single);
    applySingle(single, voters, learners);
  }
  return changes;
}

function changeFor(
  id: NodeId,
  voters: Set<NodeId>,
  learners: Set<NodeId>,
  limits: MembershipLimits,
  random: RandomSource,
): ConfChangeSingle | undefined {
  const canAddVoter = voters.size < limits.maxVoters;
  const canRemoveVoter = voters.size > limits.minVoters;
  if (voters.has(id)) {
    if (!canRemoveVoter) return undefined;
    // Demote to learner or remove outright.
    const type = random.nextInt(2) === 0 ? ConfChangeType.AddLearner : ConfChangeType.RemoveNode;
    return { type, nodeId: id };
  }
  if (learners.has(id)) {
    if (random.nextInt(2) === 0 && canAddVoter)
      return { type: ConfChangeType.AddVoter, nodeId: id };
    return { type: ConfChangeType.RemoveNode, nodeId: id };
  }
  if (random.nextInt(2) === 0 && canAddVoter) return { type: ConfChangeType.AddVoter, nodeId: id };
  return { type: ConfChangeType.AddLearner, nodeId: id };
}

function applySingle(single: ConfChangeSingle, voters: Set<NodeId>, learners: Set<NodeId>): void {
  voters.delete(single.nodeId);
  learners.delete(single.nodeId);
  if (single.type === ConfChangeType.AddVoter) voters.add(single.nodeId);
  if (single.type === ConfChangeType.AddLearner) learners.add(single.nodeId);
}

/** Every node the configuration names, voters (incoming and outgoing) and learners. */
export function membersOf(confState: ConfState): NodeId[] {
  const members = new Set<NodeId>([
    ...confState.voters,
    ...confState.votersOutgoing,
    ...confState.learners,
    ...confState.learnersNext,
  ]);
  return [...members].sort((a, b) => a - b);
}
