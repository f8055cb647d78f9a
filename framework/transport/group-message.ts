import type { Message } from "../raft/index.js";

/** Identifies a raft group (a partition) across the cluster. */
export type GroupId = number;

/**
 * One raft message addressed to one group. Replica ids equal node ids in
 * every group, so `message.to` is the destination node and `message.from`
 * the sending node.
 */
export interface GroupMessage {
  readonly groupId: GroupId;
  readonly message: Message;
}
