import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, EventStoreErrorCode, insertFromRows, isEventStoreError, openEventStore,
  type EventStore, type Operation, type StreamSchema,
} from "../../../examples/event-store/engine/index.js";
import { SCHEMAS } from "./harness.js";

async function storeWithWide(): Promise<EventStore> {
  const store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/e" });
  await store.applyBatch([{ kind: "createStream", stream: "wide", schema: SCHEMAS.wide! }], 1);
  return store;
}

async function rejection(store: EventStore, operations: Operation[],
  index = store.appliedIndex() + 1): Promise<{ code: string; message: string }> {
  try {
    await store.applyBatch(operations, index);
  } catch (error) {
    if (isEventStoreError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("the batch was accepted");
}

const FIELDS = ["price", "quantity", "flag", "label"];
const good = { price: 1.5, quantity: 3, flag: true, label: "a" };

describe("schema check on insert", () => {
  it("names the event's position and the field", async () => {
    const store = await storeWithWide();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, price: Number.NaN }, /event 2: field 'price' has the number NaN/],
      [{ ...good, price: Infinity }, /event 2: field 'price' has the number Infinity/],
      [{ ...good, quantity: 2.5 },
        /event 2: field 'quantity' has the number 2.5, expected an integer/],
      [{ ...good, quantity: 2 ** 60 }, /event 2: field 'quantity'/],
      [{ ...good, flag: 1 }, /event 2: field 'flag' has the number 1, expected a boolean/],
      [{ ...good, label: 7 }, /event 2: field 'label' has the number 7, expected a string/],
      [{ ...good, label: "\ud800" }, /event 2: field 'label' .* lone surrogate/],
      [{ price: 1, quantity: 1, flag: false }, /event 2: field 'label' is missing/],
    ];
    for (const [values, expected] of cases) {
      const rows: Record<string, unknown>[] = [good, good, values];
      const columns = Object.fromEntries(FIELDS.map((name) => [name,
        rows.map((row) => row[name])]));
      const error = await rejection(store, [{ kind: "insert", stream: "wide",
        timestamps: [0, 1, 2], columns }]);
      expect(error.code).toBe(EventStoreErrorCode.InvalidEvent);
      expect(error.message).toMatch(expected);
    }
    expect(store.appliedIndex()).toBe(1);
    expect(store.statistics("wide").eventCount).toBe(0);
  });

  it("names the bad event in Float64Array columns and timestamps too (their fast checks)", async () => {
    const store = await storeWithWide();
    const insert = (timestamps: Float64Array, price: Float64Array, label: string[] = ["", "", ""]): Operation => ({
      kind: "insert", stream: "wide", timestamps,
      columns: { price, quantity: Float64Array.of(1, 2, 3), flag: [true, false, true], label },
    });
    const cases: [Operation, RegExp][] = [
      [insert(Float64Array.of(0, 1, 2), Float64Array.of(1, 2, Number.NaN)), /event 2: field 'price' has the number NaN/],
      [insert(Float64Array.of(0, 1, 2), Float64Array.of(1, -Infinity, 3)), /event 1: field 'price' has the number -Infinity/],
      [insert(Float64Array.of(0, 1.5, 2), Float64Array.of(1, 2, 3)), /event 1: timestamp 1.5 is not an integer µs/],
      [insert(Float64Array.of(0, 1, 2 ** 53), Float64Array.of(1, 2, 3)), /event 2: timestamp 9007199254740992 is not/],
      [insert(Float64Array.of(Number.NaN, 1, 2), Float64Array.of(1, 2, 3)), /event 0: timestamp NaN is not/],
      [insert(Float64Array.of(0, 1, 2), Float64Array.of(1, 2, 3), ["", "\ud800", ""]), /event 1: field 'label' .* lone surrogate/],
    ];
    for (const [operation, expected] of cases) {
      const error = await rejection(store, [operation]);
      expect(error.code).toBe(EventStoreErrorCode.InvalidEvent);
      expect(error.message).toMatch(expected);
    }
    expect(store.appliedIndex()).toBe(1);
    // Finite values, -0 and the safe range's ends pass, empty labels included.
    await store.applyBatch([insert(Float64Array.of(-(2 ** 53 - 1), -0, 2 ** 53 - 1), Float64Array.of(-0, 1e308, -1e-308))], 2);
    expect(store.statistics("wide").eventCount).toBe(3);
  });

  it("rejects bad timestamps, unknown fields, unknown streams and stale indexes", async () => {
    const store = await storeWithWide();
    const base = { kind: "insert" as const, stream: "wide",
      columns: { price: [1], quantity: [1], flag: [true], label: ["x"] } };
    expect((await rejection(store, [{ ...base, timestamps: [1.5] }])).message)
      .toMatch(/event 0: timestamp 1.5 is not an integer µs/);
    expect((await rejection(store, [{ ...base, timestamps: [2 ** 53] }])).message)
      .toMatch(/event 0: timestamp/);
    expect((await rejection(store, [{ ...base, timestamps: [1],
      columns: { ...base.columns, extra: [1] } }])).message).toMatch(/unknown field 'extra'/);
    expect((await rejection(store, [{ ...base, timestamps: [1, 2] }])).message)
      .toMatch(/event 1: field 'price' is missing/);
    expect((await rejection(store, [{ ...base, stream: "nope", timestamps: [1] }])).code)
      .toBe(EventStoreErrorCode.UnknownStream);
    expect((await rejection(store, [{ ...base, timestamps: [1] }], 1)).code)
      .toBe(EventStoreErrorCode.StaleBatch);
    expect((await rejection(store, [{ kind: "createStream", stream: "wide",
      schema: SCHEMAS.wide! }])).code).toBe(EventStoreErrorCode.StreamExists);
  });

  it("applies nothing of a batch with one bad operation", async () => {
    const store = await storeWithWide();
    const ok = insertFromRows("wide", FIELDS, [{ timestamp: 5, values: good }]);
    const bad = insertFromRows("wide", FIELDS,
      [{ timestamp: 6, values: { ...good, price: -Infinity } }]);
    const error = await rejection(store, [ok, bad]);
    expect(error.message).toMatch(/operation #1 .*event 0: field 'price'/);
    expect(store.statistics("wide").eventCount).toBe(0);
    await store.applyBatch([], 2);
    expect(store.appliedIndex()).toBe(2);
  });

  it("rejects malformed schemas", async () => {
    const store = await storeWithWide();
    const cases: [unknown, RegExp][] = [
      [{ fields: [{ name: "a", type: "string", aggregated: true }] }, /only int64 and double/],
      [{ fields: [{ name: "a", type: "double" }, { name: "a", type: "int64" }] }, /appears twice/],
      [{ fields: [{ name: "timestamp", type: "int64" }] }, /reserved/],
      [{ fields: [{ name: "a", type: "float" }] }, /unknown type 'float'/],
      [{ fields: [{ name: "bad name", type: "int64" }] }, /field #0: name/],
    ];
    for (const [schema, expected] of cases) {
      // Deliberately untyped, as a schema arrives from the wire: the engine checks at run time.
      const untyped: StreamSchema = JSON.parse(JSON.stringify(schema));
      const error = await rejection(store, [{ kind: "createStream", stream: "s",
        schema: untyped }]);
      expect(error.code).toBe(EventStoreErrorCode.InvalidSchema);
      expect(error.message).toMatch(expected);
    }
  });

  it("rejects bad query arguments with InvalidArgument", async () => {
    const store = await storeWithWide();
    const invalid = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return isEventStoreError(error, EventStoreErrorCode.InvalidArgument);
      }
      return false;
    };
    expect(invalid(() => store.aggregate("wide", { from: 10, to: 5 }))).toBe(true);
    expect(invalid(() => store.scan("wide", { limit: 0 }))).toBe(true);
    expect(invalid(() => store.windows("wide", { width: 0 }))).toBe(true);
    expect(invalid(() => store.windows("wide", { width: 1.5 }))).toBe(true);
    expect(invalid(() => store.scan("wide", { cursor: { timestamp: 1, tieIndex: -1 } })))
      .toBe(true);
  });
});
