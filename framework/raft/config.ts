import type { RandomSource } from "./random.js";
import type { RaftStorage } from "./storage.js";
import type { NodeId } from "./types.js";

export enum ReadOnlyOption {
  /** ReadIndex confirms leadership with a heartbeat round (Raft thesis §6.4). Default. */
  Safe = "safe",
  /** Lease read: relies on bounded clock drift (thesis §6.4.1); needs checkQuorum. */
  LeaseBased = "lease_based",
}

export interface RaftConfig {
  readonly id: NodeId;
  readonly storage: RaftStorage;
  readonly random: RandomSource;
  /** A follower campaigns after a random timeout in [electionTicks, 2·electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** The last index the state machine applied before this start (0 for a fresh one). */
  readonly applied?: number;
  /** Byte limit of the entries in one Append message. */
  readonly maxSizePerMessage?: number;
  /** Appends in flight to one follower before the leader waits for acks (flow control). */
  readonly maxInflightMessages?: number;
  /** Proposals are dropped while uncommitted entries exceed this many bytes. 0: no limit. */
  readonly maxUncommittedEntriesSize?: number;
  /** Byte limit of committed entries handed out in one Ready. */
  readonly maxCommittedSizePerReady?: number;
  /**
   * Readies handed out and not yet advanced at once (their saves in flight
   * together; see Ready). 1: the next Ready waits for advance of the last.
   */
  readonly maxReadiesInFlight?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly readOnlyOption?: ReadOnlyOption;
}

export interface ResolvedRaftConfig extends Required<RaftConfig> {}

/** Fills defaults and checks every limit at start-up, naming the bad value. */
export function resolveRaftConfig(config: RaftConfig): ResolvedRaftConfig {
  const resolved: ResolvedRaftConfig = {
    applied: 0,
    maxSizePerMessage: 1 << 20,
    maxInflightMessages: 256,
    maxUncommittedEntriesSize: 0,
    maxCommittedSizePerReady: 8 << 20,
    maxReadiesInFlight: 1,
    preVote: true,
    checkQuorum: true,
    readOnlyOption: ReadOnlyOption.Safe,
    ...config,
  };
  const positive = (name: string, value: number): void => {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`raft config ${name} = ${value}, allowed a positive integer`);
    }
  };
  positive("id", resolved.id);
  positive("electionTicks", resolved.electionTicks);
  positive("heartbeatTicks", resolved.heartbeatTicks);
  positive("maxSizePerMessage", resolved.maxSizePerMessage);
  positive("maxInflightMessages", resolved.maxInflightMessages);
  positive("maxCommittedSizePerReady", resolved.maxCommittedSizePerReady);
  positive("maxReadiesInFlight", resolved.maxReadiesInFlight);
  if (resolved.electionTicks <= resolved.heartbeatTicks) {
    throw new RangeError(
      `raft config electionTicks = ${resolved.electionTicks}, ` +
        `allowed > heartbeatTicks (${resolved.heartbeatTicks})`,
    );
  }
  if (!Number.isSafeInteger(resolved.applied) || resolved.applied < 0) {
    throw new RangeError(`raft config applied = ${resolved.applied}, allowed ≥ 0`);
  }
  if (resolved.readOnlyOption === ReadOnlyOption.LeaseBased && !resolved.checkQuorum) {
    throw new RangeError(
      "raft config readOnlyOption = lease_based requires checkQuorum = true (thesis §6.4.1)",
    );
  }
  return resolved;
}
