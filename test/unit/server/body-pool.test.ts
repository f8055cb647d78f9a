/**
 * BodyPool (body-pool.ts): a body's chunks joined in order into a buffer of
 * the pool, that buffer reused once released, at most maxRetainedBytes kept.
 */
import { describe, expect, it } from "vitest";
import { BodyPool } from "../../../framework/server/body-pool.js";

const chunksOf = (...sizes: number[]): Uint8Array[] => {
  let next = 0;
  return sizes.map((size) => Uint8Array.from({ length: size }, () => next++ & 0xff));
};
const expected = (size: number): number[] => Array.from({ length: size }, (_, index) => index & 0xff);

describe("BodyPool", () => {
  it("joins the chunks in order into a view of exactly their size", () => {
    const pool = new BodyPool(1 << 20, 1 << 20);
    const body = pool.gather(chunksOf(10_000, 16_384, 3), 26_387);
    expect(body.bytes.byteLength).toBe(26_387);
    expect(Array.from(body.bytes)).toEqual(expected(26_387));
    expect(body.bytes.buffer.byteLength).toBe(32_768); // the smallest power of two that holds it
  });

  it("reuses a released buffer for the next body of its size class, and not one still held", () => {
    const pool = new BodyPool(1 << 20, 1 << 20);
    const first = pool.gather(chunksOf(20_000, 5_000), 25_000);
    const held = pool.gather(chunksOf(30_000), 30_000);
    expect(held.bytes.buffer).not.toBe(first.bytes.buffer);
    first.release();
    first.release(); // a second release is a no-op: the buffer is pooled once
    expect(pool.retained).toBe(32_768);
    const second = pool.gather(chunksOf(17_000, 1), 17_001);
    expect(second.bytes.buffer).toBe(first.bytes.buffer);
    expect(Array.from(second.bytes)).toEqual(expected(17_001));
    expect(pool.retained).toBe(0);
    const third = pool.gather(chunksOf(17_000), 17_000);
    expect(third.bytes.buffer).not.toBe(second.bytes.buffer);
    held.release();
    second.release();
    third.release();
  });

  it("keeps at most maxRetainedBytes and never pools a body above maxBodyBytes", () => {
    const pool = new BodyPool(100_000, 64 * 1024);
    const bodies = [1, 2, 3].map(() => pool.gather(chunksOf(20_000, 10_000), 30_000));
    for (const body of bodies) body.release();
    expect(pool.retained).toBe(64 * 1024); // two of 32 KiB; the third was dropped
    const large = pool.gather(chunksOf(60_000, 60_000), 120_000);
    expect(large.bytes.buffer.byteLength).toBe(120_000); // fresh, exactly its size
    large.release();
    expect(pool.retained).toBe(64 * 1024);
  });

  it("refuses chunks that do not add up to the size given", () => {
    const pool = new BodyPool(1 << 20, 1 << 20);
    expect(() => pool.gather(chunksOf(10, 10), 30)).toThrow(/chunks hold 20 bytes, expected 30/);
  });
});
