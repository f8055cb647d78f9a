/**
 * The contract every part codes against to learn where partitions live
 * (issue #5): the client routes string keys through `partitionForKey`, the
 * event store creates one partition per stream through `createPartition`,
 * the management API lists `nodes()` and `partitions()`.
 *
 * Two implementations: `createStaticClusterManager` (a partition table from
 * config, the same on every process that reads the same config) and the meta
 * group (issue #9), which keeps the same table in a raft group.
 */

/** One partition = one raft group (its id is the group id). */
export interface PartitionInfo {
  /** The raft group id; a positive safe integer, never reused for another partition. */
  readonly partitionId: number;
  /** Name of the state machine type (a registered StateMachineProvider's `type`). */
  readonly stateMachineType: string;
  /** How many voting replicas the partition should have (≥ 1). */
  readonly replicationFactor: number;
  /** Node ids holding a voting replica, ascending; their replica id is the node id. */
  readonly replicas: readonly number[];
  /** The node believed to lead the group; a hint, never a promise. */
  readonly leaderHint?: number;
  /**
   * Bumped on every change of this partition's entry (replicas, leader hint):
   * a cached copy with a smaller epoch is stale.
   */
  readonly epoch: number;
}

/** How a node is seen by the cluster manager. */
export type NodeState = "alive" | "suspect" | "dead" | "draining" | "removed";

export const nodeStates: readonly NodeState[] = ["alive", "suspect", "dead", "draining", "removed"];

export interface NodeInfo {
  readonly nodeId: number;
  /** "host:port" of the node's single port (transport, gateway, management). */
  readonly address: string;
  /** Failure-domain label; placement never puts two replicas of one partition in one zone. */
  readonly zone?: string;
  readonly state: NodeState;
  /** Relative weight for placement (default 1); a node with 2 takes about twice the replicas. */
  readonly capacity?: number;
}

export interface CreatePartitionRequest {
  readonly stateMachineType: string;
  /**
   * A key the new partition serves from now on (e.g. an event stream's name):
   * `partitionForKey(stateMachineType, key)` returns it afterwards. Creating
   * again with the same key returns the same partition (idempotent).
   */
  readonly key?: string;
  /** Default: the manager's default (the static table: whatever the free partition has). */
  readonly replicationFactor?: number;
}

/** What changed; listeners receive the new value, never a diff to apply. */
export type ClusterEvent =
  | { readonly kind: "partition"; readonly partition: PartitionInfo }
  | { readonly kind: "partition_removed"; readonly partitionId: number }
  | { readonly kind: "node"; readonly node: NodeInfo };

export type ClusterListener = (event: ClusterEvent) => void;

/**
 * Where partitions live and which nodes exist. Every method may reject with
 * a ClusterError (closed codes): UnknownPartition, UnknownStateMachineType,
 * NoCapacity, InvalidArgument, Unavailable.
 */
export interface ClusterManager {
  /** Every partition known, by ascending id. */
  partitions(): Promise<readonly PartitionInfo[]>;
  /** One partition; rejects with UnknownPartition naming the id. */
  partition(partitionId: number): Promise<PartitionInfo>;
  /**
   * The partition serving `key` for that state machine type. Stable: the
   * same answer for the same key on every process and after restarts, as
   * long as the table's configured partitions are unchanged (see docs/cluster.md).
   */
  partitionForKey(stateMachineType: string, key: string): Promise<PartitionInfo>;
  /** Creates (or, for a key already bound, returns) a partition. */
  createPartition(request: CreatePartitionRequest): Promise<PartitionInfo>;
  /** Every node known, by ascending id. */
  nodes(): Promise<readonly NodeInfo[]>;
  /**
   * Calls `listener` after every change, in order, synchronously after the
   * change is visible to the read methods. Returns the unsubscribe function.
   */
  watch(listener: ClusterListener): () => void;
}
