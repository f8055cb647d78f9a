/**
 * Expected failures of the cluster manager (partition table, node registry,
 * placement), as a closed set of codes. One class, a `from(unknown)`
 * converter and a shape-based guard (connect-es).
 */
export enum ClusterErrorCode {
  /** A setting of the cluster table is missing or out of range; `setting` names it. */
  InvalidConfig = "invalid_config",
  /** A request argument is malformed (empty type, bad replication factor, …). */
  InvalidArgument = "invalid_argument",
  /** No partition with that id is known. */
  UnknownPartition = "unknown_partition",
  /** No node with that id is known. */
  UnknownNode = "unknown_node",
  /** No partition of that state machine type is known. */
  UnknownStateMachineType = "unknown_state_machine_type",
  /** createPartition found no free partition (static table) or no placement (meta group). */
  NoCapacity = "no_capacity",
  /** A partition for that key already exists with other settings. */
  AlreadyExists = "already_exists",
  /** The request conflicts with the current state (e.g. draining a removed node). */
  FailedPrecondition = "failed_precondition",
  /** The meta group cannot answer now (no leader, not reachable); retry later. */
  Unavailable = "unavailable",
  /**
   * A controller's call carried a meta term older than the newest this node
   * has seen: its controller was deposed, a newer one may already have acted.
   */
  StaleController = "stale_controller",
}

const codeValues: ReadonlySet<string> = new Set(Object.values(ClusterErrorCode));

export function isClusterErrorCode(value: unknown): value is ClusterErrorCode {
  return typeof value === "string" && codeValues.has(value);
}

export class ClusterError extends Error {
  override readonly name = "ClusterError";
  readonly code: ClusterErrorCode;
  /** For InvalidConfig: the setting at fault, a path into the table ("partitions[2].replicas"). */
  readonly setting: string | undefined;

  constructor(
    code: ClusterErrorCode,
    message: string,
    options: { setting?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.setting = options.setting;
  }

  /** Keeps a ClusterError (also one from another copy of this module); wraps anything else. */
  static from(reason: unknown, fallbackCode = ClusterErrorCode.Unavailable): ClusterError {
    if (reason instanceof ClusterError) return reason;
    if (isClusterError(reason)) {
      const setting = reason.setting === undefined ? {} : { setting: reason.setting };
      return new ClusterError(reason.code, reason.message, { ...setting, cause: reason });
    }
    const message = reason instanceof Error ? reason.message : String(reason);
    return new ClusterError(fallbackCode, message, { cause: reason });
  }
}

/** Shape-based guard (works across copies of this module); narrows by code if given. */
export function isClusterError(value: unknown, code?: ClusterErrorCode): value is ClusterError {
  if (!(value instanceof Error) || value.name !== "ClusterError") return false;
  if (!("code" in value) || !isClusterErrorCode(value.code)) return false;
  return code === undefined || value.code === code;
}
