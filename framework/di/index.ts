export {
  ClockToken,
  ClusterManagerToken,
  LoggerToken,
  LogStoreToken,
  PartitionInfoToken,
  PartitionScopeFactoryToken,
  RandomToken,
  ReplicaIdToken,
  SnapshotStoreToken,
  StateMachineProviderToken,
  TransportToken,
  tokenName,
} from "./tokens.js";
export type { PartitionScopeFactory, StateMachineProvider } from "./state-machine-provider.js";
export { DiError, DiErrorCode, isDiError } from "./errors.js";
export { createPartitionScope, createPartitionScopeFactory } from "./partition-scope.js";
export { resolveProviders } from "./resolve.js";
export type { ContainerNode } from "./start-node-from-container.js";
export { startNodeFromContainer } from "./start-node-from-container.js";
export type { ContainerHost, HostFromContainerOptions } from "./host-from-container.js";
export { createHostFromContainer } from "./host-from-container.js";
