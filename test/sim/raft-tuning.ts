import type { RandomSource } from "../../framework/raft/index.js";
import { ReadOnlyOption } from "../../framework/raft/index.js";

/**
 * The core's optional limits and switches for one run, drawn from the run's
 * random source: small message and Ready limits and a narrow in-flight window
 * exercise flow control and batching paths that the defaults never reach.
 * checkQuorum stays on: without it (and pre-vote) a removed node that missed
 * its removal disrupts the group forever (Raft thesis §4.2.3), a known
 * liveness limit, not a bug to look for.
 */
export interface RaftTuning {
  readonly maxSizePerMessage: number;
  readonly maxInflightMessages: number;
  readonly maxCommittedSizePerReady: number;
  readonly maxUncommittedEntriesSize: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly readOnlyOption: ReadOnlyOption;
  /** Readies out at once per node (the host loop keeps several writes in flight when > 1). */
  readonly maxReadiesInFlight: number;
}

export const defaultTuning: RaftTuning = {
  maxSizePerMessage: 1 << 20,
  maxInflightMessages: 256,
  maxCommittedSizePerReady: 8 << 20,
  maxUncommittedEntriesSize: 0,
  preVote: true,
  checkQuorum: true,
  readOnlyOption: ReadOnlyOption.Safe,
  maxReadiesInFlight: 1,
};

export function drawTuning(random: RandomSource): RaftTuning {
  const pick = <T>(choices: readonly T[]): T => choices[random.nextInt(choices.length)]!;
  return {
    maxSizePerMessage: pick([64, 256, 4096, 1 << 20]),
    maxInflightMessages: pick([1, 2, 4, 256]),
    maxCommittedSizePerReady: pick([64, 1024, 8 << 20]),
    maxUncommittedEntriesSize: pick([0, 0, 512, 4096]),
    preVote: random.nextInt(4) !== 0,
    checkQuorum: true,
    readOnlyOption: random.nextInt(4) === 0 ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
    maxReadiesInFlight: pick([1, 2, 4, 4]),
  };
}

export function describeTuning(tuning: RaftTuning): string {
  return Object.entries(tuning)
    .map(([name, value]) => `${name}=${String(value)}`)
    .join(" ");
}
