/**
 * The meta group's state machine: the meta table behind executable
 * messages, snapshotted as one ClusterTableSnapshot message (the table is
 * small: nodes and partitions, not their data).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AdoptPartitionResponseSchema,
  ClusterTableSnapshotSchema,
  CreatePartitionResponseSchema,
  DeletePartitionResponseSchema,
  ListNodesResponseSchema,
  ListPartitionsResponseSchema,
  PartitionForKeyResponseSchema,
  RegisterNodeResponseSchema,
  SetNodeStateResponseSchema,
  UpdatePartitionResponseSchema,
} from "../../gen/raftkit/v1/cluster_pb.js";
import type {
  ExecutableState,
  ExecutableStateMachine,
  ExecutorRegistry,
} from "../statemachine/index.js";
import { createExecutableStateMachine, createExecutorRegistry } from "../statemachine/index.js";
import {
  idFromWire,
  nodeFromWire,
  nodeStateFromWire,
  nodeToWire,
  partitionFromWire,
  partitionToWire,
} from "./meta-convert.js";
import {
  AdoptPartition,
  CreatePartition,
  DeletePartition,
  ListNodes,
  ListPartitions,
  PartitionForKey,
  RegisterNode,
  SetNodeState,
  UpdatePartition,
} from "./meta-messages.js";
import type { MetaTable } from "./meta-table.js";
import { createMetaTable } from "./meta-table.js";

export interface MetaStateMachineOptions {
  readonly partitionId: number;
  /** Replication factor of partitions created without one. */
  readonly defaultReplicationFactor: number;
}

export interface MetaStateMachine {
  readonly machine: ExecutableStateMachine;
  /** Read-only view for the controller on this replica (may lag the meta leader's commit). */
  readonly table: MetaTable;
}

function concatenate(parts: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.byteLength;
  }
  return whole;
}

async function* oneChunk(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function createMetaState(table: MetaTable): ExecutableState {
  return {
    open: async () => 0,
    saveSnapshot() {
      const data = table.data();
      const snapshot = create(ClusterTableSnapshotSchema, {
        nodes: [...data.nodes.values()].map(nodeToWire),
        partitions: [...data.partitions.values()].map(partitionToWire),
        nextPartitionId: BigInt(data.nextPartitionId),
      });
      // Encoded now: later applies must not change what this snapshot holds.
      return oneChunk(toBinary(ClusterTableSnapshotSchema, snapshot));
    },
    async restoreSnapshot(_index, chunks) {
      const parts: Uint8Array[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      const snapshot = fromBinary(ClusterTableSnapshotSchema, concatenate(parts));
      const nodes = snapshot.nodes.map(nodeFromWire);
      const partitions = snapshot.partitions.map(partitionFromWire);
      table.replace({
        nodes: new Map(nodes.map((node) => [node.nodeId, node])),
        partitions: new Map(partitions.map((partition) => [partition.partitionId, partition])),
        nextPartitionId: Number(snapshot.nextPartitionId),
      });
    },
    close: async () => undefined,
  };
}

export function createMetaStateMachine(options: MetaStateMachineOptions): MetaStateMachine {
  const table = createMetaTable(options.defaultReplicationFactor);
  const registry = createExecutorRegistry();
  registry.registerCommand(RegisterNode, (request, context) => {
    const node = table.registerNode(
      {
        nodeId: idFromWire("node id", request.nodeId),
        address: request.address,
        zone: request.zone,
        capacity: request.capacity,
      },
      context.timestampMs,
    );
    return create(RegisterNodeResponseSchema, { node: nodeToWire(node) });
  });
  registry.registerCommand(SetNodeState, (request, context) => {
    const nodeId = idFromWire("node id", request.nodeId);
    const node = table.setNodeState(nodeId, nodeStateFromWire(request.state), context.timestampMs);
    return create(SetNodeStateResponseSchema, { node: nodeToWire(node) });
  });
  registry.registerCommand(CreatePartition, (request) => {
    const { partition, created } = table.createPartition(request);
    const wire = partitionToWire(partition);
    return create(CreatePartitionResponseSchema, { partition: wire, created });
  });
  registry.registerCommand(AdoptPartition, (request) => {
    const { partition, adopted } = table.adoptPartition({
      partitionId: idFromWire("partition id", request.partitionId),
      stateMachineType: request.stateMachineType,
      replicationFactor: request.replicationFactor,
      replicas: request.replicas.map((id) => idFromWire("replica", id)),
    });
    return create(AdoptPartitionResponseSchema, { partition: partitionToWire(partition), adopted });
  });
  registry.registerCommand(DeletePartition, (request) => {
    const partition = table.deletePartition(idFromWire("partition id", request.partitionId));
    return create(DeletePartitionResponseSchema, { partition: partitionToWire(partition) });
  });
  registry.registerCommand(UpdatePartition, (request) => {
    const partition = table.updatePartition({
      partitionId: idFromWire("partition id", request.partitionId),
      expectedEpoch: Number(request.expectedEpoch),
      replicas: request.replicas.map((id) => idFromWire("replica", id)),
      learners: request.learners.map((id) => idFromWire("learner", id)),
      leaderHint: request.leaderHint === 0n ? 0 : idFromWire("leader hint", request.leaderHint),
    });
    return create(UpdatePartitionResponseSchema, { partition: partitionToWire(partition) });
  });
  registerQueries(table, registry);
  const machine = createExecutableStateMachine({
    partitionId: options.partitionId,
    registry,
    state: createMetaState(table),
  });
  return { machine, table };
}

function registerQueries(table: MetaTable, registry: ExecutorRegistry): void {
  registry.registerQuery(ListNodes, () =>
    create(ListNodesResponseSchema, { nodes: table.nodes().map(nodeToWire) }),
  );
  registry.registerQuery(ListPartitions, () =>
    create(ListPartitionsResponseSchema, { partitions: table.partitions().map(partitionToWire) }),
  );
  registry.registerQuery(PartitionForKey, (request) => {
    const partition = table.partitionForKey(request.stateMachineType, request.key);
    return create(PartitionForKeyResponseSchema, { partition: partitionToWire(partition) });
  });
}
