import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildCommand, encodeEnvelopeBatch, readCommandResult, stampEnvelopeBatch, decodeEnvelopeBatch,
  decodeResultBatch,
} from "../../../framework/statemachine/index.js";
import { createMemoryFileSystem } from "../engine/index.js";
import { CreateStreamRequestSchema, FieldType } from "../gen/eventstore/v1/eventstore_pb.js";
import { CreateStream } from "../service/descriptors.js";
import { createEventStoreMachine } from "../service/event-store-machine.js";
import { InsertColumnar } from "../service/insert-columnar.js";
import type { InsertCommand } from "../service/insert-wire.js";

/**
 * The apply decodes each Insert's double columns into the stream's reused
 * memory and frees it once the engine has written the staged batch
 * (persist). What is stored must be exactly what was inserted, whatever
 * reuses that memory afterwards: several entries per apply call (one
 * persist for all), several inserts per entry, duplicates (a copy is
 * staged), late events, refused inserts, an apply in slices.
 */
interface Row { readonly ts: number; readonly price: number; readonly qty: number; readonly venue: string; readonly id: string }

const insertOf = (rows: readonly Row[]): InsertCommand => ({
  stream: "s", async: false,
  events: {
    timestamps: Float64Array.from(rows, (row) => row.ts),
    columns: [
      { name: "price", values: { case: "doubles", values: Float64Array.from(rows, (row) => row.price) } },
      { name: "qty", values: { case: "doubles", values: Float64Array.from(rows, (row) => row.qty) } },
      { name: "venue", values: { case: "strings", values: rows.map((row) => row.venue) } },
    ],
    ids: rows.some((row) => row.id !== "") ? rows.map((row) => row.id) : [],
  },
});

async function setup(slices: boolean) {
  const { machine, state } = createEventStoreMachine({
    partitionId: 1, fileSystem: createMemoryFileSystem(), directory: "/p", blockBytes: 4096,
    ...(slices ? { applySlices: { rows: 16, yieldNow: () => new Promise<void>((resolve) => setImmediate(resolve)) } } : {}),
  });
  await machine.open();
  let index = 0;
  const entry = (data: Uint8Array) => {
    index += 1;
    return { index, term: 1, data: stampEnvelopeBatch(data, 1000 + index) };
  };
  const created = await machine.apply([entry(buildCommand(CreateStream, create(CreateStreamRequestSchema, {
    stream: "s", fields: [
      { name: "price", type: FieldType.DOUBLE, aggregated: true },
      { name: "qty", type: FieldType.INT64 },
      { name: "venue", type: FieldType.STRING },
    ] }), undefined))]);
  expect(readCommandResult(CreateStream, created[0]!).created).toBe(true);
  return { machine, state, entry };
}

const row = fc.record({
  ts: fc.integer({ min: 0, max: 5000 }), price: fc.double({ noNaN: true, noDefaultInfinity: true }),
  qty: fc.integer({ min: -1000, max: 1000 }), venue: fc.constantFrom("", "a", "bé"),
  id: fc.oneof(fc.constant(""), fc.constantFrom("x", "y", "z", "w")),
});
/** An insert (maybe refused: a NaN price), entries of 1-3 inserts, apply calls of 1-3 entries. */
const insert = fc.record({ rows: fc.array(row, { minLength: 1, maxLength: 40 }), bad: fc.boolean() });
const call = fc.array(fc.array(insert, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 });

describe("event store apply: decoded columns in reused memory", () => {
  it("stores exactly the accepted events, frees the memory at each persist and reuses it", async () => {
    await fc.assert(fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 8 }), fc.boolean(), async (calls, slices) => {
      const { machine, state, entry } = await setup(slices);
      const expected: Row[] = [];
      const seenIds = new Set<string>();
      let lanes = 0;
      for (const entries of calls) {
        const results = await machine.apply(entries.map((inserts) => entry(encodeEnvelopeBatch(inserts.map(({ rows, bad }) => {
          const command = insertOf(bad ? rows.map((one, at) => (at === 0 ? { ...one, price: Number.NaN } : one)) : rows);
          return decodeEnvelopeBatch(buildCommand(InsertColumnar, command, undefined))[0]!;
        })))));
        entries.forEach((inserts, at) => {
          const answers = decodeResultBatch(results[at]!, inserts.length);
          inserts.forEach(({ rows, bad }, position) => {
            expect(answers[position]!.ok).toBe(!bad);
            if (bad) return;
            for (const one of rows) {
              // The dedup keeps the first event of an id (within the insert too).
              if (one.id !== "" && seenIds.has(one.id)) continue;
              if (one.id !== "") seenIds.add(one.id);
              expected.push(one);
            }
          });
        });
        // Persisted: nothing of it is held any more.
        expect(state.columnMemory("s").reservedRows).toBe(0);
        lanes = Math.max(lanes, state.columnMemory("s").laneRows);
      }
      expect(lanes).toBeGreaterThan(0);
      const scan = state.store().scan("s", { limit: 1_000_000 });
      const stored = Array.from({ length: scan.count }, (_, at) => ({
        ts: scan.timestamps[at]!, price: scan.columns["price"]![at] as number,
        qty: scan.columns["qty"]![at] as number, venue: scan.columns["venue"]![at] as string,
        id: scan.columns["_id"]![at] as string,
      }));
      const key = (one: Row) => `${one.ts}|${Object.is(one.price, -0) ? "-0" : one.price}|${one.qty}|${one.venue}|${one.id}`;
      expect(stored.map(key).sort()).toEqual(expected.map(key).sort());
      // In timestamp order.
      for (let at = 1; at < stored.length; at++) expect(stored[at]!.ts).toBeGreaterThanOrEqual(stored[at - 1]!.ts);
      await machine.close();
    }), { numRuns: 60 });
  });
});
