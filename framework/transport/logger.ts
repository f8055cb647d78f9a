/** Structured logging, injected; the transport never writes to the console itself. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function createSilentLogger(): Logger {
  const ignore = (): void => {};
  return { debug: ignore, info: ignore, warn: ignore, error: ignore };
}
