import { pino } from "pino";
import type { Logger as PinoLogger } from "pino";
import type { Logger } from "../transport/index.js";
import type { LogLevel } from "./start-settings.js";

export interface ProcessLogger extends Logger {
  /** Writes out whatever is buffered (before exit). */
  flush(): void;
}

/**
 * The framework's Logger on pino: one JSON object per line on stdout, with
 * level, time, pid, the node id and the caller's fields.
 */
export function createPinoLogger(level: LogLevel, bindings: Readonly<Record<string, string | number>>): ProcessLogger {
  const logger: PinoLogger = pino({ level, base: { pid: process.pid, ...bindings } });
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
    flush: () => logger.flush(),
  };
}
