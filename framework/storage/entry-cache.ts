import { assert } from "./assert.js";

/**
 * Bounds the entry data held in memory: data enters in write order, one
 * batch per save (or replayed operation), and the oldest loses it first (it
 * is then read from its segment). Data of a commit that is not durable yet
 * is never dropped, so the cache may exceed its budget by at most the
 * commits in flight.
 *
 * An entry finds its data by (batch number, slot), both kept in its row of
 * EntryLocations. Eviction only touches the cache's own arrays: nothing in
 * the groups' logs changes, and a save costs one push of one array here, not
 * an object per entry (a profile of a 1,024-group save showed per-entry
 * objects, and the garbage collector's work on them, at more than half of it).
 * @internal
 */
export interface EntryCache {
  /** The number the next non-empty `add` returns. */
  readonly nextBatchNumber: number;
  /**
   * Adds one batch of data, oldest first, written by commit `commitNumber`.
   * Returns its batch number; slot i of the batch is `data[i]`. An empty
   * batch is not added (and uses no number).
   */
  add(commitNumber: number, data: Uint8Array[]): number;
  /** The cached data at (batch, slot), or undefined once evicted. */
  get(batchNumber: number, slot: number): Uint8Array | undefined;
  /** Drops data of the oldest batches while over budget, if their commit is ≤ `durableCommit`. */
  evict(durableCommit: number): void;
  readonly cachedBytes: number;
}

interface Batch {
  readonly commitNumber: number;
  /** Slots below `next` are evicted (undefined). */
  readonly data: (Uint8Array | undefined)[];
  next: number;
}

export function createEntryCache(budgetBytes: number): EntryCache {
  assert(budgetBytes >= 0, () => `cache budget ${budgetBytes}, allowed ≥ 0`);
  // A FIFO as an array plus a head index; queue[i] is batch number base + i.
  let queue: Batch[] = [];
  let base = 1;
  let head = 0;
  let cachedBytes = 0;
  /** Evicts from the batch at the head while over budget; true if it emptied the batch. */
  const evictFrom = (batch: Batch): boolean => {
    const data = batch.data;
    while (cachedBytes > budgetBytes && batch.next < data.length) {
      cachedBytes -= data[batch.next]!.byteLength;
      data[batch.next] = undefined;
      batch.next++;
    }
    return batch.next === data.length;
  };
  return {
    get nextBatchNumber(): number {
      return base + queue.length;
    },
    add(commitNumber: number, data: Uint8Array[]): number {
      const number = base + queue.length;
      if (data.length === 0) return number;
      let bytes = 0;
      for (let i = 0; i < data.length; i++) bytes += data[i]!.byteLength;
      const previous = queue[queue.length - 1];
      assert(
        previous === undefined || previous.commitNumber <= commitNumber,
        () => `batch of commit ${commitNumber} after one of ${previous?.commitNumber}`,
      );
      queue.push({ commitNumber, data, next: 0 });
      cachedBytes += bytes;
      return number;
    },
    get(batchNumber: number, slot: number): Uint8Array | undefined {
      const index = batchNumber - base;
      if (index < head) return undefined;
      const batch = queue[index];
      assert(batch !== undefined, () => `cache batch ${batchNumber} beyond ${base + queue.length}`);
      if (slot < batch.next) return undefined;
      const data = batch.data[slot];
      assert(data !== undefined, () => `cache slot ${slot} of batch ${batchNumber} is empty`);
      return data;
    },
    evict(durableCommit: number): void {
      while (cachedBytes > budgetBytes && head < queue.length) {
        const batch = queue[head]!;
        if (batch.commitNumber > durableCommit) break;
        if (!evictFrom(batch)) break; // under budget again
        head++;
      }
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head);
        base += head;
        head = 0;
      }
    },
    get cachedBytes(): number {
      return cachedBytes;
    },
  };
}
