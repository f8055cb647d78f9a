import { assert } from "./assert.js";
import { RaftError, RaftErrorCode } from "./errors.js";
import { Progress } from "./progress.js";
import type { Configuration } from "./tracker.js";
import { isJoint } from "./tracker.js";
import type { ConfChange, ConfChangeSingle, NodeId } from "./types.js";
import { ConfChangeTransition, ConfChangeType } from "./types.js";

/** What a conf change asks for: leave the joint config, enter one, or a simple change. */
export type ConfChangeKind =
  | { readonly kind: "leave-joint" }
  | { readonly kind: "enter-joint"; readonly autoLeave: boolean }
  | { readonly kind: "simple" };

export function confChangeKind(change: ConfChange): ConfChangeKind {
  if (change.changes.length === 0 && change.transition === ConfChangeTransition.Auto) {
    return { kind: "leave-joint" };
  }
  if (change.transition !== ConfChangeTransition.Auto || change.changes.length > 1) {
    return { kind: "enter-joint", autoLeave: change.transition !== ConfChangeTransition.JointExplicit };
  }
  return { kind: "simple" };
}

export interface ChangeResult {
  readonly config: Configuration;
  readonly progress: Map<NodeId, Progress>;
}

interface MutableConfig {
  votersIncoming: Set<NodeId>;
  votersOutgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

const invalid = (message: string): RaftError => new RaftError(RaftErrorCode.InvalidConfChange, message);

/**
 * Computes the configuration and progress map that result from a conf change
 * (etcd's confchange.Changer). Pure: the inputs are not modified. Throws
 * RaftError InvalidConfChange when the change does not fit the current
 * configuration.
 */
export function applyConfChangeTo(
  current: Configuration,
  currentProgress: ReadonlyMap<NodeId, Progress>,
  change: ConfChange,
  lastIndex: number,
  maxInflight: number,
): ChangeResult {
  const config: MutableConfig = {
    votersIncoming: new Set(current.votersIncoming),
    votersOutgoing: new Set(current.votersOutgoing),
    learners: new Set(current.learners),
    learnersNext: new Set(current.learnersNext),
    autoLeave: current.autoLeave,
  };
  const progress = new Map(currentProgress);
  const kind = confChangeKind(change);
  if (kind.kind === "leave-joint") {
    leaveJoint(config, progress);
  } else if (kind.kind === "enter-joint") {
    if (isJoint(current)) throw invalid("config is already joint");
    if (config.votersIncoming.size === 0) throw invalid("can't make a zero-voter config joint");
    config.votersOutgoing = new Set(config.votersIncoming);
    applyChanges(config, progress, change.changes, lastIndex, maxInflight);
    config.autoLeave = kind.autoLeave;
  } else {
    if (isJoint(current)) throw invalid("can't apply a simple config change in a joint config");
    applyChanges(config, progress, change.changes, lastIndex, maxInflight);
    if (symmetricDifference(current.votersIncoming, config.votersIncoming) > 1) {
      throw invalid("more than one voter changed without entering a joint config");
    }
  }
  if (config.votersIncoming.size === 0) throw invalid("removed all voters");
  checkConfiguration(config, progress);
  return { config, progress };
}

function leaveJoint(config: MutableConfig, progress: Map<NodeId, Progress>): void {
  if (config.votersOutgoing.size === 0) throw invalid("can't leave a non-joint config");
  for (const id of config.learnersNext) {
    config.learners.add(id);
    writable(progress, id).isLearner = true;
  }
  config.learnersNext.clear();
  for (const id of config.votersOutgoing) {
    if (!config.votersIncoming.has(id) && !config.learners.has(id)) progress.delete(id);
  }
  config.votersOutgoing.clear();
  config.autoLeave = false;
}

function applyChanges(
  config: MutableConfig,
  progress: Map<NodeId, Progress>,
  changes: readonly ConfChangeSingle[],
  lastIndex: number,
  maxInflight: number,
): void {
  for (const single of changes) {
    if (!(Number.isSafeInteger(single.nodeId) && single.nodeId > 0)) {
      throw invalid(`node id ${single.nodeId}, allowed a positive integer`);
    }
    const id = single.nodeId;
    switch (single.type) {
      case ConfChangeType.AddVoter:
        makeVoter(config, progress, id, lastIndex, maxInflight);
        break;
      case ConfChangeType.AddLearner:
        makeLearner(config, progress, id, lastIndex, maxInflight);
        break;
      case ConfChangeType.RemoveNode:
        remove(config, progress, id);
        break;
      default:
        throw invalid(`unknown conf change type ${String(single.type)}`);
    }
  }
}

function initProgress(
  progress: Map<NodeId, Progress>,
  id: NodeId,
  isLearner: boolean,
  lastIndex: number,
  maxInflight: number,
): Progress {
  // Start optimistic at the leader's log end; a rejection moves it back.
  // Count as recently active so that adding a node does not trip check-quorum.
  const created = new Progress(Math.max(lastIndex, 1), maxInflight, isLearner);
  created.recentActive = true;
  progress.set(id, created);
  return created;
}

function makeVoter(
  config: MutableConfig,
  progress: Map<NodeId, Progress>,
  id: NodeId,
  lastIndex: number,
  maxInflight: number,
): void {
  if (progress.has(id)) writable(progress, id).isLearner = false;
  else initProgress(progress, id, false, lastIndex, maxInflight);
  config.learners.delete(id);
  config.learnersNext.delete(id);
  config.votersIncoming.add(id);
}

function makeLearner(
  config: MutableConfig,
  progress: Map<NodeId, Progress>,
  id: NodeId,
  lastIndex: number,
  maxInflight: number,
): void {
  let existing = progress.get(id);
  if (existing === undefined) {
    existing = initProgress(progress, id, true, lastIndex, maxInflight);
  } else if (existing.isLearner) {
    return;
  } else {
    existing = writable(progress, id);
  }
  remove(config, progress, id);
  progress.set(id, existing);
  // A voter of the outgoing config cannot be a learner yet: it still votes
  // there. It becomes a learner when the joint config is left (thesis §4.3).
  if (config.votersOutgoing.has(id)) {
    config.learnersNext.add(id);
  } else {
    existing.isLearner = true;
    config.learners.add(id);
  }
}

function remove(config: MutableConfig, progress: Map<NodeId, Progress>, id: NodeId): void {
  config.votersIncoming.delete(id);
  config.learners.delete(id);
  config.learnersNext.delete(id);
  if (!config.votersOutgoing.has(id)) progress.delete(id);
}

/** The progress of `id`, copied into the new map first: the live tracker's objects stay untouched. */
function writable(progress: Map<NodeId, Progress>, id: NodeId): Progress {
  const copy = progress.get(id)!.clone();
  progress.set(id, copy);
  return copy;
}

function symmetricDifference(a: ReadonlySet<NodeId>, b: ReadonlySet<NodeId>): number {
  let count = 0;
  for (const id of a) if (!b.has(id)) count++;
  for (const id of b) if (!a.has(id)) count++;
  return count;
}

/** The configuration's invariants; a failure here is a bug in this file. */
export function checkConfiguration(config: Configuration, progress: ReadonlyMap<NodeId, Progress>): void {
  for (const id of [...config.votersIncoming, ...config.votersOutgoing, ...config.learners, ...config.learnersNext]) {
    assert(progress.has(id), () => `member ${id} has no progress`);
  }
  for (const id of config.learnersNext) {
    assert(config.votersOutgoing.has(id), () => `learnerNext ${id} is not an outgoing voter`);
    assert(!progress.get(id)!.isLearner, () => `learnerNext ${id} is already marked learner`);
  }
  for (const id of config.learners) {
    assert(!config.votersIncoming.has(id), () => `learner ${id} is an incoming voter`);
    assert(!config.votersOutgoing.has(id), () => `learner ${id} is an outgoing voter`);
    assert(progress.get(id)!.isLearner, () => `learner ${id} not marked learner`);
  }
  if (config.votersOutgoing.size === 0) {
    assert(config.learnersNext.size === 0, "learnersNext outside a joint config");
    assert(!config.autoLeave, "autoLeave outside a joint config");
  }
}
