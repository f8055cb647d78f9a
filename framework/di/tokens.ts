/**
 * The service identifiers of raftkit's container. Symbols from the global
 * registry (`Symbol.for`), so two copies of this module (e.g. generated glue
 * resolving the framework through another path) still name the same token.
 *
 * Every constructor parameter of a bound class names its token with
 * `@inject(Token)`: esbuild-based runners (tsx, vitest) emit no decorator
 * metadata, so type-only injection would find nothing.
 */
import "reflect-metadata";

/** Multi-bound: every StateMachineProvider (one per state machine type). */
export const StateMachineProviderToken: unique symbol = Symbol.for(
  "raftkit.di.StateMachineProvider",
);
/** Bound only in a partition scope (createPartitionScope): the partition being created. */
export const PartitionInfoToken: unique symbol = Symbol.for("raftkit.di.PartitionInfo");
/** Bound only in a partition scope: this node's replica id in the partition (= node id). */
export const ReplicaIdToken: unique symbol = Symbol.for("raftkit.di.ReplicaId");
/** A PartitionScopeFactory (bound at start if absent): providers build partition scopes with it. */
export const PartitionScopeFactoryToken: unique symbol = Symbol.for(
  "raftkit.di.PartitionScopeFactory",
);
/** The ClusterManager (static table or meta group). */
export const ClusterManagerToken: unique symbol = Symbol.for("raftkit.di.ClusterManager");
/** A transport Logger. */
export const LoggerToken: unique symbol = Symbol.for("raftkit.di.Logger");
/** A transport Clock (monotonic ms and timers). */
export const ClockToken: unique symbol = Symbol.for("raftkit.di.Clock");
/** A raft RandomSource (seeded in tests and the simulator). */
export const RandomToken: unique symbol = Symbol.for("raftkit.di.Random");
/** The host's log store (HostLogStore). */
export const LogStoreToken: unique symbol = Symbol.for("raftkit.di.LogStore");
/** The host's snapshot store (HostSnapshotStore). */
export const SnapshotStoreToken: unique symbol = Symbol.for("raftkit.di.SnapshotStore");
/** The Transport between nodes. */
export const TransportToken: unique symbol = Symbol.for("raftkit.di.Transport");

/** Human names for error messages. */
const tokenNames = new Map<symbol, string>([
  [StateMachineProviderToken, "StateMachineProviderToken"],
  [PartitionInfoToken, "PartitionInfoToken"],
  [ReplicaIdToken, "ReplicaIdToken"],
  [PartitionScopeFactoryToken, "PartitionScopeFactoryToken"],
  [ClusterManagerToken, "ClusterManagerToken"],
  [LoggerToken, "LoggerToken"],
  [ClockToken, "ClockToken"],
  [RandomToken, "RandomToken"],
  [LogStoreToken, "LogStoreToken"],
  [SnapshotStoreToken, "SnapshotStoreToken"],
  [TransportToken, "TransportToken"],
]);

export function tokenName(token: symbol): string {
  return tokenNames.get(token) ?? String(token);
}
