import type { NodeId, RandomSource } from "../../framework/raft/index.js";

/**
 * Targeted faults, in the spirit of FoundationDB's "buggify": faults aimed
 * at the few moments where a broken rule becomes visible, which uniform
 * per-tick faults almost never hit. A fault mix names a profile; each run
 * draws from it which of the faults it uses (each kept with probability 3/4),
 * so the runs of one mix differ and every combination occurs.
 *
 * - Figure 8 (Raft §5.4.2): a new leader is cut off at once, so the entry it
 *   appended on election stays on it alone; a leader is cut off right after
 *   the first commit of its term, so the entries behind that commit travel no
 *   further; one entry per Append, so an old entry can reach a majority
 *   before the new leader's first entry does.
 * - Stale leader (thesis §6.4): the leader is cut off with a minority while
 *   some clients keep reading from it and the others write on the majority
 *   side; its clock may stop meanwhile, so it does not step down by
 *   check-quorum (ReadIndex must not depend on clocks).
 * - Disk: leaders' fsyncs take long; a node may crash while its fsync is in
 *   flight (not only at tick boundaries); a leader may crash just after it
 *   was elected or after its first commit, and come back quickly.
 * - Membership: the group may shrink to a single voter, whose leader commits
 *   on its own durable copy alone (no follower's answer ever triggers it).
 */
export interface TargetedFaultProfile {
  /** One entry per Append message (maxSizePerMessage 1). */
  readonly oneEntryPerAppend: boolean;
  /** Probability that a node that has just become leader is cut off before its first Append. */
  readonly isolateNewLeader: number;
  /** Probability that a leader is cut off right after the first commit of its term. */
  readonly isolateAfterFirstCommit: number;
  /** Length of those isolations in ticks, uniform in [min, max]. */
  readonly isolationTicksMin: number;
  readonly isolationTicksMax: number;
  /** Probability that a new leader crashes 0–3 ticks after its election. */
  readonly crashNewLeader: number;
  /** Probability that a leader crashes 0–3 ticks after the first commit of its term. */
  readonly crashAfterFirstCommit: number;
  /** Per tick: start a stale-leader episode (leader and a minority cut off, clients pinned). */
  readonly staleLeaderRate: number;
  readonly staleLeaderTicksMin: number;
  readonly staleLeaderTicksMax: number;
  /** Probability that the stale leader's clock stops for its episode (runs with ReadIndex only). */
  readonly staleLeaderClockStall: number;
  /** Fsync latency of a leader's disk writes in ticks, uniform; max 0 keeps the mix's latency. */
  readonly leaderFsyncTicksMin: number;
  readonly leaderFsyncTicksMax: number;
  /** Probability that a node crashes while a disk write is in flight (before it completes). */
  readonly crashDuringFsync: number;
  /** A node crashed by a targeted fault restarts after 1..max ticks. */
  readonly restartTicksMax: number;
  /** Membership changes may leave a single voter (otherwise voters stay ≥ n − 1). */
  readonly shrinkToOneVoter: boolean;
}

export const noTargetedFaults: TargetedFaultProfile = {
  oneEntryPerAppend: false,
  isolateNewLeader: 0,
  isolateAfterFirstCommit: 0,
  isolationTicksMin: 0,
  isolationTicksMax: 0,
  crashNewLeader: 0,
  crashAfterFirstCommit: 0,
  staleLeaderRate: 0,
  staleLeaderTicksMin: 0,
  staleLeaderTicksMax: 0,
  staleLeaderClockStall: 0,
  leaderFsyncTicksMin: 0,
  leaderFsyncTicksMax: 0,
  crashDuringFsync: 0,
  restartTicksMax: 0,
  shrinkToOneVoter: false,
};

/** The faults a run uses: each fault of the profile kept with probability 3/4. */
export function drawTargetedFaults(
  profile: TargetedFaultProfile,
  random: RandomSource,
): TargetedFaultProfile {
  checkProfile(profile);
  if (profile === noTargetedFaults) return profile;
  const keep = (): boolean => random.nextInt(4) !== 0;
  const rate = (value: number): number => (value > 0 && keep() ? value : 0);
  return {
    ...profile,
    oneEntryPerAppend: profile.oneEntryPerAppend && keep(),
    isolateNewLeader: rate(profile.isolateNewLeader),
    isolateAfterFirstCommit: rate(profile.isolateAfterFirstCommit),
    crashNewLeader: rate(profile.crashNewLeader),
    crashAfterFirstCommit: rate(profile.crashAfterFirstCommit),
    staleLeaderRate: rate(profile.staleLeaderRate),
    staleLeaderClockStall: rate(profile.staleLeaderClockStall),
    leaderFsyncTicksMax:
      profile.leaderFsyncTicksMax > 0 && keep() ? profile.leaderFsyncTicksMax : 0,
    crashDuringFsync: rate(profile.crashDuringFsync),
    shrinkToOneVoter: profile.shrinkToOneVoter && keep(),
  };
}

/** The profile's switches that are on, for the trace (`-` when none). */
export function describeTargetedFaults(profile: TargetedFaultProfile): string {
  const on = Object.entries(profile)
    .filter(([, value]) => value !== 0 && value !== false)
    .map(([name, value]) => `${name}=${String(value)}`);
  return on.length === 0 ? "-" : on.join(" ");
}

function checkProfile(profile: TargetedFaultProfile): void {
  const probabilities = [
    ["isolateNewLeader", profile.isolateNewLeader],
    ["isolateAfterFirstCommit", profile.isolateAfterFirstCommit],
    ["crashNewLeader", profile.crashNewLeader],
    ["crashAfterFirstCommit", profile.crashAfterFirstCommit],
    ["staleLeaderRate", profile.staleLeaderRate],
    ["staleLeaderClockStall", profile.staleLeaderClockStall],
    ["crashDuringFsync", profile.crashDuringFsync],
  ] as const;
  for (const [name, value] of probabilities) {
    if (!(value >= 0 && value <= 1))
      throw new RangeError(`targeted fault ${name} = ${value}, allowed [0, 1]`);
  }
  const ranges = [
    ["isolationTicks", profile.isolationTicksMin, profile.isolationTicksMax],
    ["staleLeaderTicks", profile.staleLeaderTicksMin, profile.staleLeaderTicksMax],
    ["leaderFsyncTicks", profile.leaderFsyncTicksMin, profile.leaderFsyncTicksMax],
  ] as const;
  for (const [name, min, max] of ranges) {
    if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 0 && max >= min)) {
      throw new RangeError(
        `targeted fault ${name} = [${min}, ${max}], allowed integers 0 ≤ min ≤ max`,
      );
    }
  }
  if (!(Number.isInteger(profile.restartTicksMax) && profile.restartTicksMax >= 0)) {
    throw new RangeError(
      `targeted fault restartTicksMax = ${profile.restartTicksMax}, allowed an integer ≥ 0`,
    );
  }
}

/** Uniform integer in [min, max]. */
export function between(random: RandomSource, min: number, max: number): number {
  return min + random.nextInt(max - min + 1);
}

/** A random subset of `ids` of exactly `size` members, in a random order. */
export function pickSome(ids: readonly NodeId[], size: number, random: RandomSource): NodeId[] {
  const copy = [...ids];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, size);
}
