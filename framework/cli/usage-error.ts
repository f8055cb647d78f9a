/** A bad flag, config value or argument: the CLI prints it and exits with code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function isUsageError(value: unknown): value is UsageError {
  return value instanceof Error && value.name === "UsageError";
}

export const usageExitCode = 2;
