import type { GroupId } from "./group-message.js";
import { assert } from "./assert.js";

/** An encoded GroupMessage waiting for its peer. */
export interface QueuedMessage {
  readonly groupId: GroupId;
  /** The encoding's size. */
  readonly byteLength: number;
  /** The encoding as parts, in order (large bytes values by reference: encodeGroupMessageParts). */
  readonly parts: readonly Uint8Array[];
}

/**
 * FIFO of encoded messages for one peer, bounded by count and by bytes:
 * tryPush refuses instead of growing, and the caller drops and reports.
 * @internal
 */
export class PeerQueue {
  private items: QueuedMessage[] = [];
  private head = 0;
  private queuedBytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {
    assert(maxMessages >= 1, () => `maxMessages = ${maxMessages}, allowed ≥ 1`);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  tryPush(item: QueuedMessage): boolean {
    if (this.length >= this.maxMessages) return false;
    if (this.queuedBytes + item.byteLength > this.maxBytes) return false;
    this.items.push(item);
    this.queuedBytes += item.byteLength;
    return true;
  }

  /**
   * Takes messages from the front while their encoded sizes, plus
   * `overheadPerMessage` each, sum to at most `maxBytes`; always at least one
   * message when not empty.
   */
  takeBatch(maxBytes: number, overheadPerMessage = 0): QueuedMessage[] {
    const batch: QueuedMessage[] = [];
    let size = 0;
    let payload = 0;
    while (this.head < this.items.length) {
      const item = this.items[this.head];
      assert(item !== undefined, "queue slot below length is filled");
      const itemSize = item.byteLength + overheadPerMessage;
      if (batch.length > 0 && size + itemSize > maxBytes) break;
      batch.push(item);
      size += itemSize;
      payload += item.byteLength;
      this.head++;
    }
    this.queuedBytes -= payload;
    this.compact();
    return batch;
  }

  /** Empties the queue, returning what it held. */
  clear(): QueuedMessage[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    this.queuedBytes = 0;
    return rest;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    assert(this.queuedBytes >= 0, () => `queued bytes = ${this.queuedBytes}, allowed ≥ 0`);
  }
}
