import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createStaticClusterManager, createUniformStaticTable } from "../../../framework/cluster/index.js";
import { EventStore, type EventStoreClient } from "../../../examples/event-store/client/index.js";
import { EventStoreService } from "../../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import { startLocalCluster, type LocalCluster } from "../../../examples/event-store/start/local-cluster.js";
import { createMarketData } from "../../../examples/event-store/start/market-data.js";
import { createInsertCall, insertRequestChunks } from "../../../examples/event-store/client/insert-call.js";
import { OverloadedSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import { insertStreamHeader } from "../../../examples/event-store/service/insert-wire.js";
import type { WireEvents } from "../../../examples/event-store/service/insert-wire.js";
import * as http2 from "node:http2";
import { curlJson, groupLeaders, leaderOf, residentBytes, run, temporaryDirectory } from "./harness.js";

/**
 * The event store service on three real node processes (issue #8): curl and
 * buf curl on any node; sync inserts under a leader SIGKILL (every
 * acknowledged event present exactly once); async inserts (only the
 * documented window may be lost); overload (back-pressure, no election,
 * bounded memory, nothing acknowledged lost).
 */
let cluster: LocalCluster;
let store: EventStoreClient;
let directory: string;
const fields = [
  { name: "price", type: "double" as const, aggregated: true },
  { name: "size", type: "int64" as const, aggregated: true },
];
const partitionOf = (() => {
  const manager = createStaticClusterManager(createUniformStaticTable({
    nodes: new Map([[1, "127.0.0.1:1"], [2, "127.0.0.1:2"], [3, "127.0.0.1:3"]]), partitionIds: [1, 2, 3, 4], stateMachineType: "eventstore" }));
  return async (stream: string) => (await manager.partitionForKey("eventstore", stream)).partitionId;
})();
const PRODUCERS = Number(process.env["OVERLOAD_PRODUCERS"] ?? 8);
const BATCH = Number(process.env["OVERLOAD_BATCH"] ?? 2000);
const IN_FLIGHT = Number(process.env["OVERLOAD_IN_FLIGHT"] ?? 12);
const OVERLOAD_SECONDS = Number(process.env["OVERLOAD_SECONDS"] ?? 60);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds (checked every 50 ms); fails naming `what` after `deadlineMs`. */
async function waitUntil(condition: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  const deadline = performance.now() + deadlineMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await sleep(50);
  }
}
const columns = (timestamps: number[]) => ({ timestamps, columns: { price: timestamps.map((t) => (t % 1000) / 10), size: timestamps.map(() => 1) } });

beforeAll(async () => {
  directory = temporaryDirectory();
  // No leader spreading by the cluster manager's controller: its transfers right after start
  // dropped in-flight proposals (a curl Insert answered `aborted` in one run at load 20).
  cluster = await startLocalCluster({ dataDirectory: directory, groups: "1-4", flags: ["--leader-slack", "1000"] });
  // Generous call deadline (retries included): a query after the failover took longer than the
  // default 15 s once at load 20-30 (canceled by the client's deadline).
  store = await EventStore.connect(cluster.urls, { deadlineMs: 60_000 });
  for (const groupId of [1, 2, 3, 4]) await leaderOf(cluster, groupId); // every partition has elected
}, 90_000);

// The nodes' data and logs are kept only when a test failed (their path is printed): runs of
// this file had left 105 directories of 11-266 MB each in the temp directory.
let anyFailed = false;
afterEach((context) => {
  if (context.task.result?.state === "fail") anyFailed = true;
});

afterAll(async () => {
  store?.close();
  await cluster?.stop();
  if (directory === undefined) return;
  if (anyFailed) console.log(`event store service test: node data and logs kept in ${directory}`);
  else rmSync(directory, { recursive: true, force: true });
}, 30_000);

/** Campaigns (elections started, host log "campaign") any node logged at or after `sinceMs`. */
function campaignsSince(sinceMs: number): string[] {
  const found: string[] = [];
  for (const node of cluster.nodes) {
    for (const line of readFileSync(join(directory, `n${node.nodeId}.log`), "utf8").split("\n")) {
      if (!line.includes('"msg":"campaign"')) continue;
      const entry = JSON.parse(line) as { time: number; group: number; term: number };
      if (entry.time >= sinceMs) found.push(`n${node.nodeId} group ${entry.group} term ${entry.term}`);
    }
  }
  return found;
}

/** `call`, again after DEADLINE_EXCEEDED (a node busy with a backlog), at most `attempts` times. */
async function retryDeadline<Result>(call: () => Promise<Result>, attempts: number): Promise<Result> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= attempts || ConnectError.from(error).code !== Code.DeadlineExceeded) throw error;
    }
  }
}

/** Every id of a stream with its number of occurrences. */
async function idCounts(stream: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const row of await store.query(stream, { limit: 1_000_000 })) counts.set(row.id ?? "", (counts.get(row.id ?? "") ?? 0) + 1);
  return counts;
}

/** One Insert in the Connect unary proto form with the given headers (no client-side deadline): status and body. */
async function rawInsert(url: string, stream: string, events: WireEvents,
  headers: Record<string, string>): Promise<{ readonly status: number; readonly body: string }> {
  const session = http2.connect(url);
  try {
    return await new Promise((resolve, reject) => {
      session.on("error", reject);
      const request = session.request({ ":method": "POST", ":path": "/eventstore.v1.EventStoreService/Insert",
        "content-type": "application/proto", "connect-protocol-version": "1", ...headers });
      let status = 0;
      const chunks: Buffer[] = [];
      request.on("response", (answer) => { status = Number(answer[":status"]); });
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => resolve({ status, body: Buffer.concat(chunks).toString("utf8") }));
      request.on("error", reject);
      request.end(Buffer.concat(insertRequestChunks(stream, events, false)));
    });
  } finally {
    session.close();
  }
}

describe("event store service, 3 processes", () => {
  it("answers curl (Connect JSON over HTTP/1.1 and h2c) and buf curl (gRPC, gRPC-Web) on any node", async () => {
    const [one, two, three] = cluster.urls;
    const service = "eventstore.v1.EventStoreService";
    expect(await curlJson(`${one}/${service}/CreateStream`, { stream: "curl", fields: [{ name: "price", type: "FIELD_TYPE_DOUBLE", aggregated: true }] }, "--http1.1"))
      .toEqual({ created: true });
    expect(await curlJson(`${two}/${service}/Insert`, { stream: "curl", events: { timestamps: [1, 2, 3],
      columns: [{ name: "price", doubles: { values: [1.5, 2.5, 3] } }], ids: ["a", "b", "c"] } }, "--http2-prior-knowledge"))
      .toEqual({ accepted: 3 });
    expect(await curlJson(`${three}/${service}/Aggregate`, { stream: "curl" }, "--http1.1"))
      .toMatchObject({ count: "3", fields: [{ name: "price", sum: 7, max: 3 }] });
    for (const [protocol, flags] of [["grpc", ["--http2-prior-knowledge"]], ["grpcweb", []]] as const) {
      const { stdout } = await run("npx", ["buf", "curl", "--schema", "proto", "--protocol", protocol, ...flags,
        "-d", '{"stream":"curl"}', `${three}/${service}/StreamInfo`], { cwd: process.cwd() });
      expect(JSON.parse(stdout)).toMatchObject({ stream: "curl", eventCount: "3" });
    }
    // Binary inserts (gRPC: the node's hand-decoded route; Connect proto: its raw unary route) on every
    // node: the followers forward the events' bytes to the leader as they came.
    for (const [index, url] of cluster.urls.entries()) {
      const grpc = createClient(EventStoreService, createGrpcTransport({ baseUrl: url }));
      expect((await grpc.insert({ stream: "curl", events: { timestamps: [100 + index],
        columns: [{ name: "price", values: { case: "doubles", value: { values: [1] } } }] } }, { timeoutMs: 30_000 })).accepted).toBe(1);
      const proto = createClient(EventStoreService, createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }));
      expect((await proto.insert({ stream: "curl", events: { timestamps: [200 + index],
        columns: [{ name: "price", values: { case: "doubles", value: { values: [1] } } }] } }, { timeoutMs: 30_000 })).accepted).toBe(1);
    }
    expect(await curlJson(`${one}/${service}/Aggregate`, { stream: "curl" }, "--http1.1"))
      .toMatchObject({ count: "9", fields: [{ name: "price", sum: 13, max: 3 }] });
    const bad = await run("curl", ["-s", "--http1.1", "-H", "content-type: application/json", "-d",
      JSON.stringify({ stream: "curl", events: { timestamps: [4], columns: [{ name: "price", doubles: { values: [] } }] } }),
      `${one}/${service}/Insert`]);
    expect(JSON.parse(bad.stdout)).toMatchObject({ code: "invalid_argument", message: expect.stringContaining("column 'price' has 0 values, expected 1") });
    // ListStreams on any node: every partition's streams, each from its leader.
    const curlPartition = await partitionOf("curl");
    const listed = await curlJson(`${two}/${service}/ListStreams`, {}, "--http1.1") as { streams: { stream: string }[] };
    expect(listed.streams.find((entry) => entry.stream === "curl")).toMatchObject({ eventCount: "9", fields: [{ name: "price" }] });
    const elsewhere = [1, 2, 3, 4].find((partitionId) => partitionId !== curlPartition)!;
    const other = await curlJson(`${three}/${service}/ListStreams`, { partitionId: elsewhere }, "--http1.1") as { streams?: { stream: string }[] };
    expect((other.streams ?? []).map((entry) => entry.stream)).not.toContain("curl");
    expect(await curlJson(`${one}/${service}/ListStreams`, { partitionId: 9 }, "--http1.1"))
      .toMatchObject({ code: "invalid_argument", message: expect.stringContaining("partition_id 9") });
    // The CLI: an NDJSON file with a progress bar, then an aggregate.
    const file = join(directory, "events.ndjson");
    writeFileSync(file, [10, 11, 12].map((t) => JSON.stringify({ timestamp: t, price: t })).join("\n"));
    const cli = ["tsx", "examples/event-store/cli/event-store-cli.ts", "--nodes", cluster.urls.join(",")];
    expect((await run("npx", [...cli, "insert", "curl", file])).stdout).toContain('"inserted":3');
    expect(JSON.parse((await run("npx", [...cli, "aggregate", "curl"])).stdout)).toMatchObject({ count: 12 });
    // Two CLI and two buf processes: ~20 s each at load average 20 (measured), hence the long limit.
  }, 150_000);

  it("the leader honours the caller's deadline: an insert whose deadline it cannot meet is refused Overloaded and never stored", async () => {
    const stream = "deadline";
    await store.createStream(stream, [{ name: "price", type: "double", aggregated: true }]);
    // One insert first: the stream's buffer exists on its leader (what a refusal from the headers looks up).
    expect((await store.insert(stream, { timestamps: [1], columns: { price: [1] } })).accepted).toBe(1);
    const leader = await leaderOf(cluster, await partitionOf(stream));
    const url = cluster.nodes.find((node) => node.nodeId === leader)!.url;
    const events = (timestamp: number): WireEvents => ({ timestamps: new Float64Array([timestamp, timestamp + 1]),
      columns: [{ name: "price", values: { case: "doubles", values: new Float64Array([2, 3]) } }], ids: [] } as WireEvents);
    // 40 ms left: less than the 50 ms the leader keeps for its answer. Named in a header (refused before
    // the body is read) and not (refused by the buffer after decoding): the same refusal, nothing written.
    for (const [index, named] of [true, false].entries()) {
      const answer = await rawInsert(url, stream, events(10 + 10 * index),
        { "connect-timeout-ms": "40", ...(named ? { [insertStreamHeader]: stream } : {}) });
      expect(answer.status).toBe(429);
      expect(JSON.parse(answer.body)).toMatchObject({ code: "resource_exhausted",
        message: expect.stringMatching(/the call's deadline leaves \d+ ms \(50 ms are kept for the answer\): nothing of it written/) });
    }
    // A deadline it can meet: stored.
    const stored = await rawInsert(url, stream, events(100), { "connect-timeout-ms": "30000", [insertStreamHeader]: stream });
    expect(stored.status).toBe(200);
    const rows = await store.query(stream, { limit: 100 });
    expect(rows.map((row) => row.timestamp)).toEqual([1, 100, 101]);
  }, 60_000);

  it("sync inserts under a leader SIGKILL: every acknowledged event is present exactly once", async () => {
    const stream = "trades-sync";
    await store.createStream(stream, fields);
    const acknowledged: string[] = [];
    let stop = false;
    let failures = 0;
    const producer = async (producerId: number) => {
      for (let sequence = 0; !stop; sequence++) {
        const ids = Array.from({ length: 200 }, (_, row) => `p${producerId}-${sequence}-${row}`);
        // Event time near now: ids dedupe within a window of event time (60 s by default).
        const base = Date.now() * 1000 + producerId * 200;
        try {
          await store.insert(stream, { ...columns(ids.map((_, row) => base + row)), ids });
          acknowledged.push(...ids);
        } catch {
          failures += 1; // outcome unknown: may be present, at most once
        }
      }
    };
    const producers = [1, 2, 3, 4].map(producer);
    // Progress first (not a fixed 1.5 s: at load 20 no insert was acknowledged that soon once).
    await waitUntil(() => acknowledged.length > 0, "a first acknowledged sync insert");
    await sleep(500);
    const leader = await leaderOf(cluster, await partitionOf(stream));
    const before = acknowledged.length;
    await cluster.kill(leader, "SIGKILL");
    // The producers go on with the new leader (waited for, not a fixed 3 s).
    await waitUntil(() => acknowledged.length > before, "a sync insert acknowledged by the new leader");
    await sleep(1000);
    const duringFailover = acknowledged.length;
    await cluster.restart(leader);
    await sleep(1000);
    stop = true;
    await Promise.all(producers);
    expect(before).toBeGreaterThan(0);
    expect(duringFailover).toBeGreaterThan(before); // the producers went on with the new leader
    const counts = await idCounts(stream);
    for (const id of acknowledged) expect(counts.get(id), id).toBe(1);
    for (const [id, count] of counts) expect(count, id).toBe(1);
    expect(failures).toBeLessThan(8);
  }, 120_000);

  it("async inserts: only events acknowledged within the loss window before a leader SIGKILL may be missing", async () => {
    const stream = "trades-async";
    await store.createStream(stream, fields, { flushDelayMs: 5 });
    const acknowledged: { ids: string[]; at: number }[] = [];
    let stop = false;
    const producer = (async () => {
      for (let sequence = 0; !stop; sequence++) {
        const ids = Array.from({ length: 100 }, (_, row) => `a-${sequence}-${row}`);
        try {
          await store.insert(stream, { ...columns(ids.map((_, row) => sequence * 1000 + row)), ids }, { async: true });
          acknowledged.push({ ids, at: performance.now() });
        } catch { /* not acknowledged */ }
        await sleep(10);
      }
    })();
    await waitUntil(() => acknowledged.length > 0, "a first acknowledged async insert");
    // Acknowledged more than the 1 s window before the kill: these must survive it.
    await sleep(1500);
    const leader = await leaderOf(cluster, await partitionOf(stream));
    const killedAt = performance.now();
    await cluster.kill(leader, "SIGKILL");
    await sleep(2500);
    stop = true;
    await producer;
    await cluster.restart(leader);
    const counts = await idCounts(stream);
    // The window: the flush delay plus the time to commit a flush (generous: 1 s).
    const safe = acknowledged.filter((batch) => batch.at < killedAt - 1000).flatMap((batch) => batch.ids);
    expect(safe.length).toBeGreaterThan(0);
    for (const id of safe) expect(counts.get(id), id).toBe(1);
    for (const [id, count] of counts) expect(count, id).toBe(1);
  }, 60_000);

  // Opt-in (EVENTSTORE_OVERLOAD=1; OVERLOAD_SECONDS, OVERLOAD_PRODUCERS, OVERLOAD_BATCH and
  // OVERLOAD_IN_FLIGHT tune the load). Each producer keeps OVERLOAD_IN_FLIGHT sync inserts in
  // flight, so the offer (8 × 12 × 2000 = 192,000 events outstanding) exceeds what the stream
  // may hold pending and waiting (2 × 65,536) whatever the cluster's speed: back-pressure must
  // answer Overloaded. Closed-loop producers with one insert each never reached the limit.
  it.skipIf(process.env["EVENTSTORE_OVERLOAD"] !== "1")("overload: producers offering far more than the cluster sustains get back-pressure; no election, bounded memory, nothing acknowledged lost", async () => {
    const stream = "load";
    await store.createStream(stream, [...fields, { name: "symbol", type: "string" as const }],
      { flushEvents: 16_384, maxPendingEvents: 65_536 });
    const partition = await partitionOf(stream);
    const leader = await leaderOf(cluster, partition);
    const url = cluster.nodes.find((node) => node.nodeId === leader)!.url;
    // The event store's own bounded client (insert-call.ts), one connection shared by every producer as an
    // application's would be: at most ~16 MiB of inserts unanswered on it and ~16 MiB waiting; beyond, a call
    // is refused unsent (ResourceExhausted with an Overloaded detail, "not sent"), a known outcome. Through
    // connect-es none of those bounds applied (session 12): only the stream's own waiting room bounded it.
    const client = createInsertCall(url);
    // Every group elected on every node before the load: the cluster's meta group, started alongside,
    // was seen still in its first election here (leader 0, term 1) and campaigned for term 2 during
    // the load - its first election, not one the load caused, yet indistinguishable in the host log.
    let termsBefore: Map<number, { leader: number; term: number }>[] = [];
    const deadline = performance.now() + 60_000;
    for (;;) {
      termsBefore = await Promise.all(cluster.urls.map(groupLeaders));
      if (termsBefore.every((groups) => [...groups.values()].every((group) => group.leader !== 0))) break;
      if (performance.now() > deadline) throw new Error(`not every group has a leader within 60 s: ${JSON.stringify(termsBefore.map((m) => [...m]))}`);
      await sleep(100);
    }
    const feed = createMarketData(7);
    const outcome = { acknowledged: 0, overloaded: 0, refusedUnsent: 0, unknownOutcome: 0, rssMax: 0, acknowledgedSizeSum: 0 };
    const codes = new Map<string, number>();
    const loadStart = Date.now();
    const until = performance.now() + OVERLOAD_SECONDS * 1000;
    const memory = setInterval(() => {
      for (const node of cluster.nodes) outcome.rssMax = Math.max(outcome.rssMax, residentBytes(node.process!.pid!));
    }, 500);
    const schema = (await store.info(stream)).fields;
    const { wireEventsOf } = await import("../../../examples/event-store/client/event-rows.js");
    const producer = async (seed: number) => {
      for (let sequence = 0; performance.now() < until; sequence++) {
        const now = Date.now() * 1000 + seed;
        const { timestamps, columns: values } = feed(now - 100_000, now, BATCH);
        // Every event of one insert carries the insert's own number as its size: the stored
        // sum of sizes then tells exactly which inserts are present, and how often.
        const insertNumber = seed * 100_000 + sequence + 1;
        const sizes = Array.from({ length: timestamps.length }, () => insertNumber);
        const events = wireEventsOf(schema, { timestamps, columns: { price: values["price"]!, size: sizes, symbol: values["symbol"]! } }, undefined);
        try {
          const response = await client.insert(stream, events, { timeoutMs: 10_000 });
          expect(response.accepted).toBe(BATCH);
          outcome.acknowledged += response.accepted;
          outcome.acknowledgedSizeSum += BATCH * insertNumber;
        } catch (error) {
          const refusal = ConnectError.from(error);
          if (refusal.code === Code.ResourceExhausted && refusal.findDetails(OverloadedSchema).length > 0) {
            outcome.overloaded += 1;
            // Refused by the client before sending (its waiting bound), not by the leader.
            if (refusal.rawMessage.includes(": not sent, ")) outcome.refusedUnsent += 1;
            await sleep(20);
          } else {
            outcome.unknownOutcome += BATCH;
            const text = ConnectError.from(error).message.slice(0, 80);
            codes.set(text, (codes.get(text) ?? 0) + 1);
          }
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: PRODUCERS * IN_FLIGHT }, (_, seed) => producer(seed)));
    } finally {
      clearInterval(memory);
      client.close();
    }
    const termsAfter = await Promise.all(cluster.urls.map(groupLeaders));
    // The leader still applies the backlog it accepted (up to 2 × 65,536 events): wait it out.
    const aggregate = await retryDeadline(() => store.aggregate(stream), 6);
    const stored = Number(aggregate.count);
    const storedSizeSum = aggregate.fields.find((field) => field.name === "size")!.sum;
    const campaigns = campaignsSince(loadStart);
    const { acknowledged, overloaded, refusedUnsent, unknownOutcome, rssMax } = outcome;
    console.log(`overload: ${acknowledged} acknowledged in ${OVERLOAD_SECONDS} s ` +
      `(${Math.round(acknowledged / OVERLOAD_SECONDS)}/s), ${overloaded} Overloaded refusals ` +
      `(${refusedUnsent} by the client unsent), ` +
      `${unknownOutcome} of unknown outcome, max RSS ${Math.round(rssMax / 2 ** 20)} MiB, ` +
      `${campaigns.length} campaigns`, [...codes], campaigns,
      JSON.stringify(termsBefore.map((m) => [...m])), JSON.stringify(termsAfter.map((m) => [...m])));
    expect(overloaded).toBeGreaterThan(0); // back-pressure
    expect(acknowledged).toBeGreaterThan(0);
    // No election: no node started a campaign (host log) since the load began, and every group
    // (each had a leader before: waited for above) keeps its leader, in the same term.
    expect(campaigns).toEqual([]);
    expect(termsAfter).toEqual(termsBefore);
    expect(termsBefore[0]!.size).toBeGreaterThanOrEqual(4);
    // Nothing acknowledged lost, nothing stored twice; exactly, when every outcome is known.
    expect(stored).toBeGreaterThanOrEqual(acknowledged);
    expect(stored).toBeLessThanOrEqual(acknowledged + unknownOutcome);
    if (unknownOutcome === 0) {
      expect(stored).toBe(acknowledged);
      expect(storedSizeSum).toBe(outcome.acknowledgedSizeSum);
    }
    expect(rssMax).toBeLessThan(1024 * 2 ** 20); // bounded memory
  }, 90_000 + OVERLOAD_SECONDS * 1000);
});
