/** Where the storage part reports what it repaired (a torn tail) or removed. Injected. */
export interface StorageLogger {
  warn(message: string, fields: Readonly<Record<string, string | number>>): void;
}

/** A logger that drops everything; for callers that do not care. */
export const silentStorageLogger: StorageLogger = {
  warn(): void {},
};
