import { describe, expect, it } from "vitest";
import { createEntryCache } from "../../../framework/storage/entry-cache.js";

function data(...sizes: number[]): Uint8Array[] {
  return sizes.map((size) => new Uint8Array(size));
}

describe("entry cache (batches of one save each)", () => {
  it("evicts oldest entries first, inside a batch, only down to the budget", () => {
    const cache = createEntryCache(250);
    const first = cache.add(1, data(100, 100));
    const second = cache.add(2, data(100, 100));
    expect(second).toBe(first + 1);
    expect(cache.cachedBytes).toBe(400);
    cache.evict(2);
    // 400 → 300 → 200: two entries of the oldest batch lose their data, no more.
    expect(cache.cachedBytes).toBe(200);
    expect([cache.get(first, 0), cache.get(first, 1)]).toEqual([undefined, undefined]);
    expect(cache.get(second, 0)?.byteLength).toBe(100);
    expect(cache.get(second, 1)?.byteLength).toBe(100);
  });

  it("stops at a batch whose commit is not durable, and stops mid-batch when under budget", () => {
    const cache = createEntryCache(150);
    const durable = cache.add(1, data(100, 100));
    const pending = cache.add(2, data(100));
    cache.evict(1);
    expect(cache.cachedBytes).toBe(100); // 300 → 200 → 100: both of commit 1 go
    expect(cache.get(durable, 1)).toBeUndefined();
    cache.add(3, data(100));
    cache.evict(1); // over budget, but commits 2 and 3 are not durable
    expect(cache.cachedBytes).toBe(200);
    expect(cache.get(pending, 0)).toBeDefined();
    cache.evict(3);
    expect(cache.cachedBytes).toBe(100);
    expect(cache.get(pending, 0)).toBeUndefined();
  });

  it("gives no number to an empty batch and keeps numbers after compacting its queue", () => {
    const cache = createEntryCache(0);
    const next = cache.nextBatchNumber;
    expect(cache.add(1, [])).toBe(next);
    expect(cache.nextBatchNumber).toBe(next);
    const numbers: number[] = [];
    for (let commit = 1; commit <= 3000; commit++) numbers.push(cache.add(commit, data(1)));
    cache.evict(2999); // the queue's head is cut off; numbers stay valid
    expect(cache.get(numbers[2998]!, 0)).toBeUndefined();
    expect(cache.get(numbers[2999]!, 0)?.byteLength).toBe(1);
    expect(cache.add(3001, data(1))).toBe(numbers[2999]! + 1);
  });

  it("refuses a batch of an older commit and a slot it never had", () => {
    const cache = createEntryCache(10);
    const batch = cache.add(5, data(1));
    expect(() => cache.add(4, data(1))).toThrow(/batch of commit 4 after one of 5/);
    expect(() => cache.get(batch, 3)).toThrow(/slot 3/);
    expect(() => cache.get(batch + 7, 0)).toThrow(/beyond/);
  });
});
