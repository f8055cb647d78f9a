export { StorageError, StorageErrorCode, isStorageError } from "./errors.js";
export type { StorageErrorDetails } from "./errors.js";
export type { FileSystem, OpenMode, StorageFile } from "./file-system.js";
export { createNodeFileSystem } from "./node-file-system.js";
export type { StorageLogger } from "./logger.js";
export { silentStorageLogger } from "./logger.js";
export type { LogUpdate } from "./log-update.js";
export type { LogStore, LogStoreOptions } from "./log-store.js";
export { createLogStore, openLogStore } from "./log-store.js";
export type {
  SnapshotInfo,
  SnapshotReader,
  SnapshotStore,
  SnapshotStoreOptions,
} from "./snapshot-store.js";
export { openSnapshotStore } from "./snapshot-store.js";
