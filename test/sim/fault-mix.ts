import type { NetworkFaults } from "./network.js";
import type { TargetedFaultProfile } from "./targeted-faults.js";
import { noTargetedFaults } from "./targeted-faults.js";

/**
 * A fault mix: how often each kind of fault is injected per tick during the
 * safety phase. Each seed draws one mix (or the CLI forces one with --mix),
 * so a batch of seeds covers them all.
 */
export interface FaultMix {
  readonly name: FaultMixName;
  readonly network: NetworkFaults;
  /** Per tick: cut a new partition (symmetric, one-way, or one node isolated). */
  readonly partitionRate: number;
  /** Per tick: heal every partition. */
  readonly healRate: number;
  /** Per tick: crash one running node, losing its unsynced writes. */
  readonly crashRate: number;
  /** Per tick, per crashed node: restart it. */
  readonly restartRate: number;
  /** Fsync latency in ticks, uniform in [min, max]. */
  readonly fsyncTicksMin: number;
  readonly fsyncTicksMax: number;
  /** Per tick: the leader proposes a membership change. */
  readonly confChangeRate: number;
  /** Per tick: the leader hands leadership to another voter. */
  readonly transferRate: number;
  /** Per tick: a random node starts an election. */
  readonly campaignRate: number;
  /**
   * Per tick: pause one running node (a long GC or VM stall) for 5–40 ticks:
   * it neither ticks nor handles messages, which wait for it. Not used in runs
   * with lease-based reads, whose safety assumes no such stall (thesis §6.4.1).
   */
  readonly pauseRate: number;
  /** Faults aimed at particular moments (targeted-faults.ts); each run keeps some of them. */
  readonly targeted: TargetedFaultProfile;
}

export const faultMixNames = [
  "calm",
  "lossy",
  "partitions",
  "crashes",
  "membership",
  "pauses",
  "chaos",
  "figure8",
  "stale-leader",
] as const;
export type FaultMixName = (typeof faultMixNames)[number];

const base = {
  network: { dropRate: 0.01, duplicateRate: 0.01, delayMin: 0, delayMax: 2 },
  partitionRate: 0,
  healRate: 0.05,
  crashRate: 0,
  restartRate: 0.05,
  fsyncTicksMin: 0,
  fsyncTicksMax: 2,
  confChangeRate: 0.005,
  transferRate: 0.003,
  campaignRate: 0.001,
  pauseRate: 0,
  targeted: noTargetedFaults,
};

export const faultMixes: Readonly<Record<FaultMixName, FaultMix>> = {
  calm: { ...base, name: "calm" },
  lossy: {
    ...base,
    name: "lossy",
    network: { dropRate: 0.2, duplicateRate: 0.1, delayMin: 0, delayMax: 8 },
  },
  partitions: {
    ...base,
    name: "partitions",
    network: { dropRate: 0.03, duplicateRate: 0.03, delayMin: 0, delayMax: 4 },
    partitionRate: 0.03,
    healRate: 0.03,
    crashRate: 0.003,
  },
  crashes: {
    ...base,
    name: "crashes",
    crashRate: 0.03,
    restartRate: 0.06,
    fsyncTicksMin: 1,
    fsyncTicksMax: 6,
    // Leaders' writes slow and cut short, leaders crashing at their first moments.
    targeted: {
      ...noTargetedFaults,
      crashNewLeader: 0.05,
      crashAfterFirstCommit: 0.05,
      leaderFsyncTicksMin: 2,
      leaderFsyncTicksMax: 14,
      crashDuringFsync: 0.004,
      restartTicksMax: 12,
    },
  },
  membership: {
    ...base,
    name: "membership",
    confChangeRate: 0.06,
    transferRate: 0.02,
    crashRate: 0.005,
    campaignRate: 0.003,
    targeted: { ...noTargetedFaults, shrinkToOneVoter: true },
  },
  pauses: {
    ...base,
    name: "pauses",
    network: { dropRate: 0.02, duplicateRate: 0.02, delayMin: 0, delayMax: 3 },
    pauseRate: 0.04,
    crashRate: 0.003,
    confChangeRate: 0.01,
    transferRate: 0.005,
  },
  chaos: {
    ...base,
    name: "chaos",
    network: { dropRate: 0.1, duplicateRate: 0.05, delayMin: 0, delayMax: 6 },
    partitionRate: 0.015,
    healRate: 0.04,
    crashRate: 0.015,
    restartRate: 0.05,
    fsyncTicksMin: 0,
    fsyncTicksMax: 5,
    confChangeRate: 0.03,
    transferRate: 0.01,
    campaignRate: 0.003,
    pauseRate: 0.01,
  },
  // Raft figure 8 (§5.4.2): leaders cut off as soon as they are elected or
  // first commit, so entries of several terms pile up on different minorities.
  figure8: {
    ...base,
    name: "figure8",
    healRate: 0,
    confChangeRate: 0.002,
    transferRate: 0.002,
    targeted: {
      ...noTargetedFaults,
      oneEntryPerAppend: true,
      isolateNewLeader: 0.7,
      isolateAfterFirstCommit: 1,
      isolationTicksMin: 10,
      isolationTicksMax: 60,
      crashNewLeader: 0.1,
      crashAfterFirstCommit: 0.1,
      restartTicksMax: 20,
    },
  },
  // Thesis §6.4: the leader cut off with a minority while clients keep reading from it.
  "stale-leader": {
    ...base,
    name: "stale-leader",
    healRate: 0,
    confChangeRate: 0.002,
    transferRate: 0.002,
    targeted: {
      ...noTargetedFaults,
      staleLeaderRate: 0.04,
      staleLeaderTicksMin: 20,
      staleLeaderTicksMax: 60,
      staleLeaderClockStall: 0.5,
    },
  },
};

export function isFaultMixName(name: string): name is FaultMixName {
  return (faultMixNames as readonly string[]).includes(name);
}
