import type { NodeId } from "../raft/index.js";
import { assert } from "./assert.js";

/**
 * Stream calls open per peer (a peer has one per lane, see lane.ts). The
 * disconnect hint fires when the last one ends: a data stream restarted by
 * its sender's watchdog while the control stream lives says nothing about
 * the peer's process.
 * @internal
 */
export class OpenStreams {
  private readonly counts = new Map<NodeId, number>();

  opened(peer: NodeId): void {
    this.counts.set(peer, (this.counts.get(peer) ?? 0) + 1);
  }

  /** Returns true when it was the peer's last open stream. */
  closed(peer: NodeId): boolean {
    const left = (this.counts.get(peer) ?? 0) - 1;
    assert(left >= 0, () => `open streams of node ${peer} = ${left}, allowed ≥ 0`);
    if (left === 0) this.counts.delete(peer);
    else this.counts.set(peer, left);
    return left === 0;
  }
}
