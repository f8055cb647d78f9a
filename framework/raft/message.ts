import type { Message, MessageType, NodeId } from "./types.js";

const emptyBytes = new Uint8Array(0);

export type MessageFields = Partial<Message> & { readonly type: MessageType; readonly to: NodeId };

/** A Message with every field not given set to its zero value. */
export function createMessage(fields: MessageFields): Message {
  return {
    from: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: emptyBytes,
    ...fields,
  };
}

/** Context of a RequestVote sent on leadership transfer: voters skip their lease check. */
export const campaignTransferContext = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]);

export function isCampaignTransfer(context: Uint8Array): boolean {
  if (context.length !== campaignTransferContext.length) return false;
  for (let i = 0; i < context.length; i++) if (context[i] !== campaignTransferContext[i]) return false;
  return true;
}
