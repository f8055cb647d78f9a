export {
  BLOCK_BYTES_DEFAULT, CACHE_BYTES_DEFAULT, WAL_CHECKPOINT_BYTES_DEFAULT, importEventStore,
  openEventStore,
} from "./event-store.js";
export type { EventStore, EventStoreOptions } from "./event-store.js";
export type { ApplySlices } from "./apply-operations.js";
export type { BlockCacheStatistics } from "./block-cache.js";
export { EventStoreError, EventStoreErrorCode, isEventStoreError } from "./errors.js";
export type { EventStoreErrorDetails } from "./errors.js";
export { AssertionError } from "./assert.js";
export { insertFromRows } from "./operation.js";
export { createInsertChecker } from "./insert-checker.js";
export type {
  ColumnInput, CreateStreamOperation, EventRow, InsertOperation, Operation,
} from "./operation.js";
export type { FieldSpec, FieldType, StreamSchema } from "./schema.js";
export { TIMESTAMP_MAX, TIMESTAMP_MIN, isValidTimestamp } from "./timestamp.js";
export type { TimeRange } from "./query-options.js";
export type { FieldAggregate, RangeAggregate } from "./range-aggregate.js";
export type { ResultColumn, ScanCursor, ScanOptions, ScanResult } from "./range-scan.js";
export type { WindowAggregate, WindowOptions, WindowResult } from "./window-aggregate.js";
export type { StreamStatistics } from "./stream-query.js";
export type { EngineFile, EngineFileSystem, OpenMode } from "./file-system.js";
export { createNodeFileSystem } from "./node-file-system.js";
export { createMemoryFileSystem } from "./memory-file-system.js";
export type { MemoryFileSystem } from "./memory-file-system.js";
export { exactSumOf } from "./exact-sum.js";
