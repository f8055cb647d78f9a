/**
 * The static partition table: nodes and partitions listed in config, checked
 * once at start-up. Every process given the same table agrees on where each
 * partition lives and which partition serves a key.
 */
import { ClusterError, ClusterErrorCode } from "./errors.js";

export interface StaticNodeEntry {
  readonly nodeId: number;
  readonly address: string;
  readonly zone?: string;
  readonly capacity?: number;
}

export interface StaticPartitionEntry {
  readonly partitionId: number;
  readonly stateMachineType: string;
  /** Node ids of the voting replicas; each must be a listed node. */
  readonly replicas: readonly number[];
  /** Must equal replicas.length when given (a static table does not move replicas). */
  readonly replicationFactor?: number;
  readonly leaderHint?: number;
  /**
   * A free partition is reserved for createPartition: it serves no key until
   * created, and never takes part in the hash mapping (see docs/cluster.md).
   */
  readonly free?: boolean;
}

/** A key bound to a partition explicitly (checked before the hash). */
export interface StaticKeyEntry {
  readonly stateMachineType: string;
  readonly key: string;
  readonly partitionId: number;
}

export interface StaticClusterTable {
  readonly nodes: readonly StaticNodeEntry[];
  readonly partitions: readonly StaticPartitionEntry[];
  readonly keys?: readonly StaticKeyEntry[];
}

function invalid(setting: string, message: string): ClusterError {
  return new ClusterError(ClusterErrorCode.InvalidConfig, `${setting}: ${message}`, { setting });
}

function isPositiveId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function checkNodes(nodes: readonly StaticNodeEntry[]): ReadonlySet<number> {
  if (!Array.isArray(nodes) || nodes.length === 0) throw invalid("nodes", "allowed ≥ 1 node");
  const ids = new Set<number>();
  nodes.forEach((node, index) => {
    const at = `nodes[${index}]`;
    if (!isPositiveId(node.nodeId)) {
      throw invalid(`${at}.nodeId`, `${String(node.nodeId)}, allowed a positive integer`);
    }
    if (ids.has(node.nodeId)) throw invalid(`${at}.nodeId`, `${node.nodeId} listed twice`);
    ids.add(node.nodeId);
    if (!isNonEmptyString(node.address)) {
      throw invalid(`${at}.address`, "allowed a non-empty host:port");
    }
    if (node.zone !== undefined && !isNonEmptyString(node.zone)) {
      throw invalid(`${at}.zone`, "allowed a non-empty label or no zone");
    }
    const capacity = node.capacity;
    if (capacity !== undefined && !(Number.isFinite(capacity) && capacity > 0)) {
      throw invalid(`${at}.capacity`, `${String(capacity)}, allowed a finite number > 0`);
    }
  });
  return ids;
}

function checkReplicas(
  at: string,
  entry: StaticPartitionEntry,
  nodeIds: ReadonlySet<number>,
): void {
  const replicas = entry.replicas;
  if (!Array.isArray(replicas) || replicas.length === 0) {
    throw invalid(`${at}.replicas`, "allowed ≥ 1 node id");
  }
  if (new Set(replicas).size !== replicas.length) {
    throw invalid(`${at}.replicas`, `[${replicas.join(", ")}] lists a node twice`);
  }
  for (const replica of replicas) {
    if (!nodeIds.has(replica)) {
      throw invalid(`${at}.replicas`, `node ${String(replica)} is not among the listed nodes`);
    }
  }
  const factor = entry.replicationFactor;
  if (factor !== undefined && factor !== replicas.length) {
    throw invalid(
      `${at}.replicationFactor`,
      `${String(factor)}, allowed ${replicas.length} (the number of replicas listed)`,
    );
  }
  const hint = entry.leaderHint;
  if (hint !== undefined && !replicas.includes(hint)) {
    const allowed = `allowed one of [${replicas.join(", ")}]`;
    throw invalid(`${at}.leaderHint`, `node ${String(hint)}, ${allowed}`);
  }
}

function checkPartitions(
  partitions: readonly StaticPartitionEntry[],
  nodeIds: ReadonlySet<number>,
): ReadonlyMap<number, StaticPartitionEntry> {
  if (!Array.isArray(partitions)) throw invalid("partitions", "allowed a list");
  const byId = new Map<number, StaticPartitionEntry>();
  partitions.forEach((entry, index) => {
    const at = `partitions[${index}]`;
    if (!isPositiveId(entry.partitionId)) {
      const value = String(entry.partitionId);
      throw invalid(`${at}.partitionId`, `${value}, allowed a positive integer`);
    }
    if (byId.has(entry.partitionId)) {
      throw invalid(`${at}.partitionId`, `${entry.partitionId} listed twice`);
    }
    if (!isNonEmptyString(entry.stateMachineType)) {
      throw invalid(`${at}.stateMachineType`, "allowed a non-empty type name");
    }
    checkReplicas(at, entry, nodeIds);
    byId.set(entry.partitionId, entry);
  });
  return byId;
}

function checkKeys(
  keys: readonly StaticKeyEntry[],
  partitions: ReadonlyMap<number, StaticPartitionEntry>,
): void {
  const seen = new Set<string>();
  keys.forEach((entry, index) => {
    const at = `keys[${index}]`;
    if (!isNonEmptyString(entry.key)) throw invalid(`${at}.key`, "allowed a non-empty key");
    const partition = partitions.get(entry.partitionId);
    if (partition === undefined) {
      throw invalid(`${at}.partitionId`, `${String(entry.partitionId)} is not a listed partition`);
    }
    if (partition.free === true) {
      const message = `${entry.partitionId} is free (reserved for createPartition)`;
      throw invalid(`${at}.partitionId`, message);
    }
    if (partition.stateMachineType !== entry.stateMachineType) {
      throw invalid(
        `${at}.stateMachineType`,
        `"${entry.stateMachineType}", but partition ${entry.partitionId} ` +
          `is "${partition.stateMachineType}"`,
      );
    }
    const name = keyName(entry.stateMachineType, entry.key);
    if (seen.has(name)) throw invalid(`${at}.key`, `"${entry.key}" bound twice`);
    seen.add(name);
  });
}

/** The map key of a (state machine type, key) pair. */
export function keyName(stateMachineType: string, key: string): string {
  return `${stateMachineType}\u0000${key}`;
}

/** Throws ClusterError(InvalidConfig) naming the first setting at fault. */
export function checkStaticClusterTable(table: StaticClusterTable): void {
  const nodeIds = checkNodes(table.nodes);
  const partitions = checkPartitions(table.partitions, nodeIds);
  checkKeys(table.keys ?? [], partitions);
}

export interface UniformTableOptions {
  /** Every node: id → "host:port". */
  readonly nodes: ReadonlyMap<number, string>;
  /** Partition ids, each replicated on every node. */
  readonly partitionIds: readonly number[];
  readonly stateMachineType: string;
}

/** The table of a node process started with `groups`: every group on every node. */
export function createUniformStaticTable(options: UniformTableOptions): StaticClusterTable {
  const nodeIds = [...options.nodes.keys()].sort((a, b) => a - b);
  return {
    nodes: nodeIds.map((nodeId) => ({ nodeId, address: options.nodes.get(nodeId) ?? "" })),
    partitions: options.partitionIds.map((partitionId) => ({
      partitionId,
      stateMachineType: options.stateMachineType,
      replicas: nodeIds,
    })),
  };
}
