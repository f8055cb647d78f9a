import { describe, expect, it } from "vitest";
import { EntryType } from "../../../framework/raft/index.js";
import { createEntryCache } from "../../../framework/storage/entry-cache.js";
import type { EntryLocation } from "../../../framework/storage/group-log.js";

function location(bytes: number, commitNumber: number): EntryLocation {
  return {
    term: 1,
    type: EntryType.Normal,
    segment: 1,
    position: 0,
    length: bytes,
    commitNumber,
    data: new Uint8Array(bytes),
  };
}

describe("entry cache (batches of one save each)", () => {
  it("evicts oldest entries first, inside a batch, only down to the budget", () => {
    const cache = createEntryCache(250);
    const first = [location(100, 1), location(100, 1)];
    const second = [location(100, 2), location(100, 2)];
    cache.add(first);
    cache.add(second);
    expect(cache.cachedBytes).toBe(400);
    cache.evict(2);
    // 400 → 300 → 200: two entries of the oldest batch lose their data, no more.
    expect(cache.cachedBytes).toBe(200);
    expect(first.map((l) => l.data)).toEqual([undefined, undefined]);
    expect(second.every((l) => l.data !== undefined)).toBe(true);
  });

  it("stops at a batch whose commit is not durable, and stops mid-batch when under budget", () => {
    const cache = createEntryCache(150);
    const durable = [location(100, 1), location(100, 1)];
    const pending = [location(100, 2)];
    cache.add(durable);
    cache.add(pending);
    cache.evict(1);
    expect(cache.cachedBytes).toBe(100); // 300 → 200 → 100: both of commit 1 go
    expect(durable.map((l) => l.data)).toEqual([undefined, undefined]);
    cache.add([location(100, 3)]);
    cache.evict(1); // over budget, but commits 2 and 3 are not durable
    expect(cache.cachedBytes).toBe(200);
    expect(pending[0]!.data).toBeDefined();
    cache.evict(3);
    expect(cache.cachedBytes).toBe(100);
    expect(pending[0]!.data).toBeUndefined();
  });

  it("ignores empty batches and refuses an entry without data", () => {
    const cache = createEntryCache(0);
    cache.add([]);
    expect(cache.cachedBytes).toBe(0);
    const bad = { ...location(10, 1), data: undefined };
    expect(() => cache.add([bad])).toThrow(/entry 0 of a cached batch has no data/);
  });
});
