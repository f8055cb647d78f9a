import { MessageType } from "../raft/index.js";
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
  if (replica.pendingProposals() > 0 || replica.reads.size > 0 || replica.failure !== undefined) return false;
  return replica.raft.settled(replica.applied);
}

/** Messages that mean the group is busy again; a heartbeat round (without a read) does not. */
export function wakesGroup(message: Message): boolean {
  if (message.type === MessageType.Heartbeat || message.type === MessageType.HeartbeatResponse) {
    return message.context.length > 0;
  }
  return true;
}
