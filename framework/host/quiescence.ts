import { MessageType, Role } from "../raft/index.js";
import type { Message } from "../raft/index.js";
import type { Replica } from "./replica.js";

/**
 * When a group may stop ticking (dragonboat's and CockroachDB's quiescence):
 * thousands of idle groups then cost nothing, instead of a heartbeat round
 * each per heartbeat interval. Liveness of quiesced groups rests on the
 * node-level pings (NodeLiveness): when a member's node goes silent, its
 * groups wake and elect as usual.
 * @internal
 */
export function isIdle(replica: Replica): boolean {
  if (replica.proposals.size > 0 || replica.reads.size > 0 || replica.failure !== undefined) return false;
  const status = replica.raft.status();
  if (status.leader === 0 || status.commit !== status.lastIndex || replica.applied < status.commit) return false;
  if (status.role !== Role.Leader) return status.role === Role.Follower;
  if (status.leadTransferee !== 0) return false;
  for (const progress of status.progress.values()) if (progress.match !== status.lastIndex) return false;
  return true;
}

/** Messages that mean the group is busy again; a heartbeat round (without a read) does not. */
export function wakesGroup(message: Message): boolean {
  if (message.type === MessageType.Heartbeat || message.type === MessageType.HeartbeatResponse) {
    return message.context.length > 0;
  }
  return true;
}
