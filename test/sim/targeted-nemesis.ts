import type { NodeId, RandomSource } from "../../framework/raft/index.js";
import type { ClientSteering } from "./clients.js";
import { chance } from "./nemesis.js";
import type { SimulatedNetwork } from "./network.js";
import type { LeaderEvent, SimNode } from "./sim-node.js";
import type { TargetedFaultProfile } from "./targeted-faults.js";
import { between, pickSome } from "./targeted-faults.js";

/**
 * Injects the run's targeted faults (targeted-faults.ts) at the moments they
 * aim at: a leader's election and first commit (from the host loop), each
 * disk write, and each tick (stale-leader episodes). Everything it does is
 * drawn from the run's random source and recorded in the trace.
 */
export interface TargetedTarget {
  readonly random: RandomSource;
  readonly network: SimulatedNetwork;
  readonly faults: TargetedFaultProfile;
  readonly nodes: readonly SimNode[];
  /** Clock stalls are off in runs with lease-based reads, whose safety assumes none. */
  readonly clockStallsAllowed: boolean;
  readonly clientCount: number;
  now(): number;
  /** Targeted faults fire in the safety phase only. */
  inSafetyPhase(): boolean;
  /** The running leader with the highest term, if any. */
  leader(): SimNode | undefined;
  /** Runs `action` as a step of its own `delay` ticks from now (0: after the current step). */
  later(delay: number, action: () => void): void;
  crash(node: SimNode): void;
  restart(node: SimNode): void;
  steerClients(steering: ClientSteering | undefined): void;
  trace(line: string): void;
  count(what: TargetedCounter): void;
}

export type TargetedCounter =
  | "targetedIsolations"
  | "targetedCrashes"
  | "crashesDuringFsync"
  | "staleLeaderEpisodes"
  | "clockStalls";

export interface TargetedNemesis {
  onLeaderEvent(node: SimNode, event: LeaderEvent): void;
  /** Once per tick of the safety phase, before the nodes tick. */
  onTick(): void;
  /** The fsync latency of a disk write the node starts now. */
  diskLatency(node: SimNode, mixLatency: number): number;
  /** Called before the completion of a disk write of `latency` ticks is scheduled. */
  onDiskWriteScheduled(node: SimNode, latency: number): void;
}

export function createTargetedNemesis(target: TargetedTarget): TargetedNemesis {
  const { random, faults } = target;
  /** Nodes on an island of ours → the token of that isolation (a newer one wins). */
  const isolatedBy = new Map<NodeId, number>();
  let isolations = 0;
  let staleLeaderUntil = -1;

  function isolate(group: readonly NodeId[], ticks: number, why: string): void {
    const token = ++isolations;
    for (const id of group) isolatedBy.set(id, token);
    target.network.isolate(group);
    target.trace(`targeted isolate ${group.join(",")} for ${ticks} (${why})`);
    target.count("targetedIsolations");
    target.later(ticks, () => {
      const back = group.filter((id) => isolatedBy.get(id) === token);
      for (const id of back) isolatedBy.delete(id);
      if (back.length === 0) return;
      target.network.reconnect(back);
      target.trace(`targeted reconnect ${back.join(",")}`);
    });
  }

  /** Crashes `node` (same incarnation, still up) after `delay` ticks; it restarts soon after. */
  function crashLater(node: SimNode, delay: number, why: string, onlyWhileWriting: boolean): void {
    const incarnation = node.incarnation;
    target.later(delay, () => {
      if (!target.inSafetyPhase() || node.raft === undefined) return;
      if (node.incarnation !== incarnation) return;
      if (onlyWhileWriting && !node.diskQueue.some((operation) => operation.kind === "write")) return;
      const running = target.nodes.filter((other) => other.raft !== undefined).length;
      if (running <= 2) return; // as the nemesis: keep two nodes up
      target.trace(`targeted crash ${node.id} (${why})`);
      target.crash(node);
      target.count(onlyWhileWriting ? "crashesDuringFsync" : "targetedCrashes");
      const down = 1 + random.nextInt(Math.max(1, faults.restartTicksMax));
      const crashed = node.incarnation;
      target.later(down, () => {
        if (node.raft !== undefined || node.incarnation !== crashed) return;
        target.trace(`targeted restart ${node.id}`);
        target.restart(node);
      });
    });
  }

  function onLeaderEvent(node: SimNode, event: LeaderEvent): void {
    if (!target.inSafetyPhase() || isolatedBy.has(node.id)) return;
    const isolateRate =
      event === "elected" ? faults.isolateNewLeader : faults.isolateAfterFirstCommit;
    const crashRate = event === "elected" ? faults.crashNewLeader : faults.crashAfterFirstCommit;
    if (chance(random, isolateRate)) {
      const ticks = between(random, faults.isolationTicksMin, faults.isolationTicksMax);
      isolate([node.id], ticks, `leader ${event}`);
    } else if (chance(random, crashRate)) {
      crashLater(node, random.nextInt(4), `leader ${event}`, false);
    }
  }

  function startStaleLeaderEpisode(): void {
    const leader = target.leader();
    if (leader?.raft === undefined || isolatedBy.has(leader.id)) return;
    const voters = leader.raft.status().confState.voters;
    const quorum = Math.floor(voters.length / 2) + 1;
    // The leader's island is a minority of its voters: the rest can elect a new leader.
    const others = voters.filter((id) => id !== leader.id && !isolatedBy.has(id));
    // Up to voters − quorum − 1 companions (none with two voters: nobody else can win then).
    const companionsMax = Math.max(0, voters.length - quorum - 1);
    const companions = pickSome(others, random.nextInt(companionsMax + 1), random);
    const island = [leader.id, ...companions];
    const ticks = between(random, faults.staleLeaderTicksMin, faults.staleLeaderTicksMax);
    const now = target.now();
    staleLeaderUntil = now + ticks;
    isolate(island, ticks, "stale leader");
    target.count("staleLeaderEpisodes");
    const clientIds = Array.from({ length: target.clientCount }, (_, index) => index + 1);
    const readers = pickSome(
      clientIds,
      1 + random.nextInt(Math.max(1, Math.floor(target.clientCount / 2))),
      random,
    );
    target.steerClients({
      pinned: new Map(readers.map((client) => [client, leader.id])),
      avoid: island,
    });
    target.trace(`targeted stale leader ${leader.id}: clients ${readers.join(",")} read there`);
    if (target.clockStallsAllowed && chance(random, faults.staleLeaderClockStall)) {
      leader.clockStalledUntil = now + ticks;
      target.trace(`targeted clock stall ${leader.id} until ${leader.clockStalledUntil}`);
      target.count("clockStalls");
    }
    target.later(ticks, () => target.steerClients(undefined));
  }

  return {
    onLeaderEvent,
    onTick() {
      if (target.now() < staleLeaderUntil) return;
      if (chance(random, faults.staleLeaderRate)) startStaleLeaderEpisode();
    },
    diskLatency(node, mixLatency) {
      if (node.leaderTerm === 0 || faults.leaderFsyncTicksMax === 0) return mixLatency;
      return between(random, faults.leaderFsyncTicksMin, faults.leaderFsyncTicksMax);
    },
    onDiskWriteScheduled(node, latency) {
      if (!target.inSafetyPhase() || !chance(random, faults.crashDuringFsync)) return;
      crashLater(node, random.nextInt(latency + 1), "fsync in flight", true);
    },
  };
}
