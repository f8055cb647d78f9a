/**
 * The meta group's state (issue #9): the node registry and the partition
 * table, with every change as a deterministic function of (state, request,
 * time from the apply context) — so every replica of the meta group holds
 * the same table. Expected refusals throw StateMachineError: they travel to
 * the caller and never fail apply.
 */
import { StateMachineError, StateMachineErrorCode } from "../statemachine/index.js";
import type { NodeInfo, NodeState, PartitionInfo } from "./cluster-manager.js";
import { assert } from "../raft/index.js";
import { isClusterError } from "./errors.js";
import type { AdoptPartition, Adoption } from "./meta-adoption.js";
import { adoptPartition } from "./meta-adoption.js";
import { computeLoads, placeReplicas } from "./placement.js";
import { bucketForKey } from "./stable-hash.js";

/** A partition as the meta group records it: the contract's fields, learners and its key. */
export interface MetaPartition extends PartitionInfo {
  readonly learners: readonly number[];
  /** The key it was created for; "" for a pooled partition (reached by hash or id). */
  readonly key: string;
}

export interface MetaNode extends NodeInfo {
  readonly stateSinceMs: number;
}

export interface MetaTableData {
  readonly nodes: ReadonlyMap<number, MetaNode>;
  readonly partitions: ReadonlyMap<number, MetaPartition>;
  /** Above every id in `partitions` and every id ever handed out or adopted: never reused. */
  readonly nextPartitionId: number;
}

const fail = (code: StateMachineErrorCode, message: string): StateMachineError =>
  new StateMachineError(code, message);

function positiveId(what: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) {
    const message = `${what} ${value}, allowed a positive integer`;
    throw fail(StateMachineErrorCode.InvalidArgument, message);
  }
  return value;
}

export interface RegisterNode {
  readonly nodeId: number;
  readonly address: string;
  readonly zone: string;
  readonly capacity: number;
}

export interface CreatePartition {
  readonly stateMachineType: string;
  readonly key: string;
  /** 0: the table's default. */
  readonly replicationFactor: number;
}

export interface UpdatePartition {
  readonly partitionId: number;
  readonly expectedEpoch: number;
  readonly replicas: readonly number[];
  readonly learners: readonly number[];
  /** 0: unknown. */
  readonly leaderHint: number;
}

export interface MetaTable {
  data(): MetaTableData;
  replace(data: MetaTableData): void;
  registerNode(request: RegisterNode, nowMs: number): MetaNode;
  setNodeState(nodeId: number, state: NodeState, nowMs: number): MetaNode;
  createPartition(request: CreatePartition): { partition: MetaPartition; created: boolean };
  /** Registers a running partition (static --groups) under its own id (meta-adoption.ts). */
  adoptPartition(request: AdoptPartition): Adoption;
  deletePartition(partitionId: number): MetaPartition;
  updatePartition(request: UpdatePartition): MetaPartition;
  nodes(): MetaNode[];
  partitions(): MetaPartition[];
  partition(partitionId: number): MetaPartition;
  partitionForKey(stateMachineType: string, key: string): MetaPartition;
}

export function createMetaTable(defaultReplicationFactor: number): MetaTable {
  positiveId("defaultReplicationFactor", defaultReplicationFactor);
  let nodes = new Map<number, MetaNode>();
  let partitions = new Map<number, MetaPartition>();
  let nextPartitionId = 1;
  const node = (nodeId: number): MetaNode => {
    const found = nodes.get(nodeId);
    if (found !== undefined) return found;
    throw fail(StateMachineErrorCode.NotFound, `node ${nodeId} is not registered`);
  };
  const partition = (partitionId: number): MetaPartition => {
    const found = partitions.get(partitionId);
    if (found !== undefined) return found;
    throw fail(StateMachineErrorCode.NotFound, `partition ${partitionId} is unknown`);
  };
  const table: MetaTable = {
    data: () => ({ nodes, partitions, nextPartitionId }),
    replace(data) {
      for (const partitionId of data.partitions.keys()) {
        assert(
          partitionId < data.nextPartitionId,
          `partition ${partitionId}, allowed < nextPartitionId = ${data.nextPartitionId}`,
        );
      }
      nodes = new Map(data.nodes);
      partitions = new Map(data.partitions);
      nextPartitionId = data.nextPartitionId;
    },
    registerNode(request, nowMs) {
      const registered = registerNode(nodes, request, nowMs);
      nodes.set(registered.nodeId, registered);
      return registered;
    },
    setNodeState(nodeId, state, nowMs) {
      const changed = changeNodeState(node(nodeId), state, nowMs, [...partitions.values()]);
      nodes.set(nodeId, changed);
      return changed;
    },
    createPartition(request) {
      const existing = boundPartition(partitions, request);
      if (existing !== undefined) return { partition: existing, created: false };
      const factor = defaultReplicationFactor;
      // The counter stays above every adopted id: a collision is a broken table.
      assert(
        !partitions.has(nextPartitionId),
        `nextPartitionId = ${nextPartitionId} is taken, allowed an id no partition holds`,
      );
      const created = placePartition(nextPartitionId, request, factor, nodes, partitions);
      partitions.set(created.partitionId, created);
      nextPartitionId++;
      return { partition: created, created: true };
    },
    adoptPartition(request) {
      const adoption = adoptPartition(partitions.get(request.partitionId), request, nodes);
      if (!adoption.adopted) return adoption;
      partitions.set(request.partitionId, adoption.partition);
      nextPartitionId = Math.max(nextPartitionId, request.partitionId + 1);
      return adoption;
    },
    deletePartition(partitionId) {
      const deleted = partition(partitionId);
      partitions.delete(partitionId);
      return deleted;
    },
    updatePartition(request) {
      const updated = updatedPartition(partition(request.partitionId), request, nodes);
      partitions.set(updated.partitionId, updated);
      return updated;
    },
    nodes: () => [...nodes.values()].sort((a, b) => a.nodeId - b.nodeId),
    partitions: () => [...partitions.values()].sort((a, b) => a.partitionId - b.partitionId),
    partition,
    partitionForKey: (type, key) => partitionForKey([...partitions.values()], type, key),
  };
  return table;
}

function registerNode(
  nodes: ReadonlyMap<number, MetaNode>,
  request: RegisterNode,
  nowMs: number,
): MetaNode {
  positiveId("node id", request.nodeId);
  if (request.address === "") {
    throw fail(StateMachineErrorCode.InvalidArgument, "address: allowed host:port");
  }
  if (!(Number.isFinite(request.capacity) && request.capacity >= 0)) {
    const message = `capacity ${request.capacity}, allowed ≥ 0 (0: 1)`;
    throw fail(StateMachineErrorCode.InvalidArgument, message);
  }
  const previous = nodes.get(request.nodeId);
  if (previous?.state === "removed") {
    const message = `node ${request.nodeId} was removed; node ids are never reused`;
    throw fail(StateMachineErrorCode.FailedPrecondition, message);
  }
  // A registering node runs: alive again, unless an operator is draining it.
  const state: NodeState = previous?.state === "draining" ? "draining" : "alive";
  const base = {
    nodeId: request.nodeId,
    address: request.address,
    state,
    stateSinceMs: previous?.state === state ? previous.stateSinceMs : nowMs,
    ...(request.capacity > 0 ? { capacity: request.capacity } : {}),
  };
  return request.zone === "" ? base : { ...base, zone: request.zone };
}

function changeNodeState(
  previous: MetaNode,
  state: NodeState,
  nowMs: number,
  partitions: readonly MetaPartition[],
): MetaNode {
  if (previous.state === state) return previous;
  if (previous.state === "removed") {
    const message = `node ${previous.nodeId} is removed for good`;
    throw fail(StateMachineErrorCode.FailedPrecondition, message);
  }
  if (previous.state === "draining" && state !== "removed") {
    // Draining is an operator's decision, left only by removal. The failure detector's
    // verdicts are planned on the registry at a round's start: a verdict proposed after an
    // operator's drain committed (a cluster simulation seed: suspect → alive, 380 ms later)
    // would otherwise undo the drain, and the node keep its replicas.
    const message = `node ${previous.nodeId} is draining: only removal ends that, not ${state}`;
    throw fail(StateMachineErrorCode.FailedPrecondition, message);
  }
  if (state === "removed") {
    const holding = partitions.filter(
      (p) => p.replicas.includes(previous.nodeId) || p.learners.includes(previous.nodeId),
    );
    if (holding.length > 0) {
      const ids = holding.map((p) => p.partitionId).join(", ");
      const message = `node ${previous.nodeId} still holds partitions ${ids}: drain it first`;
      throw fail(StateMachineErrorCode.FailedPrecondition, message);
    }
  }
  return { ...previous, state, stateSinceMs: nowMs };
}

function boundPartition(
  partitions: ReadonlyMap<number, MetaPartition>,
  request: CreatePartition,
): MetaPartition | undefined {
  if (request.key === "") return undefined;
  for (const partition of partitions.values()) {
    if (partition.stateMachineType !== request.stateMachineType) continue;
    if (partition.key !== request.key) continue;
    const factor = request.replicationFactor;
    if (factor !== 0 && factor !== partition.replicationFactor) {
      const message =
        `key "${request.key}" is served by partition ${partition.partitionId} with replication ` +
        `factor ${partition.replicationFactor}, not ${factor}`;
      throw fail(StateMachineErrorCode.AlreadyExists, message);
    }
    return partition;
  }
  return undefined;
}

function placePartition(
  partitionId: number,
  request: CreatePartition,
  defaultReplicationFactor: number,
  nodes: ReadonlyMap<number, MetaNode>,
  partitions: ReadonlyMap<number, MetaPartition>,
): MetaPartition {
  if (request.stateMachineType === "") {
    const message = "state_machine_type: allowed a non-empty name";
    throw fail(StateMachineErrorCode.InvalidArgument, message);
  }
  const asked = request.replicationFactor;
  const factor = asked === 0 ? defaultReplicationFactor : asked;
  positiveId("replication_factor", factor);
  let replicas: number[];
  try {
    const loads = computeLoads(partitions.values());
    replicas = placeReplicas({ count: factor, nodes: [...nodes.values()], loads });
  } catch (error) {
    if (!isClusterError(error)) throw error;
    throw fail(StateMachineErrorCode.ResourceExhausted, error.message);
  }
  return {
    partitionId,
    stateMachineType: request.stateMachineType,
    replicationFactor: factor,
    replicas: replicas.sort((a, b) => a - b),
    learners: [],
    epoch: 1,
    key: request.key,
  };
}

function checkMembers(
  what: string,
  ids: readonly number[],
  nodes: ReadonlyMap<number, MetaNode>,
): number[] {
  for (const id of ids) {
    positiveId(what, id);
    if (nodes.has(id)) continue;
    throw fail(StateMachineErrorCode.InvalidArgument, `${what}: node ${id} is not registered`);
  }
  if (new Set(ids).size !== ids.length) {
    const message = `${what}: [${ids.join(", ")}] lists a node twice`;
    throw fail(StateMachineErrorCode.InvalidArgument, message);
  }
  return [...ids].sort((a, b) => a - b);
}

function updatedPartition(
  previous: MetaPartition,
  request: UpdatePartition,
  nodes: ReadonlyMap<number, MetaNode>,
): MetaPartition {
  if (request.expectedEpoch !== previous.epoch) {
    const message =
      `partition ${previous.partitionId} is at epoch ${previous.epoch}, ` +
      `the update expected ${request.expectedEpoch}: read it again`;
    throw fail(StateMachineErrorCode.Aborted, message);
  }
  const replicas = checkMembers("replicas", request.replicas, nodes);
  const learners = checkMembers("learners", request.learners, nodes);
  if (replicas.length === 0) {
    throw fail(StateMachineErrorCode.InvalidArgument, "replicas: allowed ≥ 1 node");
  }
  if (learners.some((id) => replicas.includes(id))) {
    throw fail(StateMachineErrorCode.InvalidArgument, "a node is both a replica and a learner");
  }
  const { leaderHint: _previousHint, ...rest } = previous;
  const base = { ...rest, replicas, learners, epoch: previous.epoch + 1 };
  return request.leaderHint === 0 ? base : { ...base, leaderHint: request.leaderHint };
}

/**
 * A key's partition: the one created for it, else a stable hash over the
 * type's pooled (keyless) partitions by ascending id — adding a pooled
 * partition re-routes about 1/(n+1) of the unbound keys (jump hash).
 */
export function partitionForKey(
  partitions: readonly MetaPartition[],
  stateMachineType: string,
  key: string,
): MetaPartition {
  const ofType = partitions.filter((p) => p.stateMachineType === stateMachineType);
  const bound = ofType.find((p) => p.key === key && key !== "");
  if (bound !== undefined) return bound;
  const pooled = ofType.filter((p) => p.key === "").sort((a, b) => a.partitionId - b.partitionId);
  const chosen = pooled.length === 0 ? undefined : pooled[bucketForKey(key, pooled.length)];
  if (chosen === undefined) {
    const message =
      `no partition serves key "${key}" of type "${stateMachineType}" ` +
      `(no partition created for it, no pooled partition of the type)`;
    throw fail(StateMachineErrorCode.NotFound, message);
  }
  return chosen;
}
