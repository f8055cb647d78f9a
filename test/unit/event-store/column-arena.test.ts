import { getHeapStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import { createColumnArena } from "../../../examples/event-store/engine/column-arena.js";

describe("column arena (the memory of block columns)", () => {
  it("hands out zeroed pieces and reuses a released piece of the same size, zeroed again", () => {
    const arena = createColumnArena(1024);
    const first = arena.take(256);
    const second = arena.take(256);
    expect(second.buffer).toBe(first.buffer);
    expect(second.offset).toBe(first.offset + 256);
    const view = new Float64Array(first.buffer, first.offset, 32);
    expect(view.every((value) => value === 0)).toBe(true);
    view.fill(7);
    arena.release(first, 256);
    expect(arena.freeBytes()).toBe(256);
    const again = arena.take(256);
    expect(again).toBe(first);
    expect(arena.freeBytes()).toBe(0);
    expect(new Float64Array(again.buffer, again.offset, 32).every((value) => value === 0)).toBe(true);
    // A piece larger than a slab gets memory of its own.
    const large = arena.take(2048);
    expect(large.offset).toBe(0);
    expect(large.buffer.byteLength).toBe(2048);
  });

  it("does not count block memory as V8 external memory (no collections started by retained blocks)", () => {
    // 64 MiB of block columns held: with ArrayBuffer slabs V8 counted every byte as external memory,
    // and each 64 MiB of it started a full collection that could free nothing the cache held.
    const arena = createColumnArena();
    const before = getHeapStatistics().external_memory;
    const held: Float64Array[] = [];
    for (let piece = 0; piece < 2048; piece++) {
      const { buffer, offset } = arena.take(32 * 1024);
      const values = new Float64Array(buffer, offset, 4096);
      values[4095] = piece;
      held.push(values);
    }
    const grown = getHeapStatistics().external_memory - before;
    expect(held[2047]![4095]).toBe(2047);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });
});
