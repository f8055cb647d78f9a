import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ColumnArena } from "../service/insert-arena.js";
import type { ReservedRows } from "../service/insert-arena.js";

/** Fills a reservation's timestamps and kept columns with values only it has. */
function fill(rows: ReservedRows, tag: number, columns: readonly string[]): void {
  for (let row = 0; row < rows.timestamps.length; row++) rows.timestamps[row] = tag * 1e6 + row;
  for (const name of columns) {
    const lane = rows.column(name)!;
    for (let row = 0; row < lane.length; row++) lane[row] = -(tag * 1e6 + row) - 0.5;
  }
}

function holds(rows: ReservedRows, tag: number, columns: readonly string[]): boolean {
  for (let row = 0; row < rows.timestamps.length; row++) if (rows.timestamps[row] !== tag * 1e6 + row) return false;
  for (const name of columns) {
    const lane = rows.column(name)!;
    for (let row = 0; row < lane.length; row++) if (lane[row] !== -(tag * 1e6 + row) - 0.5) return false;
  }
  return true;
}

describe("column arena (the leader's reused memory for decoded inserts)", () => {
  it("reserves consecutive inserts back to back in every lane, and the same rows again once all are released", () => {
    const arena = new ColumnArena(["a", "b"], { initialRows: 100 });
    const first = arena.reserve(10);
    const second = arena.reserve(20);
    expect(first.timestamps.buffer).toBe(second.timestamps.buffer);
    expect(second.timestamps.byteOffset).toBe(first.timestamps.byteOffset + first.timestamps.byteLength);
    expect(second.column("a")!.byteOffset).toBe(first.column("a")!.byteOffset + 80);
    expect(second.column("b")!.buffer).toBe(first.column("b")!.buffer);
    expect(first.column("a")!.buffer).not.toBe(first.column("b")!.buffer);
    // A column the arena does not keep (bool, string, unknown): the decode uses fresh memory.
    expect(first.column("c")).toBeUndefined();
    expect(arena.reservedRows()).toBe(30);
    first.lease.release();
    second.lease.release();
    second.lease.release();
    expect(arena.reservedRows()).toBe(0);
    const again = arena.reserve(5);
    expect(again.timestamps.buffer).toBe(first.timestamps.buffer);
    expect(again.timestamps.byteOffset).toBe(0);
  });

  it("never hands out rows of an insert not yet released, whatever the order of releases, and grows when full", () => {
    const columns = ["x", "y"];
    const step = fc.oneof(
      fc.record({ reserve: fc.integer({ min: 1, max: 70 }) }),
      fc.record({ release: fc.nat() }),
    );
    fc.assert(fc.property(fc.array(step, { maxLength: 80 }), fc.integer({ min: 1, max: 64 }), (steps, initialRows) => {
      const arena = new ColumnArena(columns, { initialRows, maxIdleRows: 128 });
      const live: { rows: ReservedRows; tag: number }[] = [];
      let tag = 0;
      for (const action of steps) {
        if ("reserve" in action) {
          const rows = arena.reserve(action.reserve);
          expect(rows.timestamps.length).toBe(action.reserve);
          tag += 1;
          fill(rows, tag, columns);
          live.push({ rows, tag });
        } else if (live.length > 0) {
          const [released] = live.splice(action.release % live.length, 1);
          released!.rows.lease.release();
        }
        for (const entry of live) expect(holds(entry.rows, entry.tag, columns)).toBe(true);
        expect(arena.reservedRows()).toBe(live.reduce((sum, entry) => sum + entry.rows.timestamps.length, 0));
      }
    }), { numRuns: 500 });
  });

  it("reuses the front's rows once it is released, wrapping around the ring", () => {
    const arena = new ColumnArena([], { initialRows: 100 });
    const a = arena.reserve(40);
    const b = arena.reserve(40);
    a.lease.release();
    // 20 rows left at the end are too few for 30: the ring wraps to the rows a freed.
    const c = arena.reserve(30);
    expect(c.timestamps.buffer).toBe(b.timestamps.buffer);
    expect(c.timestamps.byteOffset).toBe(0);
    // b is still held: 10 more rows fit before it, 11 do not (new lanes, b keeps the old ones).
    expect(arena.reserve(10).timestamps.byteOffset).toBe(30 * 8);
    const d = arena.reserve(11);
    expect(d.timestamps.buffer).not.toBe(b.timestamps.buffer);
    expect(arena.laneRows()).toBe(200);
  });

  it("drops idle lanes larger than maxIdleRows; refuses an empty or fractional reservation", () => {
    const arena = new ColumnArena(["a"], { initialRows: 16, maxIdleRows: 64 });
    const big = arena.reserve(100);
    expect(arena.laneRows()).toBe(200);
    big.lease.release();
    expect(arena.laneRows()).toBe(0);
    expect(arena.reserve(3).timestamps.length).toBe(3);
    expect(arena.laneRows()).toBe(16);
    expect(() => arena.reserve(0)).toThrowError(/reserve\(0\), allowed an integer >= 1/);
    expect(() => arena.reserve(1.5)).toThrowError(RangeError);
    expect(() => new ColumnArena([], { initialRows: 0 })).toThrowError(/initialRows = 0/);
  });
});
