/**
 * Why a container could not start a node (start-up errors, never raised
 * while serving). One class, a closed code enum, a shape-based guard.
 */
export enum DiErrorCode {
  /** A required token has no binding; the message names the token. */
  MissingBinding = "missing_binding",
  /** A binding exists but resolving it (or what it injects) failed; the cause says why. */
  ResolutionFailed = "resolution_failed",
  /** A StateMachineProvider is malformed (empty type, no create). */
  InvalidProvider = "invalid_provider",
  /** Two StateMachineProviders claim the same type. */
  DuplicateType = "duplicate_type",
  /** The container and the node config disagree; `setting` names the config key. */
  InvalidConfig = "invalid_config",
  /** A binding that this entry point cannot use (the message says which one can). */
  UnsupportedBinding = "unsupported_binding",
}

export class DiError extends Error {
  override readonly name = "DiError";
  readonly code: DiErrorCode;
  /** For MissingBinding / UnsupportedBinding: the token's name; for InvalidConfig: the setting. */
  readonly subject: string | undefined;

  constructor(
    code: DiErrorCode,
    message: string,
    options: { subject?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.subject = options.subject;
  }
}

export function isDiError(value: unknown, code?: DiErrorCode): value is DiError {
  if (!(value instanceof Error) || value.name !== "DiError") return false;
  if (!("code" in value) || typeof value.code !== "string") return false;
  return code === undefined || value.code === code;
}
