/**
 * Fencing of the meta controller (issue #9). A controller runs on the meta
 * group's leader and acts through other nodes' agents (start a learner,
 * wipe a replica, change a group's membership). Checking "do I still lead?"
 * before each step is not enough: a deposed leader learns of its successor
 * late, and until then its steps — planned on an older view — interleave
 * with the new controller's. So every call carries the meta term (and the
 * leader's node id) its round was planned under, and each node's agent
 * keeps the newest it has seen: a call from an older term is refused
 * (`stale_controller`). Once a new controller has reached a node (its
 * first round observes every node), the old one can no longer act there.
 *
 * Pure bookkeeping: no clock, no I/O. The agent also feeds the term of its
 * own meta replica (a meta voter knows of a new election before any call).
 */
import { ClusterError, ClusterErrorCode } from "./errors.js";

/** What a controller's call carries: the meta term its round was planned in, and who led it. */
export interface ControllerFence {
  readonly metaTerm: number;
  readonly leaderNodeId: number;
}

export interface FenceKeeper {
  /**
   * Admits a controller's call or throws `stale_controller`: refused when its
   * term is older than the newest seen (by calls or by `learnTerm`), or when
   * it names another leader for the newest term seen by a call (raft elects
   * one leader per term: two are a broken fence). Admitting raises the newest.
   */
  admit(fence: ControllerFence): void;
  /** A meta term this node learnt otherwise (its own meta replica's); never lowers. */
  learnTerm(metaTerm: number): void;
  /** The newest fence seen: term, and the leader that called with it (0 if only learnt). */
  newest(): ControllerFence;
}

export function checkFence(fence: ControllerFence): void {
  const { metaTerm, leaderNodeId } = fence;
  if (!Number.isSafeInteger(metaTerm) || metaTerm < 1) {
    const message = `meta term ${metaTerm}, allowed an integer ≥ 1`;
    throw new ClusterError(ClusterErrorCode.InvalidArgument, message);
  }
  if (!Number.isSafeInteger(leaderNodeId) || leaderNodeId < 1) {
    throw new ClusterError(
      ClusterErrorCode.InvalidArgument,
      `meta leader node id ${leaderNodeId}, allowed an integer ≥ 1`,
    );
  }
}

export function createFenceKeeper(): FenceKeeper {
  let newestTerm = 0;
  /** The leader that called with `newestTerm`; 0 while that term was only learnt. */
  let newestLeader = 0;
  const refuse = (fence: ControllerFence, why: string): ClusterError =>
    new ClusterError(
      ClusterErrorCode.StaleController,
      `controller of node ${fence.leaderNodeId} at meta term ${fence.metaTerm} refused: ${why}`,
    );
  return {
    admit(fence) {
      checkFence(fence);
      if (fence.metaTerm < newestTerm) {
        const by = newestLeader === 0 ? "" : ` (node ${newestLeader})`;
        throw refuse(fence, `this node has seen meta term ${newestTerm}${by}`);
      }
      const otherLeader = newestLeader !== 0 && newestLeader !== fence.leaderNodeId;
      if (fence.metaTerm === newestTerm && otherLeader) {
        throw refuse(fence, `node ${newestLeader} called as the leader of the same term`);
      }
      newestTerm = fence.metaTerm;
      newestLeader = fence.leaderNodeId;
    },
    learnTerm(metaTerm) {
      if (metaTerm <= newestTerm) return;
      newestTerm = metaTerm;
      newestLeader = 0;
    },
    newest: () => ({ metaTerm: newestTerm, leaderNodeId: newestLeader }),
  };
}
