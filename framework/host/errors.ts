/**
 * Outcomes a caller of the host can expect, as a closed set of codes
 * (dragonboat's request result codes). Safe to retry: NotLeader (at the
 * leader hint), ProposalDropped, Overloaded, DeadlineExceeded (outcome
 * unknown: retry only with an idempotent request or a session).
 */
export enum HostErrorCode {
  NotLeader = "not_leader",
  GroupNotFound = "group_not_found",
  GroupExists = "group_exists",
  /** The proposal was not committed (leadership changed, transfer, limits). */
  ProposalDropped = "proposal_dropped",
  /** The deadline passed; a command may or may not have been applied. */
  DeadlineExceeded = "deadline_exceeded",
  /** Too much is queued; back off. */
  Overloaded = "overloaded",
  /** The host is stopping or stopped. */
  Stopped = "stopped",
  /** Durable storage failed; the node accepts no more writes. */
  StorageFailed = "storage_failed",
  SnapshotMissing = "snapshot_missing",
  /** The state machine threw while applying or answering. */
  StateMachineFailed = "state_machine_failed",
  InvalidArgument = "invalid_argument",
}

export class HostError extends Error {
  override readonly name = "HostError";
  readonly code: HostErrorCode;
  /** For NotLeader: the node believed to lead the group, 0 if unknown. */
  readonly leaderHint: number;

  constructor(code: HostErrorCode, message: string, options: { leaderHint?: number; cause?: unknown } = {}) {
    super(`[${code}] ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.leaderHint = options.leaderHint ?? 0;
  }
}

export function isHostError(value: unknown, code?: HostErrorCode): value is HostError {
  if (!(value instanceof Error) || value.name !== "HostError") return false;
  return code === undefined || (value as HostError).code === code;
}

/** Errors whose request can be sent again (to the leader hint for NotLeader). */
export function isRetryable(error: unknown): boolean {
  return (
    isHostError(error, HostErrorCode.NotLeader) ||
    isHostError(error, HostErrorCode.ProposalDropped) ||
    isHostError(error, HostErrorCode.Overloaded)
  );
}
