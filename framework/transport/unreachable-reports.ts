import type { NodeId } from "../raft/index.js";
import type { GroupId } from "./group-message.js";

/**
 * Collects "message of group G to node N dropped" reports and hands each
 * distinct pair to the handler once per flush, outside the caller's stack
 * (never from inside send()).
 * @internal
 */
export class UnreachableReports {
  private pending = new Map<NodeId, Set<GroupId>>();
  private flushScheduled = false;

  constructor(private readonly report: (groupId: GroupId, nodeId: NodeId) => void) {}

  get size(): number {
    let count = 0;
    for (const groups of this.pending.values()) count += groups.size;
    return count;
  }

  add(groupId: GroupId, nodeId: NodeId): void {
    let groups = this.pending.get(nodeId);
    if (groups === undefined) {
      groups = new Set();
      this.pending.set(nodeId, groups);
    }
    groups.add(groupId);
  }

  /** Adds a report and flushes in a microtask, once per burst of reports. */
  addDeferred(groupId: GroupId, nodeId: NodeId): void {
    this.add(groupId, nodeId);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Reports every pending pair (in insertion order) and forgets them. */
  flush(): void {
    const pending = this.pending;
    this.pending = new Map();
    for (const [nodeId, groups] of pending) {
      for (const groupId of groups) this.report(groupId, nodeId);
    }
  }
}
