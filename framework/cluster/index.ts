export type {
  ClusterEvent,
  ClusterListener,
  ClusterManager,
  CreatePartitionRequest,
  NodeInfo,
  NodeState,
  PartitionInfo,
} from "./cluster-manager.js";
export { nodeStates } from "./cluster-manager.js";
export { ClusterError, ClusterErrorCode, isClusterError, isClusterErrorCode } from "./errors.js";
export { bucketForKey, fnv1a64, jumpConsistentHash } from "./stable-hash.js";
export type {
  StaticClusterTable,
  StaticKeyEntry,
  StaticNodeEntry,
  StaticPartitionEntry,
  UniformTableOptions,
} from "./static-table.js";
export { checkStaticClusterTable, createUniformStaticTable } from "./static-table.js";
export { createStaticClusterManager } from "./static-cluster-manager.js";
