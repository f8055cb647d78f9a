import type { ClusterManager } from "../../../framework/cluster/index.js";
import { eventStoreStateMachineType } from "../service/descriptors.js";

/**
 * Stream → partition through the ClusterManager contract (a static table
 * for now): every node and client computes the same answer. Cached: the
 * static table's mapping of a key never changes while the table does not.
 */
export function createStreamPartitions(clusterManager: ClusterManager): (stream: string) => Promise<number> {
  const cache = new Map<string, number>();
  return async (stream) => {
    const cached = cache.get(stream);
    if (cached !== undefined) return cached;
    const partition = await clusterManager.partitionForKey(eventStoreStateMachineType, stream);
    if (cache.size > 100_000) cache.clear();
    cache.set(stream, partition.partitionId);
    return partition.partitionId;
  };
}
