/**
 * raftkit.v1.ClusterService, the management API every node serves on its one
 * port (issue #9), over the ClusterManager contract and this node's host.
 * Reads and partition creation work with any ClusterManager; deleting a
 * partition and draining a node change the meta group and need its channel
 * (a static table refuses them with FAILED_PRECONDITION). Status (leader,
 * lag per replica) comes from the groups this node leads; a leadership
 * transfer is done by the node leading the partition, any other node answers
 * FAILED_PRECONDITION naming the leader it knows.
 */
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type {
  CreatePartitionRequest,
  PartitionStatusEntry,
} from "../../gen/raftkit/v1/cluster_pb.js";
import {
  ClusterNodeState,
  ClusterService,
  DeletePartitionRequestSchema,
  PartitionStatusEntrySchema,
  ReplicaStatusSchema,
  SetNodeStateRequestSchema,
} from "../../gen/raftkit/v1/cluster_pb.js";
import type { NodeHost } from "../host/index.js";
import { HostErrorCode, isHostError } from "../host/index.js";
import { Role } from "../raft/index.js";
import { StateMachineErrorCode, isStateMachineError } from "../statemachine/index.js";
import type { ClusterManager, PartitionInfo } from "./cluster-manager.js";
import { ClusterErrorCode, isClusterError } from "./errors.js";
import type { MetaChannel } from "./meta-cluster-manager.js";
import {
  idFromWire,
  nodeFromWire,
  nodeToWire,
  partitionFromWire,
  partitionToWire,
} from "./meta-convert.js";
import { DeletePartition, SetNodeState } from "./meta-messages.js";
import type { MetaPartition } from "./meta-table.js";

export interface ClusterServiceOptions {
  readonly manager: ClusterManager;
  readonly host: NodeHost;
  /** The meta group, when the cluster runs one; absent for a static table. */
  readonly meta?: MetaChannel;
  /**
   * Starts the replicas of a partition just placed (node processes with the
   * meta group). Called when the partition is new, or still at its first
   * epoch (a retry after a failed start); never for one whose membership
   * changed since (a replica started fresh then would bootstrap a new log).
   */
  readonly startReplicas?: (partition: PartitionInfo) => Promise<void>;
  /** Stops the replicas of a deleted partition (best effort; node processes). */
  readonly stopReplicas?: (partition: PartitionInfo) => Promise<void>;
}

/** The epoch a partition has when placed; any membership record raises it. */
const firstEpoch = 1;

const clusterCodes: Record<ClusterErrorCode, Code> = {
  [ClusterErrorCode.InvalidConfig]: Code.FailedPrecondition,
  [ClusterErrorCode.InvalidArgument]: Code.InvalidArgument,
  [ClusterErrorCode.UnknownPartition]: Code.NotFound,
  [ClusterErrorCode.UnknownNode]: Code.NotFound,
  [ClusterErrorCode.UnknownStateMachineType]: Code.NotFound,
  [ClusterErrorCode.NoCapacity]: Code.ResourceExhausted,
  [ClusterErrorCode.AlreadyExists]: Code.AlreadyExists,
  [ClusterErrorCode.FailedPrecondition]: Code.FailedPrecondition,
  [ClusterErrorCode.Unavailable]: Code.Unavailable,
  [ClusterErrorCode.StaleController]: Code.FailedPrecondition,
};

/** The meta state machine's refusals (through the meta channel) as Connect codes. */
const refusalCodes: ReadonlyMap<StateMachineErrorCode, Code> = new Map([
  [StateMachineErrorCode.InvalidArgument, Code.InvalidArgument],
  [StateMachineErrorCode.NotFound, Code.NotFound],
  [StateMachineErrorCode.AlreadyExists, Code.AlreadyExists],
  [StateMachineErrorCode.FailedPrecondition, Code.FailedPrecondition],
  [StateMachineErrorCode.ResourceExhausted, Code.ResourceExhausted],
]);

function connectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isClusterError(error)) {
    return new ConnectError(error.message, clusterCodes[error.code], undefined, undefined, error);
  }
  if (isStateMachineError(error)) {
    const code = refusalCodes.get(error.code) ?? Code.FailedPrecondition;
    return new ConnectError(error.rawMessage, code, undefined, undefined, error);
  }
  if (isHostError(error, HostErrorCode.NotLeader)) {
    return new ConnectError(error.message, Code.FailedPrecondition);
  }
  if (isHostError(error, HostErrorCode.GroupNotFound)) {
    return new ConnectError(error.message, Code.NotFound);
  }
  if (isHostError(error)) return new ConnectError(error.message, Code.Unavailable);
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectError(message, Code.Internal, undefined, undefined, error);
}

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw connectError(error);
  }
}

function requireMeta(meta: MetaChannel | undefined, what: string): MetaChannel {
  if (meta !== undefined) return meta;
  const message = `${what} needs the meta group; this cluster runs a static partition table`;
  throw new ConnectError(message, Code.FailedPrecondition);
}

/** The table's view of a partition: learners and key when the manager keeps them (meta group). */
function recorded(partition: PartitionInfo): MetaPartition {
  const listed = "learners" in partition && Array.isArray(partition.learners) ? partition.learners : [];
  const learners = listed.filter((id): id is number => typeof id === "number");
  const key = "key" in partition && typeof partition.key === "string" ? partition.key : "";
  return { ...partition, learners, key };
}

/** Leader, commit and lag per replica, as this node knows them (full only where it leads). */
function statusOf(host: NodeHost, partition: PartitionInfo): PartitionStatusEntry {
  const entry = create(PartitionStatusEntrySchema, {
    partition: partitionToWire(recorded(partition)),
  });
  if (!host.groupIds().includes(partition.partitionId)) return entry;
  const status = host.status(partition.partitionId);
  entry.leaderNodeId = BigInt(status.leader);
  entry.commitIndex = BigInt(status.commit);
  if (status.role !== Role.Leader) return entry;
  for (const [nodeId, progress] of [...status.progress].sort((a, b) => a[0] - b[0])) {
    entry.replicas.push(
      create(ReplicaStatusSchema, {
        nodeId: BigInt(nodeId),
        learner: progress.isLearner,
        matchIndex: BigInt(progress.match),
        lag: BigInt(Math.max(0, status.lastIndex - progress.match)),
      }),
    );
  }
  return entry;
}

/**
 * Creates through the manager. `created` compares epochs around the call: a
 * new partition (or a free one taken) has a new id or a higher epoch, a key
 * that already had its partition returns it unchanged.
 */
async function createThrough(manager: ClusterManager, request: CreatePartitionRequest) {
  const before = new Map((await manager.partitions()).map((p) => [p.partitionId, p.epoch]));
  const partition = await manager.createPartition({
    stateMachineType: request.stateMachineType,
    ...(request.key === "" ? {} : { key: request.key }),
    ...(request.replicationFactor === 0 ? {} : { replicationFactor: request.replicationFactor }),
  });
  const epochBefore = before.get(partition.partitionId);
  const created = epochBefore === undefined || epochBefore < partition.epoch;
  return { partition: partitionToWire({ ...recorded(partition), key: request.key }), created };
}

export function createClusterServiceImpl(
  options: ClusterServiceOptions,
): ServiceImpl<typeof ClusterService> {
  const { manager, host, meta } = options;
  return {
    listNodes: () =>
      answer(async () => ({
        nodes: (await manager.nodes()).map((node) => nodeToWire({ ...node, stateSinceMs: 0 })),
      })),
    listPartitions: () =>
      answer(async () => ({
        partitions: (await manager.partitions()).map(recorded).map(partitionToWire),
      })),
    partitionStatus: (request) =>
      answer(async () => {
        const wanted = new Set(request.partitionIds.map((id) => idFromWire("partition id", id)));
        const all = await manager.partitions();
        const partitions = all.filter((p) => wanted.size === 0 || wanted.has(p.partitionId));
        return { partitions: partitions.map((partition) => statusOf(host, partition)) };
      }),
    createPartition: (request) =>
      answer(async () => {
        const result = await createThrough(manager, request);
        const partition = partitionFromWire(result.partition);
        const fresh = result.created || partition.epoch === firstEpoch;
        if (options.startReplicas !== undefined && fresh) {
          await options.startReplicas(partition);
        }
        return result;
      }),
    deletePartition: (request) =>
      answer(async () => {
        const channel = requireMeta(meta, "deleting a partition");
        const wire = create(DeletePartitionRequestSchema, { partitionId: request.partitionId });
        const response = await channel.command(DeletePartition, wire);
        if (options.stopReplicas !== undefined && response.partition !== undefined) {
          await options.stopReplicas(partitionFromWire(response.partition));
        }
        return response;
      }),
    drainNode: (request) =>
      answer(async () => {
        const channel = requireMeta(meta, "draining a node");
        const wire = create(SetNodeStateRequestSchema, {
          nodeId: request.nodeId,
          state: ClusterNodeState.DRAINING,
        });
        const response = await channel.command(SetNodeState, wire);
        return response.node === undefined ? {} : { node: nodeToWire(nodeFromWire(response.node)) };
      }),
    removeNode: (request) =>
      answer(async () => {
        const channel = requireMeta(meta, "removing a node");
        const wire = create(SetNodeStateRequestSchema, {
          nodeId: request.nodeId,
          state: ClusterNodeState.REMOVED,
        });
        const response = await channel.command(SetNodeState, wire);
        return response.node === undefined ? {} : { node: nodeToWire(nodeFromWire(response.node)) };
      }),
    transferLeadership: (request) =>
      answer(async () => {
        const partitionId = idFromWire("partition id", request.partitionId);
        host.transferLeadership(partitionId, idFromWire("to node id", request.toNodeId));
        return {};
      }),
  };
}
