import { TransportError, TransportErrorCode } from "./errors.js";

/** Both ends of every call must belong to the same cluster (a misrouted address otherwise). */
export function checkClusterId(local: number, remote: bigint): void {
  if (remote !== BigInt(local)) {
    throw new TransportError(
      TransportErrorCode.ClusterMismatch,
      `peer is in cluster ${remote}, this node in cluster ${local}`,
    );
  }
}
