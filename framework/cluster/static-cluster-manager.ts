/**
 * A ClusterManager over a static partition table (issue #5): nodes and
 * partitions come from config and never move. Keys map to partitions
 * explicitly (the table's `keys`) or by a stable hash over the type's
 * configured in-use partitions. createPartition hands out the table's free
 * partitions, in ascending id order, and refuses when none fits.
 *
 * Everything it answers is local to the process: two processes reading the
 * same table agree on every configured partition and every hashed key, but
 * a partition created here is known here only (the meta group of issue #9
 * makes creation cluster-wide).
 */
import { assert } from "../raft/index.js";
import type {
  ClusterListener,
  ClusterManager,
  CreatePartitionRequest,
  NodeInfo,
  PartitionInfo,
} from "./cluster-manager.js";
import { ClusterError, ClusterErrorCode } from "./errors.js";
import { bucketForKey } from "./stable-hash.js";
import type { StaticClusterTable, StaticPartitionEntry } from "./static-table.js";
import { checkStaticClusterTable, keyName } from "./static-table.js";

interface StaticState {
  readonly partitions: Map<number, PartitionInfo>;
  /** Free partition ids, ascending. */
  readonly free: number[];
  /** keyName(type, key) → partition id. */
  readonly boundKeys: Map<string, number>;
  /** Type → ids of its configured in-use partitions, ascending: the hash's buckets (fixed). */
  readonly hashed: ReadonlyMap<string, readonly number[]>;
  readonly nodes: readonly NodeInfo[];
  readonly listeners: Set<ClusterListener>;
}

function toPartitionInfo(entry: StaticPartitionEntry): PartitionInfo {
  const replicas = [...entry.replicas].sort((a, b) => a - b);
  const base = {
    partitionId: entry.partitionId,
    stateMachineType: entry.stateMachineType,
    replicationFactor: replicas.length,
    replicas,
    epoch: 1,
  };
  return entry.leaderHint === undefined ? base : { ...base, leaderHint: entry.leaderHint };
}

function buildState(table: StaticClusterTable): StaticState {
  checkStaticClusterTable(table);
  const sorted = [...table.partitions].sort((a, b) => a.partitionId - b.partitionId);
  const partitions = new Map(sorted.map((entry) => [entry.partitionId, toPartitionInfo(entry)]));
  const hashed = new Map<string, number[]>();
  for (const entry of sorted) {
    if (entry.free === true) continue;
    const ids = hashed.get(entry.stateMachineType) ?? [];
    ids.push(entry.partitionId);
    hashed.set(entry.stateMachineType, ids);
  }
  const boundKeys = new Map<string, number>();
  for (const entry of table.keys ?? []) {
    boundKeys.set(keyName(entry.stateMachineType, entry.key), entry.partitionId);
  }
  const nodes = [...table.nodes]
    .sort((a, b) => a.nodeId - b.nodeId)
    .map((node): NodeInfo => ({ ...node, state: "alive" }));
  return {
    partitions,
    free: sorted.filter((entry) => entry.free === true).map((entry) => entry.partitionId),
    boundKeys,
    hashed,
    nodes,
    listeners: new Set(),
  };
}

function knownType(state: StaticState, stateMachineType: string): boolean {
  for (const partition of state.partitions.values()) {
    if (partition.stateMachineType === stateMachineType) return true;
  }
  return false;
}

function unknownType(state: StaticState, stateMachineType: string): ClusterError {
  const types = [...new Set([...state.partitions.values()].map((p) => p.stateMachineType))];
  return new ClusterError(
    ClusterErrorCode.UnknownStateMachineType,
    `no partition of state machine type "${stateMachineType}"; ` +
      `known: ${types.join(", ") || "none"}`,
  );
}

function lookup(state: StaticState, partitionId: number): PartitionInfo {
  const partition = state.partitions.get(partitionId);
  if (partition === undefined) {
    throw new ClusterError(
      ClusterErrorCode.UnknownPartition,
      `partition ${String(partitionId)} is unknown; ` +
        `known: ${[...state.partitions.keys()].join(", ")}`,
    );
  }
  return partition;
}

function forKey(state: StaticState, stateMachineType: string, key: string): PartitionInfo {
  if (typeof key !== "string") {
    const message = `key: ${typeof key}, allowed a string`;
    throw new ClusterError(ClusterErrorCode.InvalidArgument, message);
  }
  const bound = state.boundKeys.get(keyName(stateMachineType, key));
  if (bound !== undefined) return lookup(state, bound);
  if (!knownType(state, stateMachineType)) throw unknownType(state, stateMachineType);
  const buckets = state.hashed.get(stateMachineType);
  if (buckets === undefined || buckets.length === 0) {
    throw new ClusterError(
      ClusterErrorCode.FailedPrecondition,
      `key "${key}" of type "${stateMachineType}" is not bound, and the type has only free ` +
        "partitions (none configured in use to hash onto): " +
        "create one with createPartition({ key })",
    );
  }
  const partitionId = buckets[bucketForKey(key, buckets.length)];
  assert(partitionId !== undefined, "bucketForKey returned a bucket outside the list");
  return lookup(state, partitionId);
}

function checkCreateRequest(request: CreatePartitionRequest): void {
  const bad = (message: string): ClusterError =>
    new ClusterError(ClusterErrorCode.InvalidArgument, message);
  if (typeof request.stateMachineType !== "string" || request.stateMachineType.length === 0) {
    throw bad("stateMachineType: allowed a non-empty type name");
  }
  if (request.key !== undefined && (typeof request.key !== "string" || request.key.length === 0)) {
    throw bad("key: allowed a non-empty string or no key");
  }
  const factor = request.replicationFactor;
  if (factor !== undefined && !(Number.isSafeInteger(factor) && factor >= 1)) {
    throw bad(`replicationFactor: ${String(factor)}, allowed an integer ≥ 1`);
  }
}

function existingForKey(
  state: StaticState,
  request: CreatePartitionRequest,
): PartitionInfo | undefined {
  if (request.key === undefined) return undefined;
  const bound = state.boundKeys.get(keyName(request.stateMachineType, request.key));
  if (bound === undefined) return undefined;
  const partition = lookup(state, bound);
  const factor = request.replicationFactor;
  if (factor !== undefined && factor !== partition.replicationFactor) {
    throw new ClusterError(
      ClusterErrorCode.AlreadyExists,
      `key "${request.key}" is served by partition ${bound} with replication factor ` +
        `${partition.replicationFactor}, not ${factor}`,
    );
  }
  return partition;
}

function create(state: StaticState, request: CreatePartitionRequest): PartitionInfo {
  checkCreateRequest(request);
  const existing = existingForKey(state, request);
  if (existing !== undefined) return existing;
  const factor = request.replicationFactor;
  const index = state.free.findIndex((partitionId) => {
    const partition = lookup(state, partitionId);
    if (partition.stateMachineType !== request.stateMachineType) return false;
    return factor === undefined || partition.replicationFactor === factor;
  });
  const chosen = index < 0 ? undefined : state.free[index];
  if (chosen === undefined) {
    const type = request.stateMachineType;
    const ofType = state.free.filter((id) => lookup(state, id).stateMachineType === type);
    throw new ClusterError(
      ClusterErrorCode.NoCapacity,
      `no free partition of type "${request.stateMachineType}"` +
        (factor === undefined ? "" : ` with replication factor ${factor}`) +
        ` in the static table (free of that type: ${ofType.length}); list more with free: true`,
    );
  }
  state.free.splice(index, 1);
  if (request.key !== undefined) {
    state.boundKeys.set(keyName(request.stateMachineType, request.key), chosen);
  }
  const previous = lookup(state, chosen);
  const partition: PartitionInfo = { ...previous, epoch: previous.epoch + 1 };
  state.partitions.set(chosen, partition);
  for (const listener of [...state.listeners]) listener({ kind: "partition", partition });
  return partition;
}

/** Rejects with ClusterError(InvalidConfig) for a bad table (at start-up, not at first use). */
export function createStaticClusterManager(table: StaticClusterTable): ClusterManager {
  const state = buildState(table);
  const run = <T>(work: () => T): Promise<T> => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      // ClusterErrors are expected outcomes; anything else (an assertion) stays as it is.
      return Promise.reject(error);
    }
  };
  return {
    partitions: () => run(() => [...state.partitions.values()]),
    partition: (partitionId) => run(() => lookup(state, partitionId)),
    partitionForKey: (type, key) => run(() => forKey(state, type, key)),
    createPartition: (request) => run(() => create(state, request)),
    nodes: () => run(() => state.nodes),
    watch(listener) {
      state.listeners.add(listener);
      return () => {
        state.listeners.delete(listener);
      };
    },
  };
}
