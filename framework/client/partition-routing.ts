import type { ExecutableMessage } from "../statemachine/index.js";
import type { ResolvedClientOptions } from "./client-options.js";
import { ClientError, ClientErrorCode } from "./errors.js";

/**
 * The partition id of a call: a number is the id itself; a string is a key,
 * routed through the partition table of the message's state machine type.
 */
export async function resolvePartition<Req, Res>(
  options: ResolvedClientOptions,
  m: ExecutableMessage<Req, Res>,
  partition: number | string,
): Promise<number> {
  const typeName = m.typeName;
  if (typeof partition === "number") {
    if (Number.isSafeInteger(partition) && partition >= 1) return partition;
    throw new ClientError(ClientErrorCode.InvalidArgument, `partition ${partition}, allowed an integer ≥ 1 or a key`, { typeName });
  }
  if (typeof partition !== "string") {
    throw new ClientError(ClientErrorCode.InvalidArgument, `partition ${String(partition)}, allowed an id or a string key`, { typeName });
  }
  if (m.stateMachine === undefined) {
    throw new ClientError(
      ClientErrorCode.InvalidArgument,
      `${typeName} has no stateMachine type: key "${partition}" cannot be routed (pass a partition id)`,
      { typeName },
    );
  }
  if (options.partitionForKey === undefined) {
    throw new ClientError(
      ClientErrorCode.InvalidArgument,
      `key "${partition}": the client has no partition table (options partitionForKey or cluster)`,
      { typeName },
    );
  }
  let id: number;
  try {
    id = await options.partitionForKey(m.stateMachine, partition);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ClientError(
      ClientErrorCode.PartitionNotFound,
      `no partition of "${m.stateMachine}" for key "${partition}": ${detail}`,
      { typeName },
      { cause: error },
    );
  }
  if (!(Number.isSafeInteger(id) && id >= 1)) {
    throw new ClientError(ClientErrorCode.Internal, `partition table answered ${id} for key "${partition}", allowed an id ≥ 1`, { typeName });
  }
  return id;
}
