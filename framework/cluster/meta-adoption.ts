/**
 * Adopting a partition that already runs into the meta table (issues #9,
 * #10): a static `--groups` group of the event store is a raft group with a
 * fixed id the table did not hand out. Once adopted, the controller repairs,
 * evens and drains it like a created partition, and the table's counter
 * moves above its id so CreatePartition never hands the same id out again.
 */
import { StateMachineError, StateMachineErrorCode } from "../statemachine/index.js";
import type { MetaNode, MetaPartition } from "./meta-table.js";
import { metaGroupId } from "./meta-group.js";

export interface AdoptPartition {
  readonly partitionId: number;
  readonly stateMachineType: string;
  readonly replicationFactor: number;
  /** The group's current voters. */
  readonly replicas: readonly number[];
}

export interface Adoption {
  readonly partition: MetaPartition;
  /** False when the table already held the partition with the same facts. */
  readonly adopted: boolean;
}

const fail = (code: StateMachineErrorCode, message: string): StateMachineError =>
  new StateMachineError(code, message);

function checkRequest(request: AdoptPartition): void {
  const { partitionId, replicationFactor } = request;
  if (!(Number.isSafeInteger(partitionId) && partitionId > 0)) {
    const message = `partition id ${partitionId}, allowed a positive integer`;
    throw fail(StateMachineErrorCode.InvalidArgument, message);
  }
  if (partitionId === metaGroupId) {
    const message = `partition id ${partitionId} is the meta group's own`;
    throw fail(StateMachineErrorCode.InvalidArgument, message);
  }
  if (request.stateMachineType === "") {
    const message = "state_machine_type: allowed a non-empty name";
    throw fail(StateMachineErrorCode.InvalidArgument, message);
  }
  if (!(Number.isSafeInteger(replicationFactor) && replicationFactor > 0)) {
    const message = `replication_factor ${replicationFactor}, allowed a positive integer`;
    throw fail(StateMachineErrorCode.InvalidArgument, message);
  }
}

/** Voters, ascending; each distinct and registered (a voter not registered yet: retry later). */
function checkVoters(
  request: AdoptPartition,
  nodes: ReadonlyMap<number, MetaNode>,
): number[] {
  const voters = [...request.replicas].sort((a, b) => a - b);
  const what = `partition ${request.partitionId}: replicas [${voters.join(", ")}]`;
  if (voters.length === 0) {
    throw fail(StateMachineErrorCode.InvalidArgument, `${what}, allowed ≥ 1 node`);
  }
  if (new Set(voters).size !== voters.length || voters.some((id) => !(id > 0))) {
    throw fail(StateMachineErrorCode.InvalidArgument, `${what}, allowed distinct ids ≥ 1`);
  }
  const unknown = voters.filter((id) => !nodes.has(id));
  if (unknown.length > 0) {
    const message = `${what}: node ${unknown.join(", ")} not registered yet`;
    throw fail(StateMachineErrorCode.FailedPrecondition, message);
  }
  return voters;
}

/** What makes an entry a different partition than the one asked to adopt; undefined: same. */
function conflictOf(existing: MetaPartition, request: AdoptPartition): string | undefined {
  if (existing.stateMachineType !== request.stateMachineType) {
    return `type "${existing.stateMachineType}", not "${request.stateMachineType}"`;
  }
  if (existing.replicationFactor !== request.replicationFactor) {
    return `replication factor ${existing.replicationFactor}, not ${request.replicationFactor}`;
  }
  if (existing.key !== "") return `created for key "${existing.key}"`;
  return undefined;
}

/**
 * The table entry for an adopted partition. The same id with the same type
 * and factor returns the entry unchanged — its voters are the controller's
 * record of where the group is now, newer than any boot configuration.
 */
export function adoptPartition(
  existing: MetaPartition | undefined,
  request: AdoptPartition,
  nodes: ReadonlyMap<number, MetaNode>,
): Adoption {
  checkRequest(request);
  if (existing !== undefined) {
    const conflict = conflictOf(existing, request);
    if (conflict === undefined) return { partition: existing, adopted: false };
    const message = `partition ${request.partitionId} is in the table with ${conflict}`;
    throw fail(StateMachineErrorCode.AlreadyExists, message);
  }
  const partition: MetaPartition = {
    partitionId: request.partitionId,
    stateMachineType: request.stateMachineType,
    replicationFactor: request.replicationFactor,
    replicas: checkVoters(request, nodes),
    learners: [],
    epoch: 1,
    key: "",
  };
  return { partition, adopted: true };
}
