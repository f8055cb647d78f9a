/**
 * How a controller's fence (framework/cluster/controller-fence.ts) travels
 * with its calls to a node's ClusterAgentService: two request headers, so
 * the agent protocol's messages stay as they are. A call without them is no
 * controller's (CreatePartition's replica starts, DeletePartition's stops)
 * and is not fenced. A refusal carries a response header naming its reason,
 * so the caller can tell it from other FAILED_PRECONDITION answers.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ControllerFence } from "../cluster/index.js";
import { ClusterErrorCode, checkFence, isClusterError } from "../cluster/index.js";

export const metaTermHeader = "raftkit-meta-term";
export const metaLeaderHeader = "raftkit-meta-leader";
/** Response metadata of a refused call: its ClusterErrorCode. */
export const refusalHeader = "raftkit-refusal";

/** The request headers carrying `fence`. */
export function fenceHeaders(fence: ControllerFence): Record<string, string> {
  checkFence(fence);
  return {
    [metaTermHeader]: String(fence.metaTerm),
    [metaLeaderHeader]: String(fence.leaderNodeId),
  };
}

function headerNumber(headers: Headers, name: string): number {
  const text = headers.get(name);
  const value = text !== null && /^[0-9]{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1)) {
    const message = `header ${name}: "${text ?? ""}", allowed an integer ≥ 1`;
    throw new ConnectError(message, Code.InvalidArgument);
  }
  return value;
}

/** The fence a call carries; undefined when it carries none (not a controller's call). */
export function fenceFromHeaders(headers: Headers): ControllerFence | undefined {
  if (!headers.has(metaTermHeader) && !headers.has(metaLeaderHeader)) return undefined;
  return {
    metaTerm: headerNumber(headers, metaTermHeader),
    leaderNodeId: headerNumber(headers, metaLeaderHeader),
  };
}

/** A ClusterError `stale_controller` as the agent answers it. */
export function staleControllerRefusal(message: string, cause: unknown): ConnectError {
  const metadata = { [refusalHeader]: ClusterErrorCode.StaleController };
  return new ConnectError(message, Code.FailedPrecondition, metadata, undefined, cause);
}

/** Whether a call failed because the agent refused a deposed controller. */
export function isStaleControllerRefusal(error: unknown): boolean {
  if (isClusterError(error, ClusterErrorCode.StaleController)) return true;
  if (!(error instanceof ConnectError)) return false;
  return error.code === Code.FailedPrecondition &&
    error.metadata.get(refusalHeader) === ClusterErrorCode.StaleController;
}
