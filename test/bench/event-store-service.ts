/**
 * Event store service benchmark: 3 node processes on this box, producers of
 * 64-byte events (timestamp + 7 doubles) sending sync, then async, inserts
 * straight to the stream's leader; events/s and p50/p99 ack latency.
 * Baseline in the same run: the engine alone in this process (applyBatch of
 * the same batches to a store on disk, one fdatasync each).
 *
 *   npx tsx test/bench/event-store-service.ts            # 15 s per mode
 *   SECONDS=5 PRODUCERS=4 BATCH=4096 npx tsx test/bench/event-store-service.ts
 *   CODEC_ONLY=1 npx tsx test/bench/event-store-service.ts   # the Insert codec's CPU only
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createStaticClusterManager, createUniformStaticTable } from "../../framework/cluster/index.js";
import { NodeService } from "../../gen/raftkit/v1/node_pb.js";
import { EventStore } from "../../examples/event-store/client/index.js";
import { createNodeFileSystem, openEventStore } from "../../examples/event-store/engine/index.js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { insertRequestOf } from "../../examples/event-store/client/event-rows.js";
import { insertCommandCodec, insertRequestCodec } from "../../examples/event-store/service/insert-codec.js";
import {
  EventStoreService, InsertRequestSchema, type InsertRequest,
} from "../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import { startLocalCluster } from "../../examples/event-store/start/local-cluster.js";
import { natsJetStreamBaseline } from "./nats-jetstream-baseline.js";

const SECONDS = Number(process.env["SECONDS"] ?? 15);
const PRODUCERS = Number(process.env["PRODUCERS"] ?? 8);
const BATCH = Number(process.env["BATCH"] ?? 4096);
const FIELDS = ["f0", "f1", "f2", "f3", "f4", "f5", "f6"];
// MODES=sync (or async): only those phases (profiling one mode).
const MODES = (process.env["MODES"] ?? "sync,async").split(",").filter((mode): mode is "sync" | "async" =>
  mode === "sync" || mode === "async");

/** CPU time (user + system) of a process so far, in µs, from /proc (Linux); undefined elsewhere. */
function processCpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the command; clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** The monotonic clock in µs: the clock of --cpu-prof's sample times, to cut a phase out of a profile. */
const monotonicMicros = (): string => (process.hrtime.bigint() / 1000n).toString();

/** A producer's batch; indexed loops (Float64Array.from with a map function cost ~350 ns of the client's CPU per event). */
function batchOf(producer: number, sequence: number): { timestamps: Float64Array; columns: Record<string, Float64Array> } {
  const base = Date.now() * 1000 + producer;
  const timestamps = new Float64Array(BATCH);
  for (let row = 0; row < BATCH; row++) timestamps[row] = base + row * PRODUCERS;
  const columns: Record<string, Float64Array> = {};
  FIELDS.forEach((name, index) => {
    const values = new Float64Array(BATCH);
    for (let row = 0; row < BATCH; row++) values[row] = (sequence + row * (index + 1)) % 1000 / 8;
    columns[name] = values;
  });
  return { timestamps, columns };
}

/** The client's encoding (EventStore.insert's): the hand codec, carried as the request's field 2. */
function insertRequest(batch: ReturnType<typeof batchOf>, async: boolean): InsertRequest {
  return insertRequestOf("bench", {
    timestamps: batch.timestamps,
    columns: FIELDS.map((name) => ({ name, values: { case: "doubles" as const, values: batch.columns[name]! } })),
    ids: [],
  }, async);
}

const percentile = (sorted: number[], share: number): number => sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? NaN;

async function engineBaseline(): Promise<number> {
  const directory = await mkdtemp(join(tmpdir(), "es-bench-engine-"));
  const store = await openEventStore({ fileSystem: createNodeFileSystem(), directory });
  await store.applyBatch([{ kind: "createStream", stream: "b", schema: { fields: FIELDS.map((name, index) => ({ name, type: "double" as const, aggregated: index < 2 })) } }], 1);
  const until = performance.now() + SECONDS * 1000;
  let events = 0;
  let index = 1;
  const started = performance.now();
  while (performance.now() < until) {
    const batch = batchOf(0, index);
    await store.applyBatch([{ kind: "insert", stream: "b", timestamps: batch.timestamps, columns: batch.columns }], ++index);
    events += BATCH;
  }
  const rate = events / ((performance.now() - started) / 1000);
  await store.close();
  await rm(directory, { recursive: true, force: true });
  return rate;
}

/** µs of this process's CPU per call of `work` (user + system), after a warm-up. */
function cpuMicros(work: () => unknown, repetitions: number): number {
  for (let index = 0; index < Math.max(5, repetitions / 10); index++) work();
  const start = process.cpuUsage();
  for (let index = 0; index < repetitions; index++) work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / repetitions;
}

/**
 * The Insert request's codec, per request of BATCH events: protobuf-es
 * (reflection; what every hop used before) against the hand codec (what
 * the client, the leader's proposal and every replica's apply use now).
 * CPU time, so other load on the machine matters little.
 */
function codecCosts(): void {
  const batch = batchOf(0, 1);
  const request = insertRequest(batch, false);
  const bytes = toBinary(InsertRequestSchema, request);
  const plain = fromBinary(InsertRequestSchema, bytes);
  const command = insertCommandCodec.decode(bytes);
  const rows: [string, number, number][] = [
    ["encode", cpuMicros(() => toBinary(InsertRequestSchema, plain), 40), cpuMicros(() => insertCommandCodec.encode(command), 2000)],
    ["decode", cpuMicros(() => fromBinary(InsertRequestSchema, bytes), 40), cpuMicros(() => insertRequestCodec.decode(bytes), 2000)],
  ];
  console.log(`\nInsert codec, µs CPU per request of ${BATCH} events (${bytes.length} bytes):\n| | protobuf-es | hand codec | ratio |\n| --- | ---: | ---: | ---: |`);
  for (const [what, generic, hand] of rows) {
    console.log(`| ${what} | ${generic.toFixed(0)} | ${hand.toFixed(0)} | ${(generic / hand).toFixed(1)}× |`);
  }
}

async function run(): Promise<void> {
  const cpus = execFileSync("nproc").toString().trim();
  codecCosts();
  if (process.env["CODEC_ONLY"] === "1") return;
  const baseline = await engineBaseline();
  console.log(`engine alone: ${Math.round(baseline)} events/s (batches of ${BATCH}, fdatasync each)`);
  // NATS=0: skip the NATS JetStream baseline (profiling runs).
  const nats = process.env["NATS"] === "0" ? undefined : await natsJetStreamBaseline(SECONDS, PRODUCERS, 256);
  console.log(process.env["NATS"] === "0" ? "NATS JetStream: skipped (NATS=0)" : nats === undefined ? "NATS JetStream: nats-server not installed (apt-get install -y nats-server), skipped"
    : `NATS JetStream R3, async publish: ${Math.round(nats.rate)} msgs/s, ack p50 ${nats.p50.toFixed(1)} ms, p99 ${nats.p99.toFixed(1)} ms`);
  const directory = await mkdtemp(join(tmpdir(), "es-bench-"));
  // FLAGS: further node flags, e.g. FLAGS="--tick-ms 20".
  const flags = (process.env["FLAGS"] ?? "").split(" ").filter((flag) => flag !== "");
  const cluster = await startLocalCluster({ dataDirectory: directory, groups: "1-4", flags });
  try {
    const store = await EventStore.connect(cluster.urls);
    await store.createStream("bench", FIELDS.map((name, index) => ({ name, type: "double" as const, aggregated: index < 2 })));
    const manager = createStaticClusterManager(createUniformStaticTable({ nodes: new Map(cluster.nodes.map((node) => [node.nodeId, `127.0.0.1:${node.port}`])), partitionIds: [1, 2, 3, 4], stateMachineType: "eventstore" }));
    const groupId = (await manager.partitionForKey("eventstore", "bench")).partitionId;
    let leaderUrl = "";
    for (const node of cluster.nodes) {
      const status = await createClient(NodeService, createConnectTransport({ baseUrl: node.url, httpVersion: "2" })).status({ groupIds: [BigInt(groupId)] });
      if (status.groups[0]?.role === 4) leaderUrl = node.url;
    }
    const client = createClient(EventStoreService, createConnectTransport({ baseUrl: leaderUrl, httpVersion: "2", useBinaryFormat: true }));
    const results: Record<string, { rate: number; p50: number; p99: number; errors: number }> = {};
    // The nodes' fixed cost: CPU over 3 s without inserts (ticks, heartbeats, the cluster manager).
    const idleBefore = cluster.nodes.map((node) => processCpuMicros(node.process?.pid));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // µs of CPU per second without load, per node (NaN when /proc is not there).
    const idlePerSecond = cluster.nodes.map((node, index) =>
      ((processCpuMicros(node.process?.pid) ?? NaN) - (idleBefore[index] ?? NaN)) / 3);
    console.log(`idle: node CPU ${cluster.nodes.map((node, index) =>
      `n${node.nodeId} ${(idlePerSecond[index]! / 10_000).toFixed(1)} %`).join(", ")} of a core`);
    let storedBefore = 0;
    for (const mode of MODES) {
      const latencies: number[] = [];
      const cpuBefore = cluster.nodes.map((node) => processCpuMicros(node.process?.pid));
      // The client (this process: producers' batches, their encoding, Connect) shares the cores too.
      const clientBefore = process.cpuUsage();
      const windowStart = monotonicMicros();
      let events = 0;
      let errors = 0;
      const errorTexts = new Map<string, number>();
      const until = performance.now() + SECONDS * 1000;
      const started = performance.now();
      await Promise.all(Array.from({ length: PRODUCERS }, async (_, producer) => {
        for (let sequence = 0; performance.now() < until; sequence++) {
          const request = insertRequest(batchOf(producer, sequence), mode === "async");
          const sent = performance.now();
          try {
            // Not `events += (await …).accepted`: that reads `events` before the await and adds to the
            // stale value, losing the other producers' counts meanwhile (this bench reported ~1/PRODUCERS
            // of the events acknowledged, and PRODUCERS × the CPU per event, until session 7).
            const accepted = (await client.insert(request, { timeoutMs: 10_000 })).accepted;
            events += accepted;
            latencies.push(performance.now() - sent);
          } catch (error) {
            errors += 1;
            const text = String(error).slice(0, 160);
            errorTexts.set(text, (errorTexts.get(text) ?? 0) + 1);
          }
        }
      }));
      const seconds = (performance.now() - started) / 1000;
      const clientUsed = process.cpuUsage(clientBefore);
      const cpuPerEvent = cluster.nodes.map((node, index) => {
        const before = cpuBefore[index];
        const after = processCpuMicros(node.process?.pid);
        const role = node.url === leaderUrl ? "leader" : "follower";
        if (before === undefined || after === undefined) return `n${node.nodeId} ?`;
        const marginal = (after - before - idlePerSecond[index]! * seconds) / Math.max(1, events);
        return `n${node.nodeId} (${role}) ${((after - before) / Math.max(1, events)).toFixed(2)} ` +
          `(${marginal.toFixed(2)} above idle)`;
      });
      console.log(`${mode}: phase window (monotonic µs) ${windowStart} ${monotonicMicros()}; ` +
        `node CPU µs per event: ${cpuPerEvent.join(", ")}; client ` +
        `${((clientUsed.user + clientUsed.system) / Math.max(1, events)).toFixed(2)}; load ${loadavg().map((load) => load.toFixed(1)).join(" ")}`);
      latencies.sort((a, b) => a - b);
      results[mode] = { rate: events / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors };
      for (const [text, count] of errorTexts) console.log(`  ${count} × ${text}`);
      const info = await store.info("bench");
      // Sync: every acknowledged event is stored and nothing else (async: some may still be buffered).
      const stored = Number(info.eventCount) - storedBefore;
      console.log(`  stream after ${mode}: ${info.eventCount} events (${stored} in this phase, ${events} acknowledged` +
        `${mode === "sync" && stored !== events ? ": MISMATCH" : ""}), ${info.lateEventCount} of them late, ${info.blockCount} blocks`);
      storedBefore = Number(info.eventCount);
      console.log(`${mode}: ${Math.round(events / seconds)} events/s, ack p50 ${results[mode]!.p50.toFixed(1)} ms, p99 ${results[mode]!.p99.toFixed(1)} ms, ${errors} errors, ratio to engine alone ${(events / seconds / baseline).toFixed(3)}`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    console.log(`\n| mode | events/s | p50 ack | p99 ack | errors | ÷ engine alone |\n| --- | ---: | ---: | ---: | ---: | ---: |`);
    console.log(`| engine alone (1 process) | ${Math.round(baseline)} | | | | 1 |`);
    if (nats !== undefined) {
      console.log(`| NATS JetStream R3, async publish, ${PRODUCERS} × 256 in flight | ${Math.round(nats.rate)} | ${nats.p50.toFixed(1)} ms | ${nats.p99.toFixed(1)} ms | | ${(nats.rate / baseline).toFixed(3)} |`);
    }
    for (const [mode, result] of Object.entries(results)) {
      console.log(`| ${mode}, R3, ${PRODUCERS} producers × ${BATCH} events | ${Math.round(result.rate)} | ${result.p50.toFixed(1)} ms | ${result.p99.toFixed(1)} ms | ${result.errors} | ${(result.rate / baseline).toFixed(3)} |`);
    }
    console.log(`\n(${cpus} cores, ${SECONDS} s per mode, 64-byte events: timestamp + 7 doubles)`);
    store.close();
  } finally {
    await cluster.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

await run();
process.exit(0);
