import { createMessage, MessageType } from "../raft/index.js";
import type { GroupMessage } from "../transport/index.js";

/** Group id 0 is no raft group: it carries the node-level pings. */
export const livenessGroupId = 0;

/**
 * Which peer nodes this node has heard from recently. Every node pings its
 * peers once per heartbeat interval on group 0, whatever its groups do, so
 * silence means the node (or the path to it) is down.
 * @internal
 */
export class NodeLiveness {
  private readonly lastHeardTick = new Map<number, number>();
  private readonly down = new Set<number>();
  private tickCount = 0;

  constructor(
    private readonly nodeId: number,
    /** Ticks of silence after which a peer counts as down. */
    private readonly silenceTicks: number,
  ) {}

  /** Notes a message from `nodeId`; true when it counted as down until now (it came back). */
  heard(nodeId: number): boolean {
    this.lastHeardTick.set(nodeId, this.tickCount);
    return this.down.delete(nodeId);
  }

  /** Advances one tick; returns the peers that have just gone silent. */
  tick(peers: Iterable<number>): number[] {
    this.tickCount++;
    const newlyDown: number[] = [];
    for (const peer of peers) {
      if (peer === this.nodeId) continue;
      const last = this.lastHeardTick.get(peer);
      if (last === undefined) {
        this.lastHeardTick.set(peer, this.tickCount); // first sight: give it a full period
        continue;
      }
      if (this.tickCount - last >= this.silenceTicks && !this.down.has(peer)) {
        this.down.add(peer);
        newlyDown.push(peer);
      }
    }
    return newlyDown;
  }

  isDown(nodeId: number): boolean {
    return this.down.has(nodeId);
  }

  pings(peers: Iterable<number>): GroupMessage[] {
    const pings: GroupMessage[] = [];
    for (const peer of peers) {
      if (peer === this.nodeId) continue;
      pings.push({
        groupId: livenessGroupId,
        message: createMessage({ type: MessageType.Heartbeat, to: peer, from: this.nodeId }),
      });
    }
    return pings;
  }
}
