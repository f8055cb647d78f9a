/**
 * An insert command applied in turns (applySlices given: the executable
 * machine's ApplyTurns, the insert executor's dedup slices, the engine's
 * phases and row slices) answers and stores exactly what one pass does.
 */
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { buildCommand, decodeResultBatch, stampEnvelopeBatch } from "../../../framework/statemachine/index.js";
import { createMemoryFileSystem } from "../engine/index.js";
import { CreateStreamRequestSchema, FieldType, type Events } from "../gen/eventstore/v1/eventstore_pb.js";
import { CreateStream, Insert } from "../service/descriptors.js";
import { createEventStoreMachine } from "../service/event-store-machine.js";

function events(rows: number, first: number, late: boolean): Events {
  const timestamps = Array.from({ length: rows }, (_, row) => 1_000_000 + (late && row % 3 === 0 ? row : first + row) * 10);
  return {
    $typeName: "eventstore.v1.Events",
    timestamps,
    columns: [
      { $typeName: "eventstore.v1.Column", name: "price", values: { case: "doubles", value: { $typeName: "eventstore.v1.DoubleValues", values: timestamps.map((at, row) => (at % 997) / 8 + row) } } },
      { $typeName: "eventstore.v1.Column", name: "venue", values: { case: "strings", value: { $typeName: "eventstore.v1.StringValues", values: timestamps.map((_, row) => `v${row % 7}`) } } },
    ],
    // Ids repeat within a batch (every 11th row) and across batches (rows of the previous one).
    ids: timestamps.map((_, row) => `id-${row % 11 === 10 ? first + row - 1 : first + row - (row % 13 === 0 ? 50 : 0)}`),
  };
}

function entries(): Uint8Array[] {
  const create_ = create(CreateStreamRequestSchema, { stream: "ticks", fields: [
    { name: "price", type: FieldType.DOUBLE, aggregated: true }, { name: "venue", type: FieldType.STRING }] });
  const commands = [buildCommand(CreateStream, create_, undefined)];
  for (let batch = 0; batch < 6; batch++) {
    commands.push(buildCommand(Insert, { $typeName: "eventstore.v1.InsertRequest", stream: "ticks",
      events: events(150 + 37 * batch, batch * 120, batch % 2 === 1), async: false }, undefined));
  }
  return commands.map((command, index) => stampEnvelopeBatch(command, 1_000 + index));
}

async function applyAll(rows: number | undefined) {
  let yields = 0;
  const yieldNow = async (): Promise<void> => { yields++; };
  const { machine, state } = createEventStoreMachine({ partitionId: 1, fileSystem: createMemoryFileSystem(),
    directory: "/p1", blockBytes: 2048, ...(rows === undefined ? {} : { applySlices: { rows, yieldNow } }) });
  await machine.open();
  const data = entries();
  // Entries 1-3 in one apply (several commands per call), then one per call.
  const results = [...await machine.apply(data.slice(0, 3).map((bytes, at) => ({ index: at + 1, term: 1, data: bytes })))];
  for (let at = 3; at < data.length; at++) results.push(...await machine.apply([{ index: at + 1, term: 1, data: data[at]! }]));
  const snapshot: Uint8Array[] = [];
  for await (const chunk of machine.saveSnapshot()) snapshot.push(chunk);
  const scan = state.store().scan("ticks", { limit: 100_000 });
  await machine.close();
  return { results, snapshot: Buffer.concat(snapshot), scan, yields };
}

describe("event store: an apply in turns", () => {
  it("answers and stores exactly what one pass does, yielding inside the commands", async () => {
    const plain = await applyAll(undefined);
    const turned = await applyAll(16);
    expect(plain.yields).toBe(0);
    // Inserts of 150-335 rows in slices of 16: the dedup pass, the engine's phases and slices.
    expect(turned.yields).toBeGreaterThan(6 * (150 / 16));
    expect(turned.results).toEqual(plain.results);
    expect(turned.snapshot.equals(plain.snapshot)).toBe(true);
    expect(turned.scan).toEqual(plain.scan);
    const duplicates = plain.results.slice(1).map((bytes) => decodeResultBatch(bytes, 1)[0]!)
      .map((result) => (result.ok ? Insert.response.decode(result.payload).duplicates : -1));
    expect(duplicates.every((count) => count > 0)).toBe(true);
    expect(plain.scan.timestamps.length).toBeGreaterThan(800);
  });
});
