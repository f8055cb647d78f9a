import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { UnknownField } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EventsSchema, InsertRequestSchema,
} from "../../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import type { Column, InsertRequest } from "../../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import {
  columnarFormOf, insertCommandCodec, insertRequestCodec, toWireEvents,
} from "../../../examples/event-store/service/insert-codec.js";
import { toColumnar, wireToColumnar } from "../../../examples/event-store/service/columnar-events.js";
import type { ColumnarEvents } from "../../../examples/event-store/service/columnar-events.js";
import type { FieldSpec } from "../../../examples/event-store/engine/index.js";
import { decodeInsertCommand, decodeWireEvents, decodeWireEventsParts } from "../../../examples/event-store/service/insert-wire.js";
import type { InsertCommand, WireEvents } from "../../../examples/event-store/service/insert-wire.js";
import {
  encodeEventsField, encodeInsertCommand, encodeInsertCommandInto, encodeWireEvents,
} from "../../../examples/event-store/service/insert-wire-encode.js";

/**
 * The hand codec of InsertRequest against protobuf-es, both ways: any
 * message protobuf-es writes (unknown fields, empty columns, NaN, -0, ±Inf,
 * negative and out-of-range int64, non-ASCII strings) decodes to the same
 * values, and what the hand codec writes is byte for byte what protobuf-es
 * writes for the same message (so other languages read it as plain protobuf).
 */
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const safeInt64 = fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n });
const text = fc.string({ unit: "grapheme", maxLength: 40 });

const unknownField: fc.Arbitrary<UnknownField> = fc.oneof(
  fc.record({ no: fc.integer({ min: 6, max: 5000 }), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) })
    .map(({ no, value }) => ({ no, wireType: WireType.Varint, data: new BinaryWriter().uint64(value).finish() })),
  fc.record({ no: fc.integer({ min: 6, max: 5000 }), value: fc.double() })
    .map(({ no, value }) => ({ no, wireType: WireType.Bit64, data: new BinaryWriter().double(value).finish() })),
  fc.record({ no: fc.integer({ min: 6, max: 5000 }), value: fc.integer() })
    .map(({ no, value }) => ({ no, wireType: WireType.Bit32, data: new BinaryWriter().sfixed32(value).finish() })),
  fc.record({ no: fc.integer({ min: 6, max: 5000 }), value: fc.uint8Array({ maxLength: 20 }) })
    .map(({ no, value }) => ({ no, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(value).finish() })),
);
const unknowns: fc.Arbitrary<UnknownField[]> = fc.array(unknownField, { maxLength: 2 });
const noUnknowns: fc.Arbitrary<UnknownField[]> = fc.constant([]);

function columnOf(int64Values: fc.Arbitrary<bigint>): fc.Arbitrary<Column> {
  const values = fc.oneof(
    fc.record({ case: fc.constant("doubles" as const), value: fc.record({ values: fc.array(fc.double(), { maxLength: 20 }) }) }),
    fc.record({ case: fc.constant("int64s" as const), value: fc.record({ values: fc.array(int64Values, { maxLength: 20 }) }) }),
    fc.record({ case: fc.constant("bools" as const), value: fc.record({ values: fc.array(fc.boolean(), { maxLength: 20 }) }) }),
    fc.record({ case: fc.constant("strings" as const), value: fc.record({ values: fc.array(text, { maxLength: 8 }) }) }),
    fc.constant({ case: undefined }),
  );
  return fc.record({ name: text, values, unknown: unknowns }).map(({ name, values, unknown }) => {
    const column = create(EventsSchema, { columns: [{ name, values }] }).columns[0]!;
    if (unknown.length > 0) column.$unknown = unknown;
    return column;
  });
}

function requestOf(int64Values: fc.Arbitrary<bigint>, withUnknown: boolean): fc.Arbitrary<InsertRequest> {
  return fc.record({
    stream: text,
    timestamps: fc.array(fc.oneof(fc.double(), fc.constantFrom(Number.NaN, -0, Infinity, -Infinity)), { maxLength: 30 }),
    columns: fc.array(columnOf(int64Values), { maxLength: 4 }),
    ids: fc.array(text, { maxLength: 6 }),
    async: fc.boolean(),
    unknown: withUnknown ? unknowns : noUnknowns,
    eventsUnknown: withUnknown ? unknowns : noUnknowns,
  }).map(({ stream, timestamps, columns, ids, async, unknown, eventsUnknown }) => {
    const events = create(EventsSchema, { timestamps, columns, ids });
    if (eventsUnknown.length > 0) events.$unknown = eventsUnknown;
    const request = create(InsertRequestSchema, { stream, events, async });
    if (unknown.length > 0) request.$unknown = unknown;
    if (!withUnknown) for (const column of columns) delete column.$unknown;
    return request;
  });
}

/** Doubles equal bit for bit as numbers: NaN equals NaN, -0 differs from 0. */
function expectSameDoubles(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let index = 0; index < expected.length; index++) {
    if (!Object.is(actual[index], expected[index])) {
      throw new Error(`value ${index}: ${String(actual[index])}, expected ${String(expected[index])}`);
    }
  }
}

function expectSameEvents(actual: WireEvents, expected: WireEvents): void {
  expectSameDoubles(actual.timestamps, expected.timestamps);
  expect(actual.ids).toEqual(expected.ids);
  expect(actual.columns.map((column) => [column.name, column.values.case]))
    .toEqual(expected.columns.map((column) => [column.name, column.values.case]));
  actual.columns.forEach((column, index) => {
    const other = expected.columns[index]!.values;
    const values = column.values;
    if (values.case === "doubles" || values.case === "int64s") {
      expectSameDoubles(values.values, (other as typeof values).values);
      if (values.case === "int64s") expect(values.beyondSafe).toBe((other as typeof values).beyondSafe);
    } else if (values.case === "bools" || values.case === "strings") {
      expect(values.values).toEqual((other as typeof values).values);
    }
  });
}

describe("InsertRequest hand codec", () => {
  it("decodes whatever protobuf-es writes, unknown fields included, to protobuf-es's values", () => {
    fc.assert(fc.property(requestOf(int64, true), (request) => {
      const bytes = toBinary(InsertRequestSchema, request);
      const decoded = decodeInsertCommand(bytes);
      const reference = fromBinary(InsertRequestSchema, bytes);
      expect([decoded.stream, decoded.async]).toEqual([reference.stream, reference.async]);
      expectSameEvents(decoded.events, toWireEvents(reference.events));
    }), { numRuns: 300 });
  });

  it("decodes into a caller's memory (DecodeTarget) the same values, reading the bytes only during the call", () => {
    fc.assert(fc.property(requestOf(int64, true), fc.integer({ min: 0, max: 7 }), (request, misalign) => {
      // The events' bytes at any offset (packed doubles unaligned), as the route hands them.
      const plain = toBinary(EventsSchema, request.events ?? create(EventsSchema));
      const bytes = new Uint8Array(plain.length + misalign).subarray(misalign);
      bytes.set(plain);
      const expected = decodeWireEvents(plain);
      const lanes = new Map<string, Float64Array>();
      let asked = 0;
      const target = (count: number) => {
        asked += 1;
        const timestamps = new Float64Array(count).fill(Number.NaN);
        return { timestamps, column: (name: string) => {
          // Kept columns: those named "" or starting with a letter (others: fresh memory).
          if (!(name === "" || /^[a-z]/i.test(name))) return undefined;
          const lane = new Float64Array(count).fill(Number.NaN);
          lanes.set(name, lane);
          return lane;
        } };
      };
      const decoded = decodeWireEventsParts([bytes], target);
      bytes.fill(0xff);
      expectSameEvents(decoded, expected);
      expect(asked).toBe(expected.timestamps.length > 0 ? 1 : 0);
      // Every lane handed out went to exactly one doubles column (of the timestamps' length).
      for (const [name, lane] of lanes) {
        const owners = decoded.columns.filter((column) => column.values.case === "doubles" && column.values.values === lane);
        expect(owners.map((column) => column.name)).toEqual([name]);
      }
    }), { numRuns: 300 });
  });

  it("decodes into a target only when every byte read: a malformed insert reserves nothing", () => {
    const good = encodeWireEvents({ timestamps: Float64Array.of(1, 2), columns: [
      { name: "a", values: { case: "doubles", values: Float64Array.of(3, 4) } },
      { name: "a", values: { case: "doubles", values: Float64Array.of(5, 6) } },
      { name: "b", values: { case: "doubles", values: Float64Array.of(7) } }], ids: [] });
    let asked = 0;
    const lanes: Float64Array[] = [];
    const target = (count: number) => {
      asked += 1;
      return { timestamps: new Float64Array(count), column: () => {
        const lane = new Float64Array(count);
        lanes.push(lane);
        return lane;
      } };
    };
    const decoded = decodeWireEventsParts([good], target);
    // The first "a" in the target; the second "a" (refused later: twice) and "b" (1 value for 2) in fresh memory.
    expect(lanes).toHaveLength(1);
    expect(decoded.columns.map((column) => column.values.case === "doubles" && column.values.values === lanes[0]))
      .toEqual([true, false, false]);
    expect(decoded.columns.map((column) => (column.values.case === "doubles" ? Array.from(column.values.values) : [])))
      .toEqual([[3, 4], [5, 6], [7]]);
    expect(() => decodeWireEventsParts([good.subarray(0, good.length - 3)], target)).toThrowError(/events/);
    expect(asked).toBe(1);
  });

  it("writes the events in a given order (InsertCommand.order) as it writes them permuted, and refuses an order of the wrong length", () => {
    const commandWithOrder = fc.integer({ min: 0, max: 30 }).chain((count) => fc.record({
      timestamps: fc.array(fc.double(), { minLength: count, maxLength: count }),
      doubles: fc.array(fc.double(), { minLength: count, maxLength: count }),
      int64s: fc.array(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), { minLength: count, maxLength: count }),
      bools: fc.array(fc.boolean(), { minLength: count, maxLength: count }),
      strings: fc.array(text, { minLength: count, maxLength: count }),
      ids: fc.oneof(fc.constant([]), fc.array(text, { minLength: count, maxLength: count })),
      keys: fc.array(fc.double({ noNaN: true }), { minLength: count, maxLength: count }),
    }));
    fc.assert(fc.property(commandWithOrder, (input) => {
      const order = Uint32Array.from(input.keys.map((key, row) => ({ key, row })).sort((a, b) => a.key - b.key || a.row - b.row)
        .map(({ row }) => row));
      const eventsOf = (rows: readonly number[]): WireEvents => ({
        timestamps: Float64Array.from(rows, (row) => input.timestamps[row]!),
        columns: [
          { name: "d", values: { case: "doubles", values: Float64Array.from(rows, (row) => input.doubles[row]!) } },
          { name: "i", values: { case: "int64s", values: Float64Array.from(rows, (row) => input.int64s[row]!) } },
          { name: "b", values: { case: "bools", values: rows.map((row) => input.bools[row]!) } },
          { name: "s", values: { case: "strings", values: rows.map((row) => input.strings[row]!) } },
          { name: "none", values: { case: undefined } },
        ],
        ids: input.ids.length === 0 ? [] : rows.map((row) => input.ids[row]!),
      });
      const rows = input.timestamps.map((_, row) => row);
      const ordered: InsertCommand = { stream: "s", async: false, events: eventsOf(rows), order };
      const permuted: InsertCommand = { stream: "s", async: false, events: eventsOf(Array.from(order)) };
      expect(encodeInsertCommand(ordered)).toEqual(encodeInsertCommand(permuted));
      expect(insertCommandCodec.encodeAfter!(ordered, () => 3).subarray(3)).toEqual(encodeInsertCommand(permuted));
      expect(insertCommandCodec.toJson!(ordered)).toEqual(insertCommandCodec.toJson!(permuted));
      expect(() => encodeInsertCommand({ ...ordered, order: new Uint32Array(rows.length + 1) }))
        .toThrowError(/insert encode order: \d+ entries for \d+ events/);
    }), { numRuns: 300 });
  });

  it("writes exactly protobuf-es's bytes for the same message, and protobuf-es reads them back", () => {
    fc.assert(fc.property(requestOf(safeInt64, false), (request) => {
      const command: InsertCommand = { stream: request.stream, events: toWireEvents(request.events),
        async: request.async };
      const bytes = encodeInsertCommand(command);
      expect(bytes).toEqual(toBinary(InsertRequestSchema, request));
      expectSameEvents(toWireEvents(fromBinary(InsertRequestSchema, bytes).events), command.events);
      expectSameEvents(decodeInsertCommand(bytes).events, command.events);
      expect(insertRequestCodec.encode(request)).toEqual(bytes);
      expect(insertRequestCodec.decode(bytes)).toEqual(fromBinary(InsertRequestSchema, bytes));
      const eventsBytes = encodeWireEvents(command.events);
      expect(eventsBytes).toEqual(toBinary(EventsSchema, request.events!));
      expectSameEvents(decodeWireEvents(eventsBytes), command.events);
    }), { numRuns: 300 });
  });

  it("writes the same bytes into a caller's reused, not zeroed buffer (encodeInsertCommandInto)", () => {
    let pool = new Uint8Array(0);
    fc.assert(fc.property(requestOf(safeInt64, false), fc.integer({ min: 0, max: 64 }), (request, spare) => {
      const command: InsertCommand = { stream: request.stream, events: toWireEvents(request.events),
        async: request.async };
      const expected = encodeInsertCommand(command);
      let asked = -1;
      const bytes = encodeInsertCommandInto(command, (length) => {
        asked = length;
        if (pool.length < length + spare) pool = new Uint8Array(length + spare);
        pool.fill(0xa5); // what an earlier request left
        return pool;
      });
      expect(asked).toBe(expected.length);
      expect(bytes.buffer).toBe(pool.buffer);
      expect(bytes).toEqual(expected);
    }), { numRuns: 200 });
    const command: InsertCommand = { stream: "s", async: false, events: {
      timestamps: Float64Array.of(1, 2), columns: [], ids: [] } };
    expect(() => encodeInsertCommandInto(command, (length) => new Uint8Array(length - 1)))
      .toThrow(/a buffer of \d+ bytes for \d+/);
  });

  it("carries pre-encoded events as an unknown field that protobuf-es writes unchanged", () => {
    fc.assert(fc.property(requestOf(safeInt64, false), (request) => {
      const events = toWireEvents(request.events);
      const carrier = create(InsertRequestSchema, { stream: request.stream, async: request.async });
      carrier.$unknown = [{ no: 2, wireType: WireType.LengthDelimited, data: encodeEventsField(events) }];
      const decoded = fromBinary(InsertRequestSchema, toBinary(InsertRequestSchema, carrier));
      expect(decoded.stream).toBe(request.stream);
      expectSameEvents(toWireEvents(decoded.events), events);
    }), { numRuns: 100 });
  });

  it("reads unpacked repeated values, packed chunks and a repeated events field as protobuf merges them", () => {
    const writer = new BinaryWriter();
    writer.tag(2, WireType.LengthDelimited).fork()
      .tag(1, WireType.Bit64).double(1).tag(1, WireType.Bit64).double(-0)
      .tag(1, WireType.LengthDelimited).fork().double(3).double(Number.NaN).join()
      .tag(2, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string("size")
      .tag(3, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int64(-5n)
      .tag(1, WireType.LengthDelimited).fork().int64(7n).int64(2n ** 60n).join().join()
      .join().join();
    writer.tag(1, WireType.LengthDelimited).string("s");
    writer.tag(2, WireType.LengthDelimited).fork().tag(3, WireType.LengthDelimited).string("é").join();
    const bytes = writer.finish();
    const reference = fromBinary(InsertRequestSchema, bytes);
    const decoded = decodeInsertCommand(bytes);
    expectSameEvents(decoded.events, toWireEvents(reference.events));
    expectSameDoubles(decoded.events.timestamps, [1, -0, 3, Number.NaN]);
    expect(decoded.events.ids).toEqual(["é"]);
    const size = decoded.events.columns[0]!.values;
    expect(size.case === "int64s" ? [Array.from(size.values).slice(0, 2), size.beyondSafe] : undefined)
      .toEqual([[-5, 7], 2n ** 60n]);
  });

  it("decodes a node Buffer that is a view into a larger buffer (its slice is a view, not a copy)", () => {
    const command: InsertCommand = { stream: "s", async: false, events: {
      timestamps: Float64Array.of(10, 20, 30),
      columns: [{ name: "p", values: { case: "doubles", values: Float64Array.of(1.5, -2.25, 1e300) } }], ids: [] } };
    const encoded = encodeInsertCommand(command);
    for (const before of [0, 3, 8, 13]) {
      // The command in the middle of a pool of other bytes, as a transport's or HTTP body's Buffer chunk.
      const pool = Buffer.alloc(before + encoded.length + 21, 0x7f);
      pool.set(encoded, before);
      const view = pool.subarray(before, before + encoded.length);
      const decoded = decodeInsertCommand(view);
      expectSameDoubles(decoded.events.timestamps, [10, 20, 30]);
      const values = decoded.events.columns[0]!.values;
      expectSameDoubles(values.case === "doubles" ? values.values : Float64Array.of(), [1.5, -2.25, 1e300]);
      pool.fill(0); // the decoded values are copies
      expectSameDoubles(decoded.events.timestamps, [10, 20, 30]);
    }
  });

  it("refuses malformed binary with an error naming what is wrong", () => {
    const bytes = encodeInsertCommand({ stream: "s", async: false, events: {
      timestamps: Float64Array.of(1, 2), columns: [{ name: "p", values: { case: "doubles", values: Float64Array.of(5, 6) } }],
      ids: [] } });
    expect(() => decodeInsertCommand(bytes.subarray(0, bytes.length - 3))).toThrow(/runs past the end|premature end/);
    expect(() => decodeInsertCommand(Uint8Array.of(0x0a, 0x02, 0xff, 0xfe))).toThrow(/invalid UTF-8 in the string at bytes 2-4/);
    expect(() => decodeInsertCommand(Uint8Array.of(0x12, 0x03, 0x0a, 0x01, 0x00))).toThrow(/packed doubles of 1 bytes/);
    expect(() => decodeInsertCommand(Uint8Array.of(0x00))).toThrow(/illegal tag/);
  });

  it("keeps JSON (the gateway's typed form) on protobuf-es", () => {
    const command = insertCommandCodec.fromJson!({ stream: "s", events: { timestamps: [1, 2],
      columns: [{ name: "p", doubles: { values: [1.5, "NaN"] } }], ids: ["a", "b"] }, async: true });
    expectSameDoubles(command.events.timestamps, [1, 2]);
    expect(insertCommandCodec.toJson!(command)).toEqual({ stream: "s", async: true, events: {
      timestamps: [1, 2], columns: [{ name: "p", doubles: { values: [1.5, "NaN"] } }], ids: ["a", "b"] } });
    expect(() => insertCommandCodec.fromJson!({ stream: "s", events: { timestamp: [1] } })).toThrow(/timestamp/);
  });

  it("the apply's columnar path checks and converts exactly as the protobuf-es path does", () => {
    const fieldType = fc.constantFrom("double" as const, "int64" as const, "bool" as const, "string" as const);
    const list = (values: ArrayLike<unknown>): unknown[] => Array.from({ length: values.length }, (_, row) => values[row]);
    let converted = 0;
    const outcome = (convert: () => ColumnarEvents): unknown => {
      try {
        const events = convert();
        converted += 1;
        return { timestamps: list(events.timestamps), ids: [...events.ids],
          columns: Object.entries(events.columns).map(([name, values]) => [name, list(values)]) };
      } catch (error) {
        return `error: ${String(error)}`;
      }
    };
    fc.assert(fc.property(requestOf(int64, false), fc.array(fieldType, { maxLength: 5 }), fc.boolean(),
      (request, types, extraField) => {
        const names = [...new Set(request.events!.columns.map((column) => column.name))];
        if (extraField) names.push("extra field");
        const fields: FieldSpec[] = names.slice(0, types.length).map((name, index) =>
          ({ name, type: types[index]!, aggregated: false }));
        const bytes = toBinary(InsertRequestSchema, request);
        const decoded = insertRequestCodec.decode(bytes);
        const columnar = columnarFormOf(decoded);
        expect(columnar).toBeDefined();
        const viaWire = outcome(() => wireToColumnar(request.stream, columnar!.events, fields));
        const viaProto = outcome(() => toColumnar(request.stream, fromBinary(InsertRequestSchema, bytes).events, fields));
        expect(viaWire).toEqual(viaProto);
        // The lazily built protobuf-es events are protobuf-es's own.
        expect(decoded.events).toEqual(fromBinary(InsertRequestSchema, bytes).events);
      }), { numRuns: 500, seed: 20261124 });
    // Both outcomes were seen: conversions (counted twice each) and refusals.
    expect(converted).toBeGreaterThan(20);
    expect(converted).toBeLessThan(1000);
  });
});
