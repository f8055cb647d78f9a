import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore,
} from "../../../examples/event-store/engine/index.js";
import { insertOf, SCHEMAS } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

/**
 * Range queries over large blocks use cached summaries of 64-row groups. A
 * late event shifts the rows after it, so the groups from its position on
 * must be dropped: random late inserts into big blocks between random range
 * queries, every answer compared with the model, cached groups re-checked.
 */
describe("cached group summaries of a block", () => {
  it("follow late inserts at any position", async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ insertAt: fc.nat({ max: 1000 }), value: fc.integer({ max: 99 }),
        from: fc.nat({ max: 1000 }), width: fc.nat({ max: 1000 }) }), { minLength: 1,
        maxLength: 40 }),
      async (steps) => {
        const store = await openEventStore({ fileSystem: createMemoryFileSystem(),
          directory: "/g", blockBytes: 16384 });
        const schema = SCHEMAS.narrow!;
        await store.applyBatch([{ kind: "createStream", stream: "narrow", schema }], 1);
        const model = new ModelStream(schema);
        const initial: ModelEvent[] = Array.from({ length: 900 }, (_, row) => ({
          timestamp: row * 2, values: { value: (row * 37) % 101 - 50 } }));
        await store.applyBatch([insertOf("narrow", schema, initial)], 2);
        for (const event of initial) model.insert(event);
        let index = 2;
        for (const step of steps) {
          const from = step.from * 2 - 50;
          const to = from + step.width * 2;
          expect(store.aggregate("narrow", { from, to })).toEqual(model.aggregate(from, to));
          const late = { timestamp: step.insertAt * 2 - 1, values: { value: step.value } };
          await store.applyBatch([insertOf("narrow", schema, [late])], ++index);
          model.insert(late);
        }
        expect(store.aggregate("narrow", { from: 3, to: 1700 })).toEqual(model.aggregate(3, 1700));
        store.checkIntegrity();
      }), { numRuns: 60 });
  });
});
