import type { ClusterManager } from "../cluster/index.js";
import type { SessionRandomSource } from "../statemachine/index.js";
import type { BackoffPolicy } from "./backoff.js";
import { checkBackoffPolicy, defaultBackoff } from "./backoff.js";
import type { BatchingLimits } from "./node-channel.js";
import { defaultBatchingLimits } from "./node-channel.js";

/** Time as the client sees it: injected so tests can drive retries without waiting. */
export interface ClientClock {
  /** Milliseconds on a monotonic scale; only differences are meaningful. */
  now(): number;
  /** Resolves after `ms` milliseconds (keeps the process alive meanwhile). */
  sleep(ms: number): Promise<void>;
}

export interface RaftkitClientOptions {
  /** Base URLs of the cluster's nodes ("http://host:port"); at least one. */
  readonly nodes: readonly string[];
  /** Session ids and retry jitter. Default: crypto.getRandomValues. */
  readonly random?: SessionRandomSource;
  readonly clock?: ClientClock;
  /** Routes string keys: the partition id for (state machine type, key). */
  readonly partitionForKey?: (stateMachineType: string, key: string) => number | Promise<number>;
  /** Routes string keys through the cluster's partition table (used when partitionForKey is absent). */
  readonly cluster?: Pick<ClusterManager, "partitionForKey">;
  /** Deadline of a call without its own `deadlineMs`. Default 10 000 ms. */
  readonly defaultDeadlineMs?: number;
  /** Longest single attempt; a slower one is retried (same session stamp) while the deadline allows. Default 5 000 ms. */
  readonly attemptTimeoutMs?: number;
  readonly backoff?: BackoffPolicy;
  /** Refuse, before sending, request payloads above this (the state machines' maxPayloadBytes). */
  readonly maxPayloadBytes?: number;
  readonly batching?: Partial<BatchingLimits>;
}

export interface CallOptions {
  /** Overall deadline of the call in milliseconds, across retries. */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
}

export type ReadConsistencyName = "linearizable" | "lease" | "stale";

export interface QueryCallOptions extends CallOptions {
  /** Default "linearizable" (ReadIndex on the leader). "stale" may be served by any replica. */
  readonly consistency?: ReadConsistencyName;
}

export interface ResolvedClientOptions {
  readonly nodes: readonly string[];
  readonly random: SessionRandomSource;
  readonly clock: ClientClock;
  readonly partitionForKey: ((stateMachineType: string, key: string) => Promise<number>) | undefined;
  readonly defaultDeadlineMs: number;
  readonly attemptTimeoutMs: number;
  readonly backoff: BackoffPolicy;
  readonly maxPayloadBytes: number | undefined;
  readonly batching: BatchingLimits;
}

/** Checks every option, naming the one at fault; fills defaults. */
export function resolveClientOptions(options: RaftkitClientOptions): ResolvedClientOptions {
  if (options.nodes.length === 0) throw new RangeError("createRaftkitClient: nodes is empty, allowed ≥ 1 base URL");
  const nodes = options.nodes.map(normaliseNodeUrl);
  const positive = (name: string, value: number | undefined, fallback: number): number => {
    const chosen = value ?? fallback;
    if (!(Number.isSafeInteger(chosen) && chosen >= 1)) throw new RangeError(`${name} = ${chosen}, allowed an integer ≥ 1`);
    return chosen;
  };
  const batching = { ...defaultBatchingLimits, ...options.batching };
  positive("batching.maxInFlightCalls", batching.maxInFlightCalls, 1);
  positive("batching.maxBatchRequests", batching.maxBatchRequests, 1);
  positive("batching.maxBatchBytes", batching.maxBatchBytes, 1);
  const byTable = options.cluster;
  const partitionForKey =
    options.partitionForKey !== undefined
      ? async (type: string, key: string) => options.partitionForKey!(type, key)
      : byTable === undefined
        ? undefined
        : async (type: string, key: string) => (await byTable.partitionForKey(type, key)).partitionId;
  return {
    nodes,
    random: options.random ?? cryptoRandom,
    clock: options.clock ?? systemClock,
    partitionForKey,
    defaultDeadlineMs: positive("defaultDeadlineMs", options.defaultDeadlineMs, 10_000),
    attemptTimeoutMs: positive("attemptTimeoutMs", options.attemptTimeoutMs, 5_000),
    backoff: checkBackoffPolicy(options.backoff ?? defaultBackoff),
    maxPayloadBytes: options.maxPayloadBytes === undefined ? undefined : positive("maxPayloadBytes", options.maxPayloadBytes, 1),
    batching,
  };
}

/** "http://host:port" without a trailing slash; anything else is refused, naming the value. */
export function normaliseNodeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`node URL "${url}": not a URL, allowed "http://host:port"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new RangeError(`node URL "${url}": protocol ${parsed.protocol}, allowed http: or https:`);
  }
  return `${parsed.protocol}//${parsed.host}`;
}

const cryptoRandom: SessionRandomSource = {
  nextUint32: () => crypto.getRandomValues(new Uint32Array(1))[0]!,
};

const systemClock: ClientClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
