import type { EntryLocation } from "./group-log.js";

/**
 * Bounds the entry data held in memory: entries enter in write order and the
 * oldest lose their data first (they are then read from their segment). Data
 * of an entry whose commit is not durable yet is never dropped, so the queue
 * may exceed its budget by at most the commits in flight.
 * @internal
 */
export interface EntryCache {
  add(location: EntryLocation): void;
  /** Drops data of the oldest entries while over budget, if their commit is ≤ `durableCommit`. */
  evict(durableCommit: number): void;
  readonly cachedBytes: number;
}

export function createEntryCache(budgetBytes: number): EntryCache {
  // A FIFO as an array plus a head index; compacted when the head passes half.
  let queue: EntryLocation[] = [];
  let head = 0;
  let cachedBytes = 0;
  return {
    add(location: EntryLocation): void {
      if (location.data === undefined) return;
      queue.push(location);
      cachedBytes += location.data.byteLength;
    },
    evict(durableCommit: number): void {
      while (cachedBytes > budgetBytes && head < queue.length) {
        const oldest = queue[head]!;
        if (oldest.commitNumber > durableCommit) break;
        cachedBytes -= oldest.data?.byteLength ?? 0;
        oldest.data = undefined;
        head++;
      }
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head);
        head = 0;
      }
    },
    get cachedBytes(): number {
      return cachedBytes;
    },
  };
}
