import type { Container } from "inversify";
import type { PartitionInfo } from "../cluster/index.js";
import type { StateMachine } from "../statemachine/index.js";

/**
 * Makes the state machines of one type, one per partition replica on this
 * node. Bind it (multi-binding) to StateMachineProviderToken; a class with
 * `@injectable()` and `@inject(Token)` on each constructor parameter, or a
 * constant value.
 */
export interface StateMachineProvider {
  /** The type name partitions refer to (PartitionInfo.stateMachineType); unique per container. */
  readonly type: string;
  /** A fresh state machine for `partition` on this node; called once per replica start. */
  create(partition: PartitionInfo, replicaId: number): StateMachine;
}

/**
 * Builds a child container of the node's container with PartitionInfoToken
 * and ReplicaIdToken bound to `partition` and `replicaId`, so executors
 * bound in the root (or in the child) can `@inject(PartitionInfoToken)`.
 */
export type PartitionScopeFactory = (partition: PartitionInfo, replicaId: number) => Container;
