import { assert } from "./assert.js";
import type { EntryLocation } from "./group-log.js";

/**
 * Bounds the entry data held in memory: entries enter in write order and the
 * oldest lose their data first (they are then read from their segment). Data
 * of an entry whose commit is not durable yet is never dropped, so the queue
 * may exceed its budget by at most the commits in flight.
 *
 * Entries arrive in batches (one per save or replayed operation): the queue
 * holds one slot per batch, not per entry, so a save of 1,024 groups costs one
 * push here instead of 1,024 into an ever-growing array (a profile of that
 * case showed the per-entry queue at about a quarter of save()'s CPU, most of
 * it in the garbage collector's old-to-new remembered set).
 * @internal
 */
export interface EntryCache {
  /** Adds a batch of entries, oldest first; all of them cached (`data` set). */
  add(locations: readonly EntryLocation[]): void;
  /** Drops data of the oldest entries while over budget, if their commit is ≤ `durableCommit`. */
  evict(durableCommit: number): void;
  readonly cachedBytes: number;
}

interface Batch {
  readonly locations: readonly EntryLocation[];
  /** Entries before this one have been evicted. */
  next: number;
}

export function createEntryCache(budgetBytes: number): EntryCache {
  // A FIFO as an array plus a head index; compacted when the head passes half.
  let queue: Batch[] = [];
  let head = 0;
  let cachedBytes = 0;
  /** Evicts from the batch at the head; false if it stopped at a commit not yet durable. */
  const evictFrom = (batch: Batch, durableCommit: number): boolean => {
    while (cachedBytes > budgetBytes && batch.next < batch.locations.length) {
      const oldest = batch.locations[batch.next]!;
      if (oldest.commitNumber > durableCommit) return false;
      cachedBytes -= oldest.data?.byteLength ?? 0;
      oldest.data = undefined;
      batch.next++;
    }
    return true;
  };
  return {
    add(locations: readonly EntryLocation[]): void {
      if (locations.length === 0) return;
      let bytes = 0;
      for (let i = 0; i < locations.length; i++) {
        const data = locations[i]!.data;
        assert(data !== undefined, () => `entry ${i} of a cached batch has no data`);
        bytes += data.byteLength;
      }
      queue.push({ locations, next: 0 });
      cachedBytes += bytes;
    },
    evict(durableCommit: number): void {
      while (cachedBytes > budgetBytes && head < queue.length) {
        const batch = queue[head]!;
        if (!evictFrom(batch, durableCommit)) break;
        if (batch.next < batch.locations.length) break; // under budget again
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
