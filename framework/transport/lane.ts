import { MessageType } from "../raft/index.js";

/**
 * Which of a peer's two streams carries a message (etcd's rafthttp splits
 * the same way: msgappv2 for appends, "message" for the rest).
 * - data: Append (bulk log entries; snapshots have their own calls).
 * - control: everything else — heartbeats and their responses, (pre)votes,
 *   TimeoutNow, append and read-index acknowledgements, node liveness pings.
 *   They are small, and a follower that misses heartbeats for an election
 *   timeout campaigns: they must never wait behind megabytes of entries
 *   (issue #8, Overload).
 * @internal
 */
export type Lane = "control" | "data";

export const lanes: readonly Lane[] = ["control", "data"];

export function laneOf(type: MessageType): Lane {
  return type === MessageType.Append || type === MessageType.Snapshot ? "data" : "control";
}

/** The request header naming the lane of a Stream call (absent: an older peer's single stream). */
export const laneHeader = "x-raftkit-lane";
