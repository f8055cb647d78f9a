import { Container } from "inversify";
import type { PartitionInfo } from "../cluster/index.js";
import { assert } from "../raft/index.js";
import type { PartitionScopeFactory } from "./state-machine-provider.js";
import { PartitionInfoToken, ReplicaIdToken } from "./tokens.js";

/**
 * A child of `parent` in which PartitionInfoToken and ReplicaIdToken are
 * bound. Classes bound in the parent resolve their dependencies from the
 * scope they are asked from, so an executor bound once in the root and
 * asked from two scopes gets each scope's partition (bindings are transient
 * unless bound in singleton scope — keep per-partition classes transient).
 */
export function createPartitionScope(
  parent: Container,
  partition: PartitionInfo,
  replicaId: number,
): Container {
  assert(Number.isSafeInteger(replicaId), `replicaId = ${replicaId}, allowed a safe integer`);
  assert(replicaId > 0, `replicaId = ${replicaId}, allowed ≥ 1`);
  const scope = new Container({ parent });
  scope.bind(PartitionInfoToken).toConstantValue(partition);
  scope.bind(ReplicaIdToken).toConstantValue(replicaId);
  return scope;
}

export function createPartitionScopeFactory(parent: Container): PartitionScopeFactory {
  return (partition, replicaId) => createPartitionScope(parent, partition, replicaId);
}
