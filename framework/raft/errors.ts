/**
 * Expected outcomes of raft operations, as a closed set of codes (etcd's
 * ErrProposalDropped, ErrCompacted, ...). A broken invariant is not one of
 * these: it throws AssertionError (see assert.ts) and is never caught.
 */
export enum RaftErrorCode {
  /** This replica is not the leader; `leaderHint` names the one it knows, or 0. */
  NotLeader = "not_leader",
  /** The proposal was not appended (leadership transfer under way, size limit). */
  ProposalDropped = "proposal_dropped",
  /** A configuration change is already pending; one at a time (Raft thesis §4.1). */
  ConfChangePending = "conf_change_pending",
  /** The configuration change is not valid against the current configuration. */
  InvalidConfChange = "invalid_conf_change",
  /** Storage: the requested index is below the first index (compacted away). */
  Compacted = "compacted",
  /** Storage: the requested index is above the last index. */
  Unavailable = "unavailable",
  /** Storage: a snapshot is being made; ask again later. */
  SnapshotTemporarilyUnavailable = "snapshot_temporarily_unavailable",
  /** Storage: the snapshot offered is older than what storage has. */
  SnapshotOutOfDate = "snapshot_out_of_date",
  /** Leadership transfer to a replica that is not a voter of the group. */
  InvalidTransferTarget = "invalid_transfer_target",
}

export class RaftError extends Error {
  override readonly name = "RaftError";
  readonly code: RaftErrorCode;
  readonly leaderHint: number;

  constructor(code: RaftErrorCode, message: string, leaderHint = 0) {
    super(`[${code}] ${message}`);
    this.code = code;
    this.leaderHint = leaderHint;
  }
}

export function isRaftError(value: unknown, code?: RaftErrorCode): value is RaftError {
  if (!(value instanceof Error) || value.name !== "RaftError") return false;
  return code === undefined || (value as RaftError).code === code;
}
