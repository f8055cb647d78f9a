import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore, type EventStore, type MemoryFileSystem,
} from "../../../examples/event-store/engine/index.js";
import { insertOf, SCHEMAS } from "./harness.js";
import { ModelStream, type ModelEvent } from "./model.js";

/**
 * Crash at any moment, in memory: batches are started without waiting, the
 * disk crashes after a random number of turns of the event loop, keeping a
 * random part of the unsynced writes (torn ones included); the crashed
 * process's file system view fails every later call, as a dead process would. After reopening,
 * the store holds exactly the batches up to its applied index, which is at
 * least the last acknowledged one, and its index is intact.
 */
function batchEvents(index: number): ModelEvent[] {
  // Deterministic content per applied index, with late events and ties.
  const events: ModelEvent[] = [];
  for (let row = 0; row < 30 + (index * 7) % 50; row++) {
    const base = index * 40 + row;
    const timestamp = row % 9 === 4 ? base - 300 + (index % 5) : base;
    events.push({ timestamp, values: { value: ((index * 31 + row * 17) % 97) / 8 } });
  }
  return events;
}

async function reopen(fileSystem: MemoryFileSystem): Promise<EventStore> {
  return openEventStore({ fileSystem, directory: "/store", blockBytes: 1024,
    walCheckpointBytes: 3000 });
}

describe("crash recovery (memory file system)", () => {
  it("keeps the batches up to the applied index, never fewer than acknowledged", async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.nat({ max: 400 }), { minLength: 1, maxLength: 6 }),
      fc.integer(), async (crashDelays, seed) => {
        let fileSystem = createMemoryFileSystem();
        let store = await reopen(fileSystem);
        await store.applyBatch([{ kind: "createStream", stream: "narrow",
          schema: SCHEMAS.narrow! }], 1);
        let acknowledged = 1;
        let random = seed >>> 0;
        const next = () => {
          random = (Math.imul(random, 1664525) + 1013904223) >>> 0;
          return random / 2 ** 32;
        };
        for (const delay of crashDelays) {
          let index = store.appliedIndex();
          const running = (async () => {
            for (;;) {
              const batch = ++index;
              await store.applyBatch([insertOf("narrow", SCHEMAS.narrow!, batchEvents(batch))],
                batch);
              acknowledged = batch;
            }
          })().catch(() => undefined);
          // The memory disk never blocks: count microtask turns, not timer turns.
          for (let turn = 0; turn < delay; turn++) await Promise.resolve();
          fileSystem = fileSystem.crash(next);
          await running;
          store = await reopen(fileSystem);
          store.checkIntegrity();
          expect(store.appliedIndex()).toBeGreaterThanOrEqual(acknowledged);
          const model = new ModelStream(SCHEMAS.narrow!);
          for (let batch = 2; batch <= store.appliedIndex(); batch++) {
            for (const event of batchEvents(batch)) model.insert(event);
          }
          expect(store.aggregate("narrow")).toEqual(model.aggregate(-Infinity, Infinity));
          expect(store.aggregate("narrow", { from: 500, to: 1500 }))
            .toEqual(model.aggregate(500, 1500));
          acknowledged = store.appliedIndex();
        }
      }), { numRuns: 40 });
  });
});
