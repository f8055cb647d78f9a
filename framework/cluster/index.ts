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
export type { ControllerFence, FenceKeeper } from "./controller-fence.js";
export { checkFence, createFenceKeeper } from "./controller-fence.js";
export { bucketForKey, fnv1a64, jumpConsistentHash } from "./stable-hash.js";
export type {
  StaticClusterTable,
  StaticKeyEntry,
  StaticNodeEntry,
  StaticPartitionEntry,
  UniformTableOptions,
} from "./static-table.js";
export { checkStaticClusterTable, createUniformStaticTable } from "./static-table.js";
export type { NodeLoad, PlacedPartition, PlacementRequest } from "./placement.js";
export { capacityOf, compareByLoad, computeLoads, placeReplicas, zoneOf } from "./placement.js";
export type { FailureDetector, FailureDetectorConfig, NodeTransition } from "./failure-detector.js";
export { createFailureDetector } from "./failure-detector.js";
export type {
  GroupObservation,
  RebalanceAction,
  RebalanceInput,
  RebalanceLimits,
} from "./rebalance-types.js";
export { defaultRebalanceLimits } from "./rebalance-types.js";
export { isUnusable, keepsQuorum, liveVoters, majority } from "./membership-safety.js";
export { planRebalance } from "./rebalance-planner.js";
export { createStaticClusterManager } from "./static-cluster-manager.js";
export type {
  CreatePartition as MetaCreatePartition,
  MetaNode,
  MetaPartition,
  MetaTable,
  MetaTableData,
  RegisterNode as MetaRegisterNode,
  UpdatePartition as MetaUpdatePartition,
} from "./meta-table.js";
export { createMetaTable } from "./meta-table.js";
export type { AdoptPartition as MetaAdoptPartition, Adoption } from "./meta-adoption.js";
export {
  AdoptPartition,
  CreatePartition,
  DeletePartition,
  ListNodes,
  ListPartitions,
  PartitionForKey,
  RegisterNode,
  SetNodeState,
  UpdatePartition,
  metaStateMachineType,
} from "./meta-messages.js";
export type { MetaStateMachine, MetaStateMachineOptions } from "./meta-state-machine.js";
export { createMetaStateMachine } from "./meta-state-machine.js";
export {
  idFromWire,
  nodeFromWire,
  nodeStateFromWire,
  nodeStateToWire,
  nodeToWire,
  partitionFromWire,
  partitionToWire,
} from "./meta-convert.js";
export type { MetaChannel, MetaClusterManagerOptions } from "./meta-cluster-manager.js";
export { createMetaClusterManager } from "./meta-cluster-manager.js";
export type {
  Controller,
  ControllerEnvironment,
  ControllerOptions,
  RecordedMembership,
  RoundReport,
} from "./controller.js";
export {
  createController,
  defaultLeaderSettleMs,
  defaultLearnerStallMs,
  defaultRejoinAfterMs,
  defaultTransferTimeoutMs,
} from "./controller.js";
export type { LeaderSettle, LeaderSettleConfig } from "./leader-settle.js";
export { createLeaderSettle } from "./leader-settle.js";
export type { RejoinGuard } from "./rejoin-guard.js";
export { createRejoinGuard } from "./rejoin-guard.js";
export type { LearnerWatch } from "./learner-watch.js";
export { createLearnerWatch } from "./learner-watch.js";
export { confChangeOf } from "./membership-change.js";
export type { ClusterServiceOptions } from "./cluster-service.js";
export { createClusterServiceImpl } from "./cluster-service.js";
export { metaGroupId, metaVoterCounts, metaVotersOf } from "./meta-group.js";
