/**
 * The event store node's binary Insert route (examples/event-store/node/insert-route.ts):
 * Connect proto, gRPC and gRPC-Web inserts are decoded by hand into the
 * buffer's columnar form, JSON keeps the generic service. Against a real
 * node in this process: every form stores the same events (every field type,
 * client ids, dedup, unknown fields, a repeated events field, empty batches),
 * malformed bytes are InvalidArgument naming the field and the byte, an
 * oversized request is refused with a clear error.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeConfig } from "../../framework/server/node-config.js";
import { createSilentLogger } from "../../framework/transport/index.js";
import { EventStore } from "../../examples/event-store/client/index.js";
import type { EventStoreClient } from "../../examples/event-store/client/index.js";
import { insertRequestOf } from "../../examples/event-store/client/event-rows.js";
import { createInsertCall, insertRequestChunks } from "../../examples/event-store/client/insert-call.js";
import { encodeInsertCommand } from "../../examples/event-store/service/insert-wire-encode.js";
import {
  EventStoreService, EventsSchema, FieldType, InsertRequestSchema,
} from "../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import type { InsertRequest, QueryRangeResponse } from "../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import { startEventStoreNode } from "../../examples/event-store/node/event-store-node.js";
import { eventsOccurrences, insertRequestWireSchema } from "../../examples/event-store/node/insert-route.js";
import { toWireEvents } from "../../examples/event-store/service/insert-codec.js";
import { decodeWireEventsParts } from "../../examples/event-store/service/insert-wire.js";
import type { WireEvents } from "../../examples/event-store/service/insert-wire.js";
import type { EventStoreNode } from "../../examples/event-store/node/event-store-node.js";

type Service = Client<typeof EventStoreService>;

let node: EventStoreNode;
let directory: string;
let baseUrl: string;
let store: EventStoreClient;
const clients: Record<"proto" | "grpc" | "grpcWeb" | "json", Service> = {} as Record<"proto" | "grpc" | "grpcWeb" | "json", Service>;
/** Small proposals: the buffer refuses an insert above 64 KiB, the route a request above 192 KiB. */
const maxProposalBytes = 128 * 1024;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "es-binary-route-"));
  const config: NodeConfig = {
    nodeId: 1, listenHost: "127.0.0.1", listenPort: 0, peers: new Map(), dataDirectory: directory, clusterId: 1,
    groups: [1], stateMachine: "eventstore",
    host: { tickIntervalMs: 20, electionTicks: 10, heartbeatTicks: 1, maxProposalBytes }, transport: {},
    shutdownGraceMs: 1_000,
  };
  node = await startEventStoreNode(config, createSilentLogger());
  baseUrl = `http://127.0.0.1:${node.node.port}`;
  clients.proto = createClient(EventStoreService, createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }));
  clients.grpc = createClient(EventStoreService, createGrpcTransport({ baseUrl }));
  clients.grpcWeb = createClient(EventStoreService, createGrpcWebTransport({ baseUrl, httpVersion: "2" }));
  clients.json = createClient(EventStoreService, createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false }));
  store = await EventStore.connect([baseUrl], { deadlineMs: 60_000 });
  const deadline = performance.now() + 50_000;
  while (!node.node.host.isLeader(1)) {
    if (performance.now() > deadline) throw new Error("the node did not elect itself leader of group 1 within 50 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}, 60_000);

afterAll(async () => {
  store?.close();
  await node?.stop();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
}, 30_000);

/** Every field type, int64 as varints (what any protobuf client sends), strings with non-ASCII text. */
function allTypesRequest(stream: string, first: number, ids: string[]): InsertRequest {
  const timestamps = [first + 2, first, first + 1];
  return create(InsertRequestSchema, {
    stream,
    events: {
      timestamps,
      columns: [
        { name: "price", values: { case: "doubles", value: { values: [1.5, 0.25, -1e300] } } },
        { name: "size", values: { case: "int64s", value: { values: [-5n, 2n ** 52n, 7n] } } },
        { name: "buy", values: { case: "bools", value: { values: [true, false, true] } } },
        { name: "venue", values: { case: "strings", value: { values: ["Zürich", "", "東京"] } } },
      ],
      ids,
    },
  });
}

/** The stream's events as comparable rows. */
function rowsOf(response: QueryRangeResponse): unknown[] {
  const events = response.events ?? create(EventsSchema);
  return events.timestamps.map((timestamp, row) => [timestamp, events.ids[row] ?? "",
    ...events.columns.map((column) => {
      const value = column.values.value?.values[row];
      return typeof value === "bigint" ? Number(value) : value;
    })]);
}

async function createAllTypes(stream: string): Promise<void> {
  await clients.json.createStream({ stream, fields: [
    { name: "price", type: FieldType.DOUBLE, aggregated: true },
    { name: "size", type: FieldType.INT64, aggregated: true },
    { name: "buy", type: FieldType.BOOL },
    { name: "venue", type: FieldType.STRING },
  ] });
}

/** What the insert failed with: [code, message]; fails the test when it succeeded. */
async function failure(call: Promise<unknown>): Promise<[Code, string]> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return [connectError.code, connectError.rawMessage];
  }
  throw new Error("the insert succeeded");
}

/** Events as plain values (doubles compared with Object.is by toEqual: NaN equals NaN, -0 is not 0). */
function plainEvents(events: WireEvents): unknown {
  return { timestamps: Array.from(events.timestamps), ids: [...events.ids], columns: events.columns.map((column) =>
    [column.name, column.values.case, column.values.case === undefined ? [] : Array.from(column.values.values as ArrayLike<unknown>),
      column.values.case === "int64s" ? column.values.beyondSafe : undefined]) };
}

describe("the binary Insert route's reading of InsertRequest bytes", () => {
  it("reads whatever protobuf-es writes (unknown fields, events split in occurrences) as protobuf-es reads it", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 12 });
    const double = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, -0, Number.POSITIVE_INFINITY));
    const values = fc.oneof(
      fc.array(double, { maxLength: 12 }).map((list) => ({ case: "doubles" as const, value: { values: list } })),
      fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 12 }).map((list) => ({ case: "int64s" as const, value: { values: list } })),
      fc.array(fc.boolean(), { maxLength: 12 }).map((list) => ({ case: "bools" as const, value: { values: list } })),
      fc.array(text, { maxLength: 6 }).map((list) => ({ case: "strings" as const, value: { values: list } })),
      fc.constant({ case: undefined }));
    const unknown = fc.array(fc.record({ no: fc.integer({ min: 6, max: 3000 }), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) })
      .map(({ no, value }) => ({ no, wireType: WireType.Varint, data: new BinaryWriter().uint64(value).finish() })), { maxLength: 2 });
    let split = 0;
    fc.assert(fc.property(text, fc.array(double, { maxLength: 20 }), fc.array(fc.record({ name: text, values }), { maxLength: 4 }),
      fc.array(text, { maxLength: 5 }), fc.boolean(), unknown, fc.nat({ max: 25 }),
      (stream, timestamps, columns, ids, async, extra, cut) => {
        const events = create(EventsSchema, { timestamps, columns, ids });
        const request = create(InsertRequestSchema, { stream, events, async });
        if (extra.length > 0) request.$unknown = extra;
        let bytes = toBinary(InsertRequestSchema, request);
        if (cut < timestamps.length) {
          // The same events as two occurrences of field 2: the first timestamps, then the rest with everything else.
          split += 1;
          const head = toBinary(EventsSchema, create(EventsSchema, { timestamps: timestamps.slice(0, cut) }));
          const tail = toBinary(EventsSchema, create(EventsSchema, { timestamps: timestamps.slice(cut), columns, ids }));
          const writer = new BinaryWriter();
          writer.tag(2, WireType.LengthDelimited).bytes(head);
          writer.raw(toBinary(InsertRequestSchema, create(InsertRequestSchema, { stream, async })));
          writer.tag(2, WireType.LengthDelimited).bytes(tail);
          bytes = writer.finish();
        }
        const reference = fromBinary(InsertRequestSchema, bytes);
        const wire = fromBinary(insertRequestWireSchema, bytes);
        expect([wire.stream, wire.async]).toEqual([reference.stream, reference.async]);
        expect(plainEvents(decodeWireEventsParts(eventsOccurrences(wire)))).toEqual(plainEvents(toWireEvents(reference.events)));
      }), { numRuns: 300 });
    expect(split).toBeGreaterThan(0);
  });
});

describe("event store binary Insert route", () => {
  it("stores the same events through Connect proto, gRPC, gRPC-Web and JSON, every field type, ids deduplicated", async () => {
    const forms = ["proto", "grpc", "grpcWeb", "json"] as const;
    for (const form of forms) await createAllTypes(`all-${form}`);
    for (const [index, form] of forms.entries()) {
      const stream = `all-${form}`;
      const answer = await clients[form].insert(allTypesRequest(stream, 1_000, [`a${index}`, "", `c${index}`]));
      expect(answer.accepted).toBe(3);
      // The same client ids again (one new id): the two known ones are duplicates, in request order.
      const again = await clients[form].insert(allTypesRequest(stream, 2_000, [`a${index}`, "new", `c${index}`]));
      expect([again.accepted, again.duplicates, again.duplicateRows]).toEqual([1, 2, [0, 2]]);
    }
    for (const [index, form] of forms.entries()) {
      expect(rowsOf(await clients.json.queryRange({ stream: `all-${form}` }))).toEqual([
        [1_000, "", 0.25, 2 ** 52, false, ""],
        [1_001, `c${index}`, -1e300, 7, true, "東京"],
        [1_002, `a${index}`, 1.5, -5, true, "Zürich"],
        [2_000, "new", 0.25, 2 ** 52, false, ""],
      ]);
    }
  }, 60_000);

  it("reads a repeated events field merged, skips unknown fields, answers an empty batch", async () => {
    await createAllTypes("merged");
    const whole = toBinary(InsertRequestSchema, allTypesRequest("merged", 5_000, []));
    // The same request with its events split in two occurrences of field 2 and unknown fields around.
    const first = toBinary(EventsSchema, create(EventsSchema, { timestamps: [5_002, 5_000] }));
    const second = toBinary(EventsSchema, create(EventsSchema, {
      timestamps: [5_001], columns: allTypesRequest("merged", 5_000, []).events!.columns }));
    const split = create(InsertRequestSchema, { stream: "merged" });
    split.$unknown = [
      { no: 2, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(first).finish() },
      { no: 99, wireType: WireType.Varint, data: new BinaryWriter().uint64(12345n).finish() },
      { no: 2, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(second).finish() },
      { no: 100, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(Uint8Array.of(1, 2, 3)).finish() },
    ];
    expect(whole.length).toBeGreaterThan(0);
    expect((await clients.proto.insert(split)).accepted).toBe(3);
    // Empty batches: columns without values are accepted (0 events); no columns at all is refused by both forms alike.
    const noValues = create(InsertRequestSchema, { stream: "merged", events: { columns: [
      { name: "price", values: { case: "doubles", value: {} } }, { name: "size", values: { case: "int64s", value: {} } },
      { name: "buy", values: { case: "bools", value: {} } }, { name: "venue", values: { case: "strings", value: {} } }] } });
    expect((await clients.grpc.insert(noValues)).accepted).toBe(0);
    expect((await clients.json.insert(noValues)).accepted).toBe(0);
    const noEvents = create(InsertRequestSchema, { stream: "merged" });
    expect(await failure(clients.proto.insert(noEvents))).toEqual([Code.InvalidArgument, "insert into 'merged': no column for field 'price'"]);
    expect(await failure(clients.json.insert(noEvents))).toEqual(await failure(clients.proto.insert(noEvents)));
    await createAllTypes("merged-reference");
    expect((await clients.json.insert(allTypesRequest("merged-reference", 5_000, []))).accepted).toBe(3);
    const [merged, reference] = await Promise.all([clients.json.queryRange({ stream: "merged" }),
      clients.json.queryRange({ stream: "merged-reference" })]);
    expect(rowsOf(merged)).toEqual(rowsOf(reference));
    expect(rowsOf(merged)).toHaveLength(3);
  }, 60_000);

  it("takes the client library's hand-encoded batches and async inserts", async () => {
    await store.createStream("library", [{ name: "price", type: "double" }, { name: "size", type: "int64", aggregated: true }]);
    const timestamps = Array.from({ length: 500 }, (_, row) => 10_000 + row);
    const result = await store.insert("library", { timestamps, columns: {
      price: timestamps.map((t) => t / 4), size: timestamps.map((t) => t % 7) } });
    expect(result).toEqual({ accepted: 500, duplicates: 0 });
    const events = { timestamps: Float64Array.of(20_000), columns: [
      { name: "price", values: { case: "doubles" as const, values: Float64Array.of(0.5) } },
      { name: "size", values: { case: "doubles" as const, values: Float64Array.of(3) } }], ids: [] };
    expect((await clients.grpc.insert(insertRequestOf("library", events, true))).accepted).toBe(1);
    const deadline = performance.now() + 30_000;
    let count = 0n;
    while (count !== 501n && performance.now() < deadline) {
      count = (await clients.json.aggregate({ stream: "library" })).count;
      if (count !== 501n) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(count).toBe(501n);
    const sums = await clients.json.aggregate({ stream: "library" });
    expect(sums.fields.find((field) => field.name === "size")?.sum)
      .toBe(timestamps.reduce((sum, t) => sum + (t % 7), 0) + 3);
  }, 60_000);

  it("takes the client library's rows and columns of every field type, Float64Arrays or plain arrays", async () => {
    await store.createStream("library-rows", [{ name: "price", type: "double" }, { name: "size", type: "int64" },
      { name: "buy", type: "bool" }, { name: "venue", type: "string" }]);
    const rows = [
      { timestamp: 3, id: "r3", values: { price: 2.5, size: -4, buy: true, venue: "Zürich" } },
      { timestamp: 1, values: { price: 0.5, size: 9, buy: false, venue: "" } },
    ];
    expect(await store.insert("library-rows", rows, { exactlyOnce: false })).toEqual({ accepted: 2, duplicates: 0 });
    expect(await store.insert("library-rows", { timestamps: Float64Array.of(2, 4), ids: ["c2", ""], columns: {
      price: Float64Array.of(1.5, 3.5), size: [7, 8], buy: [true, false], venue: ["東京", "x"] } }, { exactlyOnce: false }))
      .toEqual({ accepted: 2, duplicates: 0 });
    expect(await store.query("library-rows")).toEqual([
      { timestamp: 1, values: { price: 0.5, size: 9, buy: false, venue: "" } },
      { timestamp: 2, id: "c2", values: { price: 1.5, size: 7, buy: true, venue: "東京" } },
      { timestamp: 3, id: "r3", values: { price: 2.5, size: -4, buy: true, venue: "Zürich" } },
      { timestamp: 4, values: { price: 3.5, size: 8, buy: false, venue: "x" } },
    ]);
  }, 60_000);

  it("refuses malformed bytes with InvalidArgument naming the field and the byte", async () => {
    await createAllTypes("malformed");
    const withEvents = (payload: Uint8Array): InsertRequest => {
      const request = create(InsertRequestSchema, { stream: "malformed" });
      request.$unknown = [{ no: 2, wireType: WireType.LengthDelimited, data: new BinaryWriter().bytes(payload).finish() }];
      return request;
    };
    // timestamps as 3 packed bytes (not a multiple of 8).
    expect(await failure(clients.proto.insert(withEvents(Uint8Array.of(0x0a, 0x03, 1, 2, 3))))).toEqual([Code.InvalidArgument,
      "insert into 'malformed': malformed InsertRequest.events.timestamps[0]: packed doubles of 3 bytes (not a multiple of 8) at byte 5"]);
    // columns[0] = { name: "p", doubles: { values: <length 9 past the end> } }.
    const column = Uint8Array.of(0x12, 0x07, 0x0a, 0x01, 0x70, 0x12, 0x02, 0x0a, 0x09);
    const [code, message] = await failure(clients.grpc.insert(withEvents(column)));
    expect(code).toBe(Code.InvalidArgument);
    expect(message).toMatch(/^insert into 'malformed': malformed InsertRequest\.events\.columns\[0\]\.doubles\.values\[0\]: length 9 at byte 9 runs past the end/);
    // An id with invalid UTF-8, after one good id.
    const ids = Uint8Array.of(0x1a, 0x01, 0x61, 0x1a, 0x02, 0xff, 0xfe);
    expect(await failure(clients.grpcWeb.insert(withEvents(ids)))).toEqual([Code.InvalidArgument,
      "insert into 'malformed': malformed InsertRequest.events.ids[1]: invalid UTF-8 in the string at bytes 5-7"]);
    // A wrong wire type for the events field itself: protobuf-es refuses the message.
    const varintEvents = create(InsertRequestSchema, { stream: "malformed" });
    varintEvents.$unknown = [{ no: 2, wireType: WireType.Varint, data: new BinaryWriter().uint32(7).finish() }];
    expect(await failure(clients.proto.insert(varintEvents))).toEqual([Code.InvalidArgument,
      "insert into 'malformed': malformed InsertRequest.events: wire type 0, expected 2 at byte 0"]);
    // Well-formed bytes, wrong shape: the same checks and words as JSON.
    const mismatch = allTypesRequest("malformed", 1, []);
    mismatch.events!.columns[1]!.values = { case: "bools", value: create(EventsSchema, { columns: [{ values: { case: "bools", value: { values: [true, true, true] } } }] }).columns[0]!.values.value as never };
    const binaryRefusal = await failure(clients.proto.insert(mismatch));
    expect(binaryRefusal).toEqual(await failure(clients.json.insert(mismatch)));
    expect(binaryRefusal).toEqual([Code.InvalidArgument, "insert into 'malformed': column 'size' (int64) holds bools"]);
    // A bad value (the engine's check): InvalidArgument through both forms, as the apply says it.
    const infinite = allTypesRequest("malformed", 1, []);
    infinite.events!.columns[0]!.values = { case: "doubles", value: create(EventsSchema, { columns: [{ values: { case: "doubles", value: { values: [1, Number.POSITIVE_INFINITY, 2] } } }] }).columns[0]!.values.value as never };
    const [infiniteCode, infiniteMessage] = await failure(clients.grpc.insert(infinite));
    expect([infiniteCode, infiniteMessage]).toEqual(await failure(clients.json.insert(infinite)));
    expect(infiniteCode).toBe(Code.InvalidArgument);
    expect(infiniteMessage).toMatch(/field 'price' has the number Infinity, expected a finite number/);
    expect((await clients.json.aggregate({ stream: "malformed" })).count).toBe(0n);
  }, 60_000);

  it("refuses an insert above the proposal limit (split it) and a request above the read limit", async () => {
    await store.createStream("big", [{ name: "price", type: "double" }]);
    const batch = (count: number) => ({ timestamps: Float64Array.from({ length: count }, (_, row) => row),
      columns: [{ name: "price", values: { case: "doubles" as const, values: new Float64Array(count) } }], ids: [] });
    // ~100 KB: within the route's read limit, above what one proposal of the buffer takes.
    const [code, message] = await failure(clients.proto.insert(insertRequestOf("big", batch(6_000), false)));
    expect(code).toBe(Code.InvalidArgument);
    expect(message).toMatch(/insert of about \d+ bytes into 'big', allowed ≤ 65536: split it$/);
    // ~320 KB: above the read limit (maxProposalBytes + 64 KiB).
    const [bigCode, bigMessage] = await failure(clients.grpc.insert(insertRequestOf("big", batch(20_000), false)));
    expect(bigCode).toBe(Code.ResourceExhausted);
    expect(bigMessage).toMatch(/message size \d+ is larger than configured readMaxBytes 196608/);
    // The client library does not take that for back-pressure: it fails at once, not at its deadline.
    const many = Array.from({ length: 20_000 }, (_, row) => row);
    const [libraryCode] = await failure(store.insert("big", { timestamps: many, columns: { price: many } }));
    expect(libraryCode).toBe(Code.ResourceExhausted);
    expect((await clients.json.aggregate({ stream: "big" })).count).toBe(0n);
  }, 60_000);
});

describe("the client's hand-posted Insert (insert-call.ts)", () => {
  const doubles = (values: number[]) => ({ case: "doubles" as const, values: Float64Array.from(values) });

  it("posts in pieces exactly the bytes encodeInsertCommand writes, the doubles as views of the caller's arrays", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 8 });
    const double = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, -0));
    const values = fc.oneof(
      fc.array(double, { maxLength: 40 }).map((list) => ({ case: "doubles" as const, values: Float64Array.from(list) })),
      fc.constant({ case: undefined }),
      fc.array(fc.boolean(), { maxLength: 5 }).map((list) => ({ case: "bools" as const, values: list })));
    let viewed = 0;
    fc.assert(fc.property(text, fc.array(double, { maxLength: 40 }), fc.array(fc.record({ name: text, values }), { maxLength: 9 }),
      fc.array(text, { maxLength: 6 }), fc.boolean(), (stream, timestamps, columns, ids, async) => {
        // Sometimes a column over a shared buffer at an offset, as a caller's subarray.
        const shared = new Float64Array(timestamps.length + 3);
        shared.set(timestamps, 3);
        const events = { timestamps: shared.subarray(3), columns, ids };
        const chunks = insertRequestChunks(stream, events, async);
        const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
        let at = 0;
        for (const chunk of chunks) {
          joined.set(chunk, at);
          at += chunk.byteLength;
        }
        expect(Array.from(joined)).toEqual(Array.from(encodeInsertCommand({ stream, events, async })));
        if (timestamps.length > 0 && !columns.some((column) => column.values.case === "bools")) {
          expect(chunks.some((chunk) => chunk.buffer === shared.buffer)).toBe(true);
          viewed += 1;
        }
      }), { numRuns: 500 });
    expect(viewed).toBeGreaterThan(0);
  });

  it("stores what it posts, sync and async, the same rows as a connect-es client's insert", async () => {
    await store.createStream("posted", [{ name: "price", type: "double" }, { name: "size", type: "int64" }]);
    await store.createStream("posted-reference", [{ name: "price", type: "double" }, { name: "size", type: "int64" }]);
    const call = createInsertCall(baseUrl);
    try {
      const events = { timestamps: Float64Array.of(3, 1, 2), columns: [{ name: "price", values: doubles([0.5, -2, 1e300]) },
        { name: "size", values: doubles([7, 8, -9]) }], ids: ["x", "", "z"] };
      expect(await call.insert("posted", events, { timeoutMs: 30_000 })).toMatchObject({ accepted: 3, duplicates: 0 });
      expect((await clients.proto.insert(insertRequestOf("posted-reference", events, false))).accepted).toBe(3);
      // Again: the ids known, in request order.
      expect(await call.insert("posted", events)).toMatchObject({ accepted: 1, duplicates: 2, duplicateRows: [0, 2] });
      expect((await clients.proto.insert(insertRequestOf("posted-reference", events, false))).accepted).toBe(1);
      const later = { timestamps: Float64Array.of(10), columns: [{ name: "price", values: doubles([4]) },
        { name: "size", values: doubles([5]) }], ids: [] };
      expect((await call.insert("posted", later, { async: true })).accepted).toBe(1);
      expect((await clients.proto.insert(insertRequestOf("posted-reference", later, true))).accepted).toBe(1);
      const deadline = performance.now() + 30_000;
      let count = 0n;
      while (count !== 5n && performance.now() < deadline) {
        count = (await clients.json.aggregate({ stream: "posted" })).count;
        if (count !== 5n) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(count).toBe(5n);
      const [posted, reference] = await Promise.all([clients.json.queryRange({ stream: "posted" }),
        clients.json.queryRange({ stream: "posted-reference" })]);
      expect(rowsOf(posted)).toEqual(rowsOf(reference));
      expect(rowsOf(posted)).toEqual([[1, "", -2, 8], [1, "", -2, 8], [2, "z", 1e300, -9], [3, "x", 0.5, 7], [10, "", 4, 5]]);
    } finally {
      call.close();
    }
  }, 60_000);

  it("stores many concurrent inserts of several HTTP/2 frames each exactly (their bodies joined into reused memory)", async () => {
    await store.createStream("pooled", [{ name: "price", type: "double", aggregated: true }, { name: "size", type: "int64", aggregated: true }]);
    const call = createInsertCall(baseUrl);
    const rows = 1500; // ~36 KB a request: more than two 16 KiB DATA frames, so the route joins chunks
    let expectedPrice = 0;
    let expectedSize = 0;
    try {
      // Rounds of concurrent inserts: each round's bodies reuse the memory the previous round's released.
      for (let round = 0; round < 3; round++) {
        await Promise.all(Array.from({ length: 12 }, async (_, index) => {
          const id = round * 12 + index + 1;
          const timestamps = Float64Array.from({ length: rows }, (_, row) => id * 1e6 + row);
          const events = { timestamps, columns: [{ name: "price", values: doubles(Array.from({ length: rows }, () => id)) },
            { name: "size", values: doubles(Array.from({ length: rows }, () => id * id)) }], ids: [] };
          expectedPrice += rows * id;
          expectedSize += rows * id * id;
          const accepted = index % 3 === 0 ? (await clients.grpc.insert(insertRequestOf("pooled", events, false))).accepted
            : index % 3 === 1 ? (await clients.proto.insert(insertRequestOf("pooled", events, false))).accepted
            : (await call.insert("pooled", events, { timeoutMs: 30_000 })).accepted;
          expect(accepted).toBe(rows);
        }));
      }
      const aggregate = await clients.json.aggregate({ stream: "pooled" });
      expect(aggregate.count).toBe(BigInt(36 * rows));
      expect(aggregate.fields.find((field) => field.name === "price")?.sum).toBe(expectedPrice);
      expect(aggregate.fields.find((field) => field.name === "size")?.sum).toBe(expectedSize);
    } finally {
      call.close();
    }
  }, 60_000);

  it("throws the server's refusals as ConnectErrors with their codes and messages, and a canceled call as Canceled", async () => {
    await store.createStream("posted-refused", [{ name: "price", type: "double" }]);
    const call = createInsertCall(baseUrl);
    try {
      const batch = (count: number) => ({ timestamps: Float64Array.from({ length: count }, (_, row) => row),
        columns: [{ name: "price", values: doubles(Array.from({ length: count }, () => 1)) }], ids: [] });
      expect(await failure(call.insert("posted-refused", { ...batch(2), columns: [{ name: "price", values: doubles([1]) }] })))
        .toEqual([Code.InvalidArgument, "insert into 'posted-refused': column 'price' has 1 values, expected 2 (one per timestamp)"]);
      expect(await failure(call.insert("no-such-stream", batch(1)))).toEqual(await failure(clients.proto.insert(
        insertRequestOf("no-such-stream", batch(1), false))));
      const [splitCode, splitMessage] = await failure(call.insert("posted-refused", batch(6_000)));
      expect(splitCode).toBe(Code.InvalidArgument);
      expect(splitMessage).toMatch(/insert of about \d+ bytes into 'posted-refused', allowed ≤ 65536: split it$/);
      const [bigCode, bigMessage] = await failure(call.insert("posted-refused", batch(20_000)));
      expect(bigCode).toBe(Code.ResourceExhausted);
      expect(bigMessage).toMatch(/message size \d+ is larger than configured readMaxBytes 196608/);
      const aborted = new AbortController();
      aborted.abort();
      expect((await failure(call.insert("posted-refused", batch(1), { signal: aborted.signal })))[0]).toBe(Code.Canceled);
      // A header name node refuses: InvalidArgument, nothing sent (node drops that connection; the next call opens one).
      expect((await failure(call.insert("posted-refused", batch(1), { headers: { "x bad": "v" } })))[0]).toBe(Code.InvalidArgument);
      // The connection still serves after all of that.
      expect((await call.insert("posted-refused", batch(3))).accepted).toBe(3);
      expect((await clients.json.aggregate({ stream: "posted-refused" })).count).toBe(3n);
    } finally {
      call.close();
    }
  }, 60_000);

  it("answers Unavailable for a node that is not there", async () => {
    const call = createInsertCall("http://127.0.0.1:1");
    try {
      const [code] = await failure(call.insert("posted", { timestamps: Float64Array.of(1), columns: [], ids: [] }));
      expect(code).toBe(Code.Unavailable);
    } finally {
      call.close();
    }
  }, 60_000);
});
