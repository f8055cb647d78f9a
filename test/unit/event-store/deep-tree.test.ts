import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore,
} from "../../../examples/event-store/engine/index.js";
import { insertOf, SCHEMAS } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

/**
 * A tree three levels deep (about 2,000 blocks of 1 KiB) with late events
 * spread over all of it: node splits in the middle and on the right edge,
 * aggregates over ranges that cut through every level, checked exactly.
 */
describe("aggregate index three levels deep", () => {
  it("stays exact with late events everywhere", async () => {
    const fileSystem = createMemoryFileSystem();
    const store = await openEventStore({ fileSystem, directory: "/deep", blockBytes: 1024 });
    await store.applyBatch([{ kind: "createStream", stream: "narrow",
      schema: SCHEMAS.narrow! }], 1);
    const model = new ModelStream(SCHEMAS.narrow!);
    let random = 12345;
    const next = (bound: number): number => {
      random = (Math.imul(random, 1103515245) + 12345) >>> 0;
      return random % bound;
    };
    let newest = 0;
    for (let batch = 0; batch < 20; batch++) {
      const events: ModelEvent[] = [];
      for (let row = 0; row < 4000; row++) {
        const late = next(100) < 4;
        const timestamp = late ? next(newest + 1) : (newest += next(3));
        events.push({ timestamp, values: { value: (next(2001) - 1000) / 16 } });
      }
      await store.applyBatch([insertOf("narrow", SCHEMAS.narrow!, events)], batch + 2);
      for (const event of events) model.insert(event);
    }
    const statistics = store.statistics("narrow");
    expect(statistics.indexHeight).toBeGreaterThanOrEqual(3);
    expect(statistics.blockSplitCount).toBeGreaterThan(0);
    expect(statistics.lateEventCount).toBeGreaterThan(2000);
    store.checkIntegrity();
    for (let query = 0; query < 200; query++) {
      const from = next(newest + 10) - 5;
      const to = from + next(newest - from + 10);
      expect(store.aggregate("narrow", { from, to })).toEqual(model.aggregate(from, to));
    }
    const windows = store.windows("narrow", { width: 997, origin: 13, limit: 1_000_000 });
    expect(windows.windows).toEqual(model.windows(-Infinity, Infinity, 997, 13));
    await store.close();
  });
});
