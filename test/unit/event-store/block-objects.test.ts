/**
 * The JS objects a resident block keeps (issue #8, session 11): every
 * replica holds up to a cache budget of resident blocks, and each one's JS
 * objects are marked by every full collection and grow the old generation
 * whose limit starts most of them. The typed column views of a block are
 * made on demand and kept for the stream's last VIEWED_BLOCKS blocks only;
 * with them on every block, a block of 7 doubles kept 8 Float64Arrays.
 */
import { Session } from "node:inspector/promises";
import { describe, expect, it } from "vitest";
import { createMemoryFileSystem, openEventStore } from "../../../examples/event-store/engine/index.js";

const FIELDS = ["f0", "f1", "f2", "f3", "f4", "f5", "f6"];

/** Live Float64Arrays of this isolate (Runtime.queryObjects collects garbage first). */
async function liveFloat64Arrays(session: Session): Promise<number> {
  const { result: prototype } = await session.post("Runtime.evaluate", { expression: "Float64Array.prototype" });
  const { objects } = await session.post("Runtime.queryObjects", { prototypeObjectId: prototype.objectId! });
  const { result } = await session.post("Runtime.callFunctionOn", {
    objectId: objects.objectId!, functionDeclaration: "function () { return this.length; }", returnByValue: true,
  });
  await session.post("Runtime.releaseObject", { objectId: objects.objectId! });
  await session.post("Runtime.releaseObject", { objectId: prototype.objectId! });
  return result.value as number;
}

describe("a resident block's JS objects", () => {
  it("a block of 7 doubles keeps one Float64Array (its timestamps), not one per column", async () => {
    const store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/s", blockBytes: 8192 });
    await store.applyBatch([{ kind: "createStream", stream: "s",
      schema: { fields: FIELDS.map((name, index) => ({ name, type: "double" as const, aggregated: index < 2 })) } }], 1);
    const session = new Session();
    session.connect();
    try {
      const before = await liveFloat64Arrays(session);
      const rows = 4096;
      const timestamps = new Float64Array(rows);
      const columns = Object.fromEntries(FIELDS.map((name) => [name, new Float64Array(rows)]));
      for (let batch = 0; batch < 32; batch++) {
        for (let row = 0; row < rows; row++) {
          timestamps[row] = batch * rows + row;
          for (const name of FIELDS) columns[name]![row] = (row % 100) / 4;
        }
        await store.applyBatch([{ kind: "insert", stream: "s", timestamps, columns }], batch + 2);
      }
      const blocks = store.cacheStatistics().residentBlocks;
      // 131,072 events in 8 KiB blocks: over a thousand resident blocks (the default budget holds them all).
      expect(blocks).toBeGreaterThan(1000);
      const added = (await liveFloat64Arrays(session)) - before;
      // One per block, the views of the last 64 blocks viewed, and a few of the store's own.
      expect(added).toBeLessThan(blocks + 64 * FIELDS.length + 64);
      expect(store.statistics("s").eventCount).toBe(32 * rows);
    } finally {
      session.disconnect();
      await store.close();
    }
  });
});
