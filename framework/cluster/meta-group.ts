/**
 * The meta group's place in a cluster of node processes (issue #9): one
 * raft group id reserved for the framework, and which nodes vote in it.
 */
import { ClusterError, ClusterErrorCode } from "./errors.js";

/**
 * The meta group's raft group id. Partition ids come from the meta table's
 * counter (1, 2, …) or a static table; a node refuses to start a user group
 * with this id.
 */
export const metaGroupId = 2_147_483_000;

/** Meta voters a cluster may ask for (an odd count: 3 tolerates one failure, 5 two). */
export const metaVoterCounts = [1, 3, 5] as const;

/**
 * The meta group's voters: the `count` lowest node ids of the boot cluster
 * (this node and its configured peers). Every boot member computes the same
 * list; nodes joining later are never meta voters.
 */
export function metaVotersOf(nodeIds: readonly number[], count: number): number[] {
  if (!(metaVoterCounts as readonly number[]).includes(count)) {
    const message = `meta voters ${count}, allowed ${metaVoterCounts.join(", ")}`;
    throw new ClusterError(ClusterErrorCode.InvalidConfig, message);
  }
  const sorted = [...new Set(nodeIds)].sort((a, b) => a - b);
  return sorted.slice(0, Math.min(count, sorted.length));
}
