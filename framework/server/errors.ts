/**
 * Why a node process could not start or refused a request of its own (not
 * the host's: those are HostError). One class, a closed code enum, a guard.
 */
export enum ServerErrorCode {
  /** A setting is missing or out of range; `setting` names it. */
  InvalidConfig = "invalid_config",
  /** The data directory belongs to another node id or cluster. */
  DataDirectoryMismatch = "data_directory_mismatch",
  /** The listen address could not be bound. */
  ListenFailed = "listen_failed",
  /** A data directory file is unreadable or damaged. */
  DataDirectoryDamaged = "data_directory_damaged",
}

export class ServerError extends Error {
  override readonly name = "ServerError";
  readonly code: ServerErrorCode;
  /** For InvalidConfig: the setting at fault (a config key; the CLI maps it to its flag). */
  readonly setting: string | undefined;

  constructor(code: ServerErrorCode, message: string, options: { setting?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.setting = options.setting;
  }
}

export function isServerError(value: unknown, code?: ServerErrorCode): value is ServerError {
  if (!(value instanceof Error) || value.name !== "ServerError") return false;
  return code === undefined || (value as ServerError).code === code;
}
