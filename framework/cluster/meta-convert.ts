/** Between the meta table's plain data and its protobuf-es wire messages. */
import { create } from "@bufbuild/protobuf";
import type { ClusterNode, ClusterPartition } from "../../gen/raftkit/v1/cluster_pb.js";
import {
  ClusterNodeSchema,
  ClusterNodeState,
  ClusterPartitionSchema,
} from "../../gen/raftkit/v1/cluster_pb.js";
import { StateMachineError, StateMachineErrorCode } from "../statemachine/index.js";
import type { NodeState } from "./cluster-manager.js";
import { nodeStates } from "./cluster-manager.js";
import type { MetaNode, MetaPartition } from "./meta-table.js";

const toWireState: Record<NodeState, ClusterNodeState> = {
  alive: ClusterNodeState.ALIVE,
  suspect: ClusterNodeState.SUSPECT,
  dead: ClusterNodeState.DEAD,
  draining: ClusterNodeState.DRAINING,
  removed: ClusterNodeState.REMOVED,
};

export function nodeStateToWire(state: NodeState): ClusterNodeState {
  return toWireState[state];
}

export function nodeStateFromWire(state: ClusterNodeState): NodeState {
  for (const name of nodeStates) if (toWireState[name] === state) return name;
  const message = `node state ${state} is not a state`;
  throw new StateMachineError(StateMachineErrorCode.InvalidArgument, message);
}

/** A wire id (uint64) as a number; refuses 0 and ids beyond 2^53. */
export function idFromWire(what: string, value: bigint): number {
  if (value <= 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    const message = `${what} ${value}, allowed 1 … ${Number.MAX_SAFE_INTEGER}`;
    throw new StateMachineError(StateMachineErrorCode.InvalidArgument, message);
  }
  return Number(value);
}

export function nodeToWire(node: MetaNode): ClusterNode {
  return create(ClusterNodeSchema, {
    nodeId: BigInt(node.nodeId),
    address: node.address,
    zone: node.zone ?? "",
    state: nodeStateToWire(node.state),
    capacity: node.capacity ?? 0,
    stateSinceMs: BigInt(node.stateSinceMs),
  });
}

export function nodeFromWire(node: ClusterNode): MetaNode {
  const base = {
    nodeId: idFromWire("node id", node.nodeId),
    address: node.address,
    state: nodeStateFromWire(node.state),
    stateSinceMs: Number(node.stateSinceMs),
  };
  const withZone = node.zone === "" ? base : { ...base, zone: node.zone };
  return node.capacity > 0 ? { ...withZone, capacity: node.capacity } : withZone;
}

export function partitionToWire(partition: MetaPartition): ClusterPartition {
  return create(ClusterPartitionSchema, {
    partitionId: BigInt(partition.partitionId),
    stateMachineType: partition.stateMachineType,
    replicationFactor: partition.replicationFactor,
    replicas: partition.replicas.map(BigInt),
    learners: partition.learners.map(BigInt),
    leaderHint: BigInt(partition.leaderHint ?? 0),
    epoch: BigInt(partition.epoch),
    key: partition.key,
  });
}

export function partitionFromWire(partition: ClusterPartition): MetaPartition {
  const base = {
    partitionId: idFromWire("partition id", partition.partitionId),
    stateMachineType: partition.stateMachineType,
    replicationFactor: partition.replicationFactor,
    replicas: partition.replicas.map((id) => idFromWire("replica", id)),
    learners: partition.learners.map((id) => idFromWire("learner", id)),
    epoch: Number(partition.epoch),
    key: partition.key,
  };
  if (partition.leaderHint === 0n) return base;
  return { ...base, leaderHint: idFromWire("leader", partition.leaderHint) };
}
