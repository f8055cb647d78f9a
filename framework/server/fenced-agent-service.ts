/**
 * The fence on a node's ClusterAgentService (issue #9): every call that
 * observes or changes replicas (Observe, StartReplica, ChangeMembership,
 * StopReplica) and carries a controller's fence is admitted only if its
 * meta term is not older than the newest this node has seen — from earlier
 * calls, or from this node's own meta replica. A refused call answers
 * FAILED_PRECONDITION with `raftkit-refusal: stale_controller` and is logged.
 * Heartbeats are no controller's calls and pass as they are.
 *
 * Observe is fenced too, and raises the newest term: the new controller's
 * first round observes every node, and from then on the old one can act on
 * none of them — so a learner the old controller starts after the new one
 * looked is refused, rather than found as an "orphan" and wiped.
 */
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { ClusterAgentService } from "../../gen/raftkit/v1/cluster_agent_pb.js";
import type { FenceKeeper } from "../cluster/index.js";
import { ClusterErrorCode, isClusterError } from "../cluster/index.js";
import type { Logger } from "../transport/index.js";
import { fenceFromHeaders, staleControllerRefusal } from "./fence-headers.js";

export interface FencedAgentOptions {
  readonly keeper: FenceKeeper;
  /** The current term of this node's meta replica; 0 where it runs none. */
  readonly localMetaTerm: () => number;
  readonly logger?: Logger;
}

type AgentImpl = ServiceImpl<typeof ClusterAgentService>;

/** Throws (a refusal, or InvalidArgument for a malformed fence) unless the call may go on. */
function admitCall(options: FencedAgentOptions, context: HandlerContext, call: string): void {
  const fence = fenceFromHeaders(context.requestHeader);
  if (fence === undefined) return;
  const { keeper } = options;
  keeper.learnTerm(options.localMetaTerm());
  try {
    keeper.admit(fence);
  } catch (error) {
    if (!isClusterError(error, ClusterErrorCode.StaleController)) throw error;
    const newest = keeper.newest();
    options.logger?.warn("refused a call of a deposed meta controller", {
      call,
      metaTerm: fence.metaTerm,
      leaderNodeId: fence.leaderNodeId,
      newestMetaTerm: newest.metaTerm,
      newestLeaderNodeId: newest.leaderNodeId,
    });
    throw staleControllerRefusal(error.message, error);
  }
}

/** `impl` with its replica-changing calls fenced by controller term. */
export function fenceAgentService(impl: AgentImpl, options: FencedAgentOptions): AgentImpl {
  return {
    heartbeat: (request, context) => impl.heartbeat(request, context),
    observe: (request, context) => {
      admitCall(options, context, "observe");
      return impl.observe(request, context);
    },
    startReplica: (request, context) => {
      admitCall(options, context, "start_replica");
      return impl.startReplica(request, context);
    },
    changeMembership: (request, context) => {
      admitCall(options, context, "change_membership");
      return impl.changeMembership(request, context);
    },
    stopReplica: (request, context) => {
      admitCall(options, context, "stop_replica");
      return impl.stopReplica(request, context);
    },
  };
}
