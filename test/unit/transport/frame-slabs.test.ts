import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { AliasWatch, FrameSlabs } from "../../../framework/transport/frame-slabs.js";
import { createFrameSlabs } from "../../../framework/transport/frame-slabs.js";
import { AssertionError } from "../../../framework/raft/index.js";

// The collector on demand: what returns a slab in production is a collected alias.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A watch that returns slabs when the test says so, reachable or not (what an early release is):
 * `returnMovedOn` every slab but the one lent last (the pool's current), `returnAll` that one too.
 */
function eagerWatch(): AliasWatch & { returnMovedOn(): void; returnAll(): void } {
  let pending: Array<() => void> = [];
  const returnUpTo = (end: number): void => {
    const due = pending.slice(0, end);
    pending = pending.slice(end);
    for (const onUnreachable of due) onUnreachable();
  };
  return {
    watch: (_alias, onUnreachable) => void pending.push(onUnreachable),
    returnMovedOn: () => returnUpTo(Math.max(0, pending.length - 1)),
    returnAll: () => returnUpTo(pending.length),
  };
}

/**
 * A late reader: takes one frame and keeps its view while `rounds` rounds of frames are taken
 * (filled, dropped) and `afterRound` runs. Returns whether its bytes are still the ones it wrote.
 */
async function lateReaderReadsItsBytes(
  slabs: FrameSlabs,
  rounds: number,
  afterRound: () => Promise<void> | void,
): Promise<boolean> {
  const late = slabs.take(100).fill(0xab);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < 8; i++) slabs.take(500).fill(round % 200);
    await afterRound();
  }
  return late.every((byte) => byte === 0xab);
}

describe("frame slabs", () => {
  it("a late reader never sees overwritten bytes: its slab is lent again only after its views are gone", async () => {
    const slabs = createFrameSlabs({ slabBytes: 1024, maxSlabs: 4 });
    const survived = await lateReaderReadsItsBytes(slabs, 40, async () => {
      collectGarbage();
      await nextTask();
    });
    expect(survived).toBe(true);
    // Not vacuous: the other slabs were collected and lent again many times meanwhile.
    expect(slabs.stats.slabs).toBe(4);
    expect(slabs.stats.returns).toBeGreaterThan(20);
    expect(slabs.stats.lendings).toBeGreaterThan(slabs.stats.slabs + 20);
  });

  it("the same reader sees another frame's bytes if slabs came back before their views were gone", async () => {
    // What the test above guards against: a return that does not wait for the collector.
    const watch = eagerWatch();
    const slabs = createFrameSlabs({ slabBytes: 1024, maxSlabs: 4, watch });
    expect(await lateReaderReadsItsBytes(slabs, 40, () => watch.returnMovedOn())).toBe(false);
  });

  it("once the late reader drops its view, its slab comes back too", async () => {
    const slabs = createFrameSlabs({ slabBytes: 1024, maxSlabs: 2 });
    let late: Uint8Array | undefined = slabs.take(1000);
    late.fill(1);
    const second = slabs.take(1000).fill(2); // moves on to the second slab
    slabs.take(1000); // and back to the first's turn: none free, so fresh memory
    expect(slabs.stats.freshFrames).toBe(1);
    late = undefined;
    const deadline = 1000;
    for (let attempt = 0; attempt < deadline && slabs.stats.returns === 0; attempt++) {
      collectGarbage();
      await nextTask();
    }
    expect(late).toBeUndefined();
    expect(slabs.stats.returns).toBe(1);
    const reused = slabs.take(1000);
    expect(reused.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(slabs.stats.freshFrames).toBe(1);
    expect(slabs.stats.lendings).toBe(3);
    expect(second.every((byte) => byte === 2)).toBe(true); // still reachable: never returned
  });

  it("frames of one slab do not overlap, start 8-aligned and are plain Uint8Arrays", () => {
    const slabs = createFrameSlabs({ slabBytes: 4096, maxSlabs: 1 });
    const frames = [1, 7, 8, 9, 100, 3].map((length) => slabs.take(length));
    let end = 0;
    frames.forEach((frame, i) => {
      expect(Object.getPrototypeOf(frame)).toBe(Uint8Array.prototype);
      expect(frame.buffer).toBe(frames[0]!.buffer);
      expect(frame.byteOffset % 8).toBe(0);
      expect(frame.byteOffset).toBeGreaterThanOrEqual(end);
      frame.fill(i + 1);
      end = frame.byteOffset + frame.byteLength;
    });
    frames.forEach((frame, i) => expect(frame.every((byte) => byte === i + 1)).toBe(true));
  });

  it("a frame larger than a slab, or with every slab lent, is fresh unshared memory", () => {
    const slabs = createFrameSlabs({ slabBytes: 64, maxSlabs: 1 });
    const big = slabs.take(65);
    expect(big.buffer).toBeInstanceOf(ArrayBuffer);
    expect(slabs.take(64).buffer).toBeInstanceOf(SharedArrayBuffer);
    const afterFull = slabs.take(8); // the only slab is lent and full
    expect(afterFull.buffer).toBeInstanceOf(ArrayBuffer);
    expect(slabs.stats).toEqual({ slabs: 1, lendings: 1, returns: 0, freshFrames: 2, freshBytes: 73 });
  });

  it("asserts: a slab returned twice, or the slab still being filled returned at all", () => {
    const watch = eagerWatch();
    const slabs = createFrameSlabs({ slabBytes: 64, maxSlabs: 2, watch });
    slabs.take(64);
    expect(() => watch.returnAll()).toThrow(AssertionError); // still the pool's current slab
    const twice = eagerWatch();
    let onUnreachable: (() => void) | undefined;
    const other = createFrameSlabs({
      slabBytes: 64,
      maxSlabs: 2,
      watch: { watch: (alias, callback) => ((onUnreachable = callback), twice.watch(alias, callback)) },
    });
    other.take(64);
    const first = onUnreachable!;
    other.take(64); // the pool moved on: the first slab may come back, once
    first();
    expect(() => first()).toThrow(AssertionError);
    expect(() => createFrameSlabs({ slabBytes: 12, maxSlabs: 1 })).toThrow(AssertionError);
    expect(() => slabs.take(-1)).toThrow(AssertionError);
  });
});
