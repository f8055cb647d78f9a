import type { NodeHost } from "../../../framework/host/index.js";
import { isHostError } from "../../../framework/host/index.js";
import type { ConfChange, NodeId, RandomSource } from "../../../framework/raft/index.js";
import { ConfChangeTransition, ConfChangeType, Role } from "../../../framework/raft/index.js";
import type { FaultMix } from "../fault-mix.js";
import { chance } from "../nemesis.js";
import type { SimulatedNetwork } from "../network.js";

/**
 * The fault injector of the host simulation's safety phase, once per client
 * tick at the rates of the seed's fault mix (test/sim/fault-mix.ts): crash
 * and restart whole nodes (every group on them at once), cut and heal
 * partitions, change a group's membership through proposeConfChange (a new
 * voter on a node that then starts the group with {join: true}, or removing
 * one), and transfer a group's leadership.
 */
export interface HostNemesisTarget {
  readonly random: RandomSource;
  readonly network: SimulatedNetwork;
  readonly mix: FaultMix;
  readonly nodeIds: readonly NodeId[];
  readonly groupIds: readonly number[];
  /** Most nodes down at once. */
  readonly maxDown: number;
  isUp(nodeId: NodeId): boolean;
  crash(nodeId: NodeId): void;
  restart(nodeId: NodeId): void;
  /** The running host that leads the group with the highest term, if any. */
  leader(groupId: number): { readonly nodeId: NodeId; readonly host: NodeHost } | undefined;
  /** Whether a membership change of the group proposed earlier is still unresolved. */
  changing(groupId: number): boolean;
  /** Nodes that were ever removed from the group (never added back). */
  removed(groupId: number): ReadonlySet<NodeId>;
  /** Proposes the change and follows it (places a joining replica, records a removal). */
  proposeChange(groupId: number, leader: NodeHost, change: ConfChange, target: NodeId): void;
  trace(line: string): void;
  count(what: HostNemesisCounter): void;
}

export type HostNemesisCounter =
  "crashes" | "restarts" | "partitions" | "heals" | "transfers" | "transfersRefused";

const noContext = new Uint8Array(0);

export function runHostNemesis(target: HostNemesisTarget): void {
  const { random, mix } = target;
  if (chance(random, mix.crashRate)) crashSome(target);
  for (const nodeId of target.nodeIds) {
    if (!target.isUp(nodeId) && chance(random, mix.restartRate)) {
      target.trace(`restart ${nodeId}`);
      target.restart(nodeId);
      target.count("restarts");
    }
  }
  if (chance(random, mix.healRate) && target.network.cutLinkCount() > 0) {
    target.trace("heal");
    target.network.heal();
    target.count("heals");
  }
  if (chance(random, mix.partitionRate)) partitionSome(target);
  if (chance(random, mix.confChangeRate)) changeMembership(target);
  if (chance(random, mix.transferRate)) transferLeadership(target);
}

function crashSome(target: HostNemesisTarget): void {
  const up = target.nodeIds.filter((id) => target.isUp(id));
  if (target.nodeIds.length - up.length >= target.maxDown) return;
  const nodeId = up[target.random.nextInt(up.length)]!;
  target.trace(`crash ${nodeId}`);
  target.crash(nodeId);
  target.count("crashes");
}

function partitionSome(target: HostNemesisTarget): void {
  const { random } = target;
  const ids = shuffled(target.nodeIds, random);
  const kindRoll = random.nextInt(3);
  // Isolate one node, or split the nodes in two at a random point.
  const cutAt = kindRoll === 0 ? 1 : 1 + random.nextInt(ids.length - 1);
  const sideA = ids.slice(0, cutAt);
  const sideB = ids.slice(cutAt);
  const kind = kindRoll === 2 ? "one-way" : "symmetric";
  target.network.partition(sideA, sideB, kind);
  target.trace(`partition ${kind} ${sideA.join(",")} | ${sideB.join(",")}`);
  target.count("partitions");
}

/** Three voters gain a fourth (a node new to the group, which joins); four lose one. */
function changeMembership(target: HostNemesisTarget): void {
  const groupId = target.groupIds[target.random.nextInt(target.groupIds.length)]!;
  if (target.changing(groupId)) return;
  const leader = target.leader(groupId);
  if (leader === undefined) return;
  const confState = leader.host.status(groupId).confState;
  if (confState.votersOutgoing.length > 0 || confState.learners.length > 0) return;
  const voters = confState.voters;
  if (voters.length <= 3) {
    const removed = target.removed(groupId);
    const candidates = target.nodeIds.filter((id) => !voters.includes(id) && !removed.has(id));
    if (candidates.length === 0) return;
    const nodeId = candidates[target.random.nextInt(candidates.length)]!;
    const change = single(ConfChangeType.AddVoter, nodeId);
    target.trace(`conf-change g${groupId} at ${leader.nodeId}: add voter ${nodeId}`);
    target.proposeChange(groupId, leader.host, change, nodeId);
    return;
  }
  const nodeId = voters[target.random.nextInt(voters.length)]!;
  target.trace(`conf-change g${groupId} at ${leader.nodeId}: remove ${nodeId}`);
  target.proposeChange(groupId, leader.host, single(ConfChangeType.RemoveNode, nodeId), nodeId);
}

function single(type: ConfChangeType, nodeId: NodeId): ConfChange {
  return { transition: ConfChangeTransition.Auto, changes: [{ type, nodeId }], context: noContext };
}

function transferLeadership(target: HostNemesisTarget): void {
  const groupId = target.groupIds[target.random.nextInt(target.groupIds.length)]!;
  const leader = target.leader(groupId);
  if (leader === undefined) return;
  const status = leader.host.status(groupId);
  if (status.role !== Role.Leader) return;
  const others = status.confState.voters.filter((id) => id !== leader.nodeId);
  if (others.length === 0) return;
  const to = others[target.random.nextInt(others.length)]!;
  target.trace(`transfer g${groupId} ${leader.nodeId} -> ${to}`);
  try {
    leader.host.transferLeadership(groupId, to);
    target.count("transfers");
  } catch (error) {
    if (!isHostError(error)) throw error;
    target.trace(`transfer refused: ${error.code}`);
    target.count("transfersRefused");
  }
}

function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
