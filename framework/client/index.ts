export type { RaftkitClient } from "./raftkit-client.js";
export { createRaftkitClient } from "./raftkit-client.js";
export type {
  CallOptions,
  ClientClock,
  QueryCallOptions,
  RaftkitClientOptions,
  ReadConsistencyName,
} from "./client-options.js";
export type { BackoffPolicy } from "./backoff.js";
export { backoffDelayMs, defaultBackoff } from "./backoff.js";
export type { BatchingLimits } from "./node-channel.js";
export { defaultBatchingLimits } from "./node-channel.js";
export type { ClientErrorContext } from "./errors.js";
export { ClientError, ClientErrorCode, isClientError } from "./errors.js";
