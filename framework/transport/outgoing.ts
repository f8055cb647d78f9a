import type { Message, NodeId } from "../raft/index.js";
import { MessageType } from "../raft/index.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import type { GroupMessage } from "./group-message.js";
import type { Lane } from "./lane.js";
import { laneOf } from "./lane.js";
import { encodeGroupMessageParts } from "./message-codec.js";
import type { QueuedMessage } from "./peer-queue.js";

export interface OutgoingMessage extends QueuedMessage {
  readonly to: NodeId;
  readonly lane: Lane;
}

/**
 * Checks and encodes a send() call's messages before any is queued, so a bad
 * message rejects the call as a whole: each must come from `nodeId` (replica
 * id = node id in every group) and go to another node.
 * @internal
 */
export function encodeOutgoing(
  nodeId: NodeId,
  messages: readonly GroupMessage[],
  referenceFrom: number,
): OutgoingMessage[] {
  const outgoing: OutgoingMessage[] = [];
  for (const groupMessage of messages) {
    const { message, groupId } = groupMessage;
    if (message.from !== nodeId) {
      throw new TransportError(
        TransportErrorCode.InvalidMessage,
        `group ${groupId}: message from ${message.from}, allowed only from this node ${nodeId}`,
      );
    }
    if (message.to === nodeId || message.to === 0) {
      throw new TransportError(
        TransportErrorCode.InvalidMessage,
        `group ${groupId}: message to ${message.to}, ` +
          `allowed any node but 0 and this node ${nodeId}`,
      );
    }
    const { parts, byteLength } = encodeGroupMessageParts(groupMessage, referenceFrom);
    outgoing.push({ to: message.to, groupId, parts, byteLength, lane: laneOf(message.type) });
  }
  return outgoing;
}

/**
 * Checks the message that opens a snapshot transfer: a Snapshot message from
 * this node to `to`, carrying the metadata, its data left to the chunks.
 * @internal
 */
export function checkSnapshotMessage(nodeId: NodeId, to: NodeId, message: Message): void {
  const problem =
    message.type !== MessageType.Snapshot
      ? `type ${message.type}, allowed ${MessageType.Snapshot} (Snapshot)`
      : message.from !== nodeId
        ? `from ${message.from}, allowed only this node ${nodeId}`
        : message.to !== to || to === nodeId
          ? `to ${message.to}, allowed the destination ${to} (not this node)`
          : message.snapshot === undefined
            ? "no snapshot metadata"
            : message.snapshot.data.byteLength !== 0
              ? `snapshot.data of ${message.snapshot.data.byteLength} bytes, allowed 0 (use chunks)`
              : undefined;
  if (problem !== undefined) {
    throw new TransportError(TransportErrorCode.InvalidMessage, `snapshot message: ${problem}`);
  }
}
