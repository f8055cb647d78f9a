/**
 * The ClusterManager over the meta group (issue #9): commands and queries go
 * to the meta group through a channel (a RaftkitClient bound to the meta
 * group's id, or a local host); the partition table is cached and refreshed
 * at most every `refreshIntervalMs`, and at once when a key is not found
 * (it may have been created elsewhere a moment ago). Keys route locally over
 * the cached table with the meta group's own rule (meta-table.ts).
 */
import { create } from "@bufbuild/protobuf";
import {
  CreatePartitionRequestSchema,
  ListNodesRequestSchema,
  ListPartitionsRequestSchema,
} from "../../gen/raftkit/v1/cluster_pb.js";
import type { ExecutableMessage } from "../statemachine/index.js";
import { StateMachineErrorCode, isStateMachineError } from "../statemachine/index.js";
import type {
  ClusterListener,
  ClusterManager,
  CreatePartitionRequest,
  NodeInfo,
  PartitionInfo,
} from "./cluster-manager.js";
import { ClusterError, ClusterErrorCode } from "./errors.js";
import { nodeFromWire, partitionFromWire } from "./meta-convert.js";
import { CreatePartition, ListNodes, ListPartitions } from "./meta-messages.js";
import type { MetaPartition } from "./meta-table.js";
import { partitionForKey } from "./meta-table.js";

/** How the manager reaches the meta group (RaftkitClient's shape, partition fixed). */
export interface MetaChannel {
  command<Request, Response>(
    message: ExecutableMessage<Request, Response>,
    request: Request,
  ): Promise<Response>;
  query<Request, Response>(
    message: ExecutableMessage<Request, Response>,
    request: Request,
  ): Promise<Response>;
}

export interface MetaClusterManagerOptions {
  readonly channel: MetaChannel;
  /** Monotonic milliseconds (injected). */
  readonly now: () => number;
  /** Longest time a cached table is used without asking the meta group. */
  readonly refreshIntervalMs: number;
}

const errorCodes: ReadonlyMap<StateMachineErrorCode, ClusterErrorCode> = new Map([
  [StateMachineErrorCode.NotFound, ClusterErrorCode.UnknownPartition],
  [StateMachineErrorCode.InvalidArgument, ClusterErrorCode.InvalidArgument],
  [StateMachineErrorCode.AlreadyExists, ClusterErrorCode.AlreadyExists],
  [StateMachineErrorCode.ResourceExhausted, ClusterErrorCode.NoCapacity],
  [StateMachineErrorCode.FailedPrecondition, ClusterErrorCode.FailedPrecondition],
]);

/** The meta group's refusals as ClusterErrors; the rest Unavailable. */
function clusterErrorFrom(error: unknown): ClusterError {
  if (isStateMachineError(error)) {
    const code = errorCodes.get(error.code) ?? ClusterErrorCode.FailedPrecondition;
    return new ClusterError(code, error.rawMessage, { cause: error });
  }
  return ClusterError.from(error, ClusterErrorCode.Unavailable);
}

interface Cache {
  partitions: Map<number, MetaPartition>;
  fetchedAtMs: number;
}

export function createMetaClusterManager(options: MetaClusterManagerOptions): ClusterManager {
  const { channel } = options;
  const listeners = new Set<ClusterListener>();
  let cache: Cache | undefined;
  let fetching: Promise<Cache> | undefined;
  const emit = (partition: PartitionInfo): void => {
    for (const listener of [...listeners]) listener({ kind: "partition", partition });
  };
  const install = (fresh: readonly MetaPartition[]): Cache => {
    const previous = cache?.partitions ?? new Map<number, MetaPartition>();
    const next: Cache = {
      partitions: new Map(fresh.map((p) => [p.partitionId, p])),
      fetchedAtMs: options.now(),
    };
    cache = next;
    for (const partition of fresh) {
      if (previous.get(partition.partitionId)?.epoch !== partition.epoch) emit(partition);
    }
    for (const partitionId of previous.keys()) {
      if (next.partitions.has(partitionId)) continue;
      for (const listener of [...listeners]) listener({ kind: "partition_removed", partitionId });
    }
    return next;
  };
  const fetch = (): Promise<Cache> => {
    fetching ??= channel
      .query(ListPartitions, create(ListPartitionsRequestSchema))
      .then((response) => install(response.partitions.map(partitionFromWire)))
      .catch((error: unknown) => {
        throw clusterErrorFrom(error);
      })
      .finally(() => {
        fetching = undefined;
      });
    return fetching;
  };
  const table = async (): Promise<Cache> => {
    if (cache === undefined) return fetch();
    return options.now() - cache.fetchedAtMs < options.refreshIntervalMs ? cache : fetch();
  };
  const lookup = async (partitionId: number): Promise<PartitionInfo> => {
    let found = (await table()).partitions.get(partitionId);
    if (found === undefined) found = (await fetch()).partitions.get(partitionId);
    if (found === undefined) {
      const message = `partition ${partitionId} is unknown`;
      throw new ClusterError(ClusterErrorCode.UnknownPartition, message);
    }
    return found;
  };
  const forKey = async (type: string, key: string): Promise<PartitionInfo> => {
    try {
      return partitionForKey([...(await table()).partitions.values()], type, key);
    } catch (error) {
      const notFound = isStateMachineError(error, StateMachineErrorCode.NotFound);
      if (!notFound) throw clusterErrorFrom(error);
    }
    try {
      return partitionForKey([...(await fetch()).partitions.values()], type, key);
    } catch (error) {
      throw clusterErrorFrom(error);
    }
  };
  const createOne = async (request: CreatePartitionRequest): Promise<PartitionInfo> => {
    const wire = create(CreatePartitionRequestSchema, {
      stateMachineType: request.stateMachineType,
      key: request.key ?? "",
      replicationFactor: request.replicationFactor ?? 0,
    });
    let response;
    try {
      response = await channel.command(CreatePartition, wire);
    } catch (error) {
      throw clusterErrorFrom(error);
    }
    if (response.partition === undefined) {
      const message = "the meta group answered without a partition";
      throw new ClusterError(ClusterErrorCode.Unavailable, message);
    }
    const partition = partitionFromWire(response.partition);
    const cachedEpoch = cache?.partitions.get(partition.partitionId)?.epoch;
    if (cache !== undefined && cachedEpoch !== partition.epoch) {
      cache.partitions.set(partition.partitionId, partition);
      emit(partition);
    }
    return partition;
  };
  const nodes = async (): Promise<readonly NodeInfo[]> => {
    try {
      const response = await channel.query(ListNodes, create(ListNodesRequestSchema));
      return response.nodes.map(nodeFromWire);
    } catch (error) {
      throw clusterErrorFrom(error);
    }
  };
  return {
    partitions: async () =>
      [...(await table()).partitions.values()].sort((a, b) => a.partitionId - b.partitionId),
    partition: lookup,
    partitionForKey: forKey,
    createPartition: createOne,
    nodes,
    watch(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
