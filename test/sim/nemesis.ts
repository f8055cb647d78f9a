import type { NodeId, RandomSource } from "../../framework/raft/index.js";
import { isRaftError } from "../../framework/raft/index.js";
import type { FaultMix } from "./fault-mix.js";
import type { MembershipLimits } from "./membership.js";
import { planConfChange } from "./membership.js";
import type { SimulatedNetwork } from "./network.js";
import type { RaftCore } from "./raft-core.js";
import type { SimNode } from "./sim-node.js";

/**
 * The fault injector of the safety phase (Jepsen's "nemesis"): once per
 * tick it may crash or restart nodes, cut or heal partitions, propose a
 * membership change, transfer leadership or force an election, at the rates
 * of the seed's fault mix. Every action is recorded in the trace.
 */
export interface NemesisTarget {
  readonly random: RandomSource;
  readonly network: SimulatedNetwork;
  readonly mix: FaultMix;
  readonly nodes: readonly SimNode[];
  readonly limits: MembershipLimits;
  readonly core: RaftCore;
  /** The running (not paused) leader with the highest term, if any. */
  leader(): SimNode | undefined;
  now(): number;
  /** Pauses are off in runs whose reads rely on leases. */
  readonly pausesAllowed: boolean;
  crash(node: SimNode): void;
  restart(node: SimNode): void;
  afterInput(node: SimNode): void;
  trace(line: string): void;
  count(what: NemesisCounter): void;
}

export type NemesisCounter =
  | "crashes"
  | "restarts"
  | "partitions"
  | "oneWayPartitions"
  | "heals"
  | "confChangesProposed"
  | "confChangesRejected"
  | "transfers"
  | "campaigns"
  | "simpleChanges"
  | "jointChanges"
  | "explicitLeaves"
  | "pauses";

export function chance(random: RandomSource, rate: number): boolean {
  return rate > 0 && random.nextInt(1_000_000) < rate * 1_000_000;
}

export function runNemesis(target: NemesisTarget): void {
  const { random, mix } = target;
  if (chance(random, mix.crashRate)) crashSome(target);
  for (const node of target.nodes) {
    if (node.raft === undefined && chance(random, mix.restartRate)) {
      target.trace(`restart ${node.id}`);
      target.restart(node);
      target.count("restarts");
    }
  }
  if (chance(random, mix.healRate) && target.network.cutLinkCount() > 0) {
    target.trace("heal");
    target.network.heal();
    target.count("heals");
  }
  if (chance(random, mix.partitionRate)) partitionSome(target);
  if (target.pausesAllowed && chance(random, mix.pauseRate)) pauseSome(target);
  if (chance(random, mix.confChangeRate)) changeMembership(target);
  if (chance(random, mix.transferRate)) transferLeadership(target);
  if (chance(random, mix.campaignRate)) {
    const node = target.nodes[random.nextInt(target.nodes.length)]!;
    if (node.raft !== undefined && node.pausedUntil <= target.now()) {
      target.trace(`campaign ${node.id}`);
      node.raft.campaign();
      target.count("campaigns");
      target.afterInput(node);
    }
  }
}

function crashSome(target: NemesisTarget): void {
  const running = target.nodes.filter((node) => node.raft !== undefined);
  // Keep at least two nodes up, so the run does not stall for the whole phase.
  if (running.length <= 2) return;
  const node = running[target.random.nextInt(running.length)]!;
  target.trace(`crash ${node.id}${node.diskQueue.some((operation) => operation.kind === "write") ? " (write in flight lost)" : ""}`);
  target.crash(node);
  target.count("crashes");
}

function pauseSome(target: NemesisTarget): void {
  const now = target.now();
  const running = target.nodes.filter((node) => node.raft !== undefined && node.pausedUntil <= now);
  if (running.length === 0) return;
  const node = running[target.random.nextInt(running.length)]!;
  node.pausedUntil = now + 5 + target.random.nextInt(36);
  target.trace(`pause ${node.id} until ${node.pausedUntil}`);
  target.count("pauses");
}

function partitionSome(target: NemesisTarget): void {
  const { random } = target;
  const ids = shuffled(
    target.nodes.map((node) => node.id),
    random,
  );
  const kindRoll = random.nextInt(3);
  // Isolate one node, or split the pool in two at a random point.
  const cutAt = kindRoll === 0 ? 1 : 1 + random.nextInt(ids.length - 1);
  const sideA = ids.slice(0, cutAt);
  const sideB = ids.slice(cutAt);
  const kind = kindRoll === 2 ? "one-way" : "symmetric";
  target.network.partition(sideA, sideB, kind);
  target.trace(`partition ${kind} ${sideA.join(",")} | ${sideB.join(",")}`);
  target.count(kind === "one-way" ? "oneWayPartitions" : "partitions");
}

function changeMembership(target: NemesisTarget): void {
  const leader = target.leader();
  if (leader?.raft === undefined) return;
  const planned = planConfChange(leader.raft.status().confState, target.limits, target.random);
  if (planned === undefined) return;
  const description = planned.change.changes
    .map((single) => `${single.type}:${single.nodeId}`)
    .join(" ");
  target.trace(`conf-change ${leader.id} ${planned.kind} [${description}]`);
  try {
    leader.raft.proposeConfChange(planned.change);
    target.count("confChangesProposed");
    if (planned.kind === "simple") target.count("simpleChanges");
    else if (planned.kind === "leave-joint") target.count("explicitLeaves");
    else target.count("jointChanges");
  } catch (error) {
    if (!isRaftError(error)) throw error;
    target.trace(`conf-change rejected ${error.code}`);
    target.count("confChangesRejected");
  }
  target.afterInput(leader);
}

function transferLeadership(target: NemesisTarget): void {
  const leader = target.leader();
  if (leader?.raft === undefined) return;
  const voters = leader.raft.status().confState.voters.filter((id) => id !== leader.id);
  if (voters.length === 0) return;
  const to: NodeId = voters[target.random.nextInt(voters.length)]!;
  target.trace(`transfer ${leader.id} -> ${to}`);
  try {
    leader.raft.transferLeadership(to);
    target.count("transfers");
  } catch (error) {
    if (!isRaftError(error)) throw error;
    target.trace(`transfer rejected ${error.code}`);
  }
  target.afterInput(leader);
}

function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
