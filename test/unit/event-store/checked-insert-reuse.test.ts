/**
 * applyBatch reuses the check createInsertChecker made of the same insert
 * operation object (each event checked once per replica), and checks again
 * whenever that check does not prove the operation as applied: arrays
 * replaced or grown since, a column added, a stream of other fields.
 */
import { describe, expect, it } from "vitest";
import {
  createInsertChecker, createMemoryFileSystem, openEventStore, type EventStore, type InsertOperation,
  type StreamSchema,
} from "../../../examples/event-store/engine/index.js";

const schema: StreamSchema = { fields: [
  { name: "price", type: "double", aggregated: true },
  { name: "quantity", type: "int64", aggregated: true },
  { name: "venue", type: "string" },
] };

async function storeWith(streamSchema: StreamSchema): Promise<EventStore> {
  const store = await openEventStore({ fileSystem: createMemoryFileSystem(), directory: "/s", walSync: false });
  await store.applyBatch([{ kind: "createStream", stream: "s", schema: streamSchema }], 1);
  return store;
}

function insert(): InsertOperation & { columns: Record<string, unknown[] | Float64Array> } {
  return { kind: "insert", stream: "s", timestamps: Float64Array.of(10, 20, 30),
    columns: { price: Float64Array.of(1.5, 2.5, 3.5), quantity: [1, 2, 3], venue: ["a", "b", "c"] } };
}

describe("a checked insert applied as it was checked", () => {
  it("is applied with the same result as an unchecked one", async () => {
    const checked = await storeWith(schema);
    const plain = await storeWith(schema);
    const check = createInsertChecker("s", schema, 32 * 1024);
    const operation = insert();
    check(operation);
    await checked.applyBatch([operation], 2);
    await plain.applyBatch([insert()], 2);
    expect(checked.aggregate("s")).toEqual(plain.aggregate("s"));
    expect(checked.scan("s")).toEqual(plain.scan("s"));
    checked.checkIntegrity();
  });

  it("is not checked value by value again (so a checked operation must not be changed in place)", async () => {
    const store = await storeWith(schema);
    const check = createInsertChecker("s", schema, 32 * 1024);
    const operation = insert();
    check(operation);
    (operation.columns["price"] as Float64Array)[1] = 7.5; // what applyBatch now trusts unseen
    await store.applyBatch([operation], 2);
    expect(store.aggregate("s").fields["price"]?.max).toBe(7.5);
  });

  it("is checked again when its arrays were replaced or grew, or a column was added", async () => {
    const store = await storeWith(schema);
    const check = createInsertChecker("s", schema, 32 * 1024);
    const replaced = insert();
    check(replaced);
    replaced.columns["price"] = Float64Array.of(1, Number.NaN, 3);
    await expect(store.applyBatch([replaced], 2)).rejects.toThrow(/price.*finite/);
    const grown = insert();
    check(grown);
    (grown.columns["quantity"] as unknown[]).push(4.5);
    await expect(store.applyBatch([grown], 2)).rejects.toThrow(/quantity/);
    const added = insert();
    check(added);
    added.columns["extra"] = [1, 2, 3];
    await expect(store.applyBatch([added], 2)).rejects.toThrow(/unknown field 'extra'/);
    expect(store.aggregate("s").count).toBe(0);
  });

  it("is checked again for a stream whose fields differ from the checker's", async () => {
    const store = await storeWith({ fields: [
      { name: "price", type: "double", aggregated: true },
      { name: "quantity", type: "double", aggregated: true },
      { name: "venue", type: "bool" },
    ] });
    const check = createInsertChecker("s", schema, 32 * 1024);
    const operation = insert();
    check(operation);
    await expect(store.applyBatch([operation], 2)).rejects.toThrow(/venue.*expected a boolean/);
  });
});
