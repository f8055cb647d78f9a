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
});
