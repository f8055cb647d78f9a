import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  buildCommand, buildQuery, readCommandResult, readQueryResult, stampEnvelopeBatch,
} from "../../../framework/statemachine/index.js";
import { createMemoryFileSystem, type MemoryFileSystem } from "../engine/index.js";
import {
  CreateStreamRequestSchema, FieldType, InsertRequestSchema, type Events,
} from "../gen/eventstore/v1/eventstore_pb.js";
import {
  Aggregate, CreateStream, Insert, ListStreams, QueryRange, StreamInfo,
} from "../service/descriptors.js";
import { createEventStoreMachine } from "../service/event-store-machine.js";

const createTicks = create(CreateStreamRequestSchema, {
  stream: "ticks",
  fields: [
    { name: "price", type: FieldType.DOUBLE, aggregated: true },
    { name: "venue", type: FieldType.STRING },
  ],
});

function events(timestamps: number[], prices: number[], ids: string[] = []): Events {
  return {
    $typeName: "eventstore.v1.Events",
    timestamps,
    columns: [
      { $typeName: "eventstore.v1.Column", name: "price", values: { case: "doubles", value: { $typeName: "eventstore.v1.DoubleValues", values: prices } } },
      { $typeName: "eventstore.v1.Column", name: "venue", values: { case: "strings", value: { $typeName: "eventstore.v1.StringValues", values: prices.map(() => "X") } } },
    ],
    ids,
  };
}

/** The raft log as the host keeps it: durable before apply, replayed above the machine's index at open. */
type Log = { index: number; term: number; data: Uint8Array }[];

async function openMachine(fileSystem: MemoryFileSystem, log: Log = []) {
  const { machine } = createEventStoreMachine({ partitionId: 1, fileSystem, directory: "/p1", blockBytes: 4096 });
  const applied = await machine.open();
  const replay = log.filter((entry) => entry.index > applied);
  if (replay.length > 0) await machine.apply(replay);
  let index = log.length;
  const command = async <Req, Res>(descriptor: Parameters<typeof buildCommand<Req, Res>>[0], request: Req) => {
    index += 1;
    const entry = { index, term: 1, data: stampEnvelopeBatch(buildCommand(descriptor, request, undefined), 1000 + index) };
    log.push(entry);
    const [result] = await machine.apply([entry]);
    return readCommandResult(descriptor, result!);
  };
  const query = async <Req, Res>(descriptor: Parameters<typeof buildQuery<Req, Res>>[0], request: Req) =>
    readQueryResult(descriptor, await machine.query(buildQuery(descriptor, request)));
  return { machine, applied, command, query, log };
}

describe("event store state machine", () => {
  it("creates, inserts with id deduplication, queries, and keeps data, index and dedup across a crash", async () => {
    let fileSystem = createMemoryFileSystem();
    let node = await openMachine(fileSystem);
    expect((await node.command(CreateStream, createTicks)).created).toBe(true);
    expect((await node.command(CreateStream, createTicks)).created).toBe(false);
    const first = await node.command(Insert, create(InsertRequestSchema, {
      stream: "ticks", events: events([30, 10, 20], [3, 1, 2], ["a", "b", "c"]) }));
    expect([first.accepted, first.duplicates]).toEqual([3, 0]);
    const again = await node.command(Insert, create(InsertRequestSchema, {
      stream: "ticks", events: events([30, 40, 40], [3, 4, 5], ["a", "d", "d"]) }));
    expect([again.accepted, again.duplicates]).toEqual([1, 2]);
    const aggregate = await node.query(Aggregate, { $typeName: "eventstore.v1.AggregateRequest", stream: "ticks" });
    expect(aggregate.count).toBe(4n);
    expect(aggregate.fields.find((field) => field.name === "price")?.sum).toBe(10);
    const page = await node.query(QueryRange, { $typeName: "eventstore.v1.QueryRangeRequest", stream: "ticks", descending: false, limit: 0 });
    expect(page.events?.timestamps).toEqual([10, 20, 30, 40]);
    expect(page.events?.ids).toEqual(["b", "c", "a", "d"]);

    // The store does not fdatasync its WAL (the raft log is the durable record): after a crash
    // it reopens at some index ≤ 4 and the log replays the rest.
    fileSystem = fileSystem.crash();
    node = await openMachine(fileSystem, node.log);
    expect(node.applied).toBeLessThanOrEqual(4);
    expect((await node.query(StreamInfo, { $typeName: "eventstore.v1.StreamInfoRequest", stream: "ticks" })).appliedIndex).toBe(4n);
    const retried = await node.command(Insert, create(InsertRequestSchema, {
      stream: "ticks", events: events([40], [4], ["d"]) }));
    expect(retried.duplicates).toBe(1);
    const info = await node.query(StreamInfo, { $typeName: "eventstore.v1.StreamInfoRequest", stream: "ticks" });
    expect(info.eventCount).toBe(4n);
    expect(info.fields.map((field) => field.name)).toEqual(["price", "venue"]);
  });

  it("refuses bad input with a named error and moves on", async () => {
    const node = await openMachine(createMemoryFileSystem());
    await node.command(CreateStream, createTicks);
    await expect(node.command(Insert, create(InsertRequestSchema, { stream: "nope", events: events([1], [1]) })))
      .rejects.toThrow(/no stream 'nope'/);
    await expect(node.command(Insert, create(InsertRequestSchema, { stream: "ticks", events: events([1, 2], [1]) })))
      .rejects.toThrow(/column 'price' has 1 values, expected 2/);
    await expect(node.command(Insert, create(InsertRequestSchema, { stream: "ticks", events: events([1], [Number.NaN]) })))
      .rejects.toThrow(/NaN/);
    await expect(node.command(CreateStream, { ...createTicks, fields: [] })).rejects.toThrow(/already_exists|exists/);
    await expect(node.command(CreateStream, { ...createTicks, stream: "_x" })).rejects.toThrow(/reserved/);
    const ok = await node.command(Insert, create(InsertRequestSchema, { stream: "ticks", events: events([5], [1]) }));
    expect(ok.accepted).toBe(1);
  });

  it("lists the partition's user streams by name, a page at a time, with what StreamInfo tells", async () => {
    const node = await openMachine(createMemoryFileSystem());
    const list = (request: { partitionId?: number; after?: string; limit?: number }) => node.query(ListStreams, {
      $typeName: "eventstore.v1.ListStreamsRequest", partitionId: 0, after: "", limit: 0, ...request });
    expect((await list({})).streams).toEqual([]);
    for (const stream of ["c", "a", "b"]) await node.command(CreateStream, { ...createTicks, stream });
    await node.command(Insert, create(InsertRequestSchema, { stream: "b", events: events([7, 9], [1, 2]) }));
    const all = await list({});
    // The hidden settings stream ('_…') is not listed.
    expect(all.streams.map((info) => info.stream)).toEqual(["a", "b", "c"]);
    expect(all.nextAfter).toBe("");
    const b = all.streams[1]!;
    expect([b.eventCount, b.minTimestamp, b.maxTimestamp, b.appliedIndex]).toEqual([2n, 7n, 9n, 4n]);
    expect(b).toEqual(await node.query(StreamInfo, { $typeName: "eventstore.v1.StreamInfoRequest", stream: "b" }));
    const first = await list({ limit: 2 });
    expect([first.streams.map((info) => info.stream), first.nextAfter]).toEqual([["a", "b"], "b"]);
    const rest = await list({ limit: 2, after: first.nextAfter });
    expect([rest.streams.map((info) => info.stream), rest.nextAfter]).toEqual([["c"], ""]);
    expect((await list({ partitionId: 1 })).streams).toHaveLength(3);
    await expect(list({ partitionId: 2 })).rejects.toThrow(/partition_id 2 asked of partition 1/);
    await expect(list({ limit: 10_001 })).rejects.toThrow(/limit 10001: at most 10000/);
  });
});
