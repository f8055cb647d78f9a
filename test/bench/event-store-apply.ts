/**
 * The replicated event store's per-event CPU outside the network: the
 * leader's merge and proposal encode of buffered inserts, and the apply of
 * that log entry on a replica (decode, checks, dedup, the engine's write and
 * WAL) — µs of this process's CPU per event, the same batches as the
 * service bench (PRODUCERS interleaved producers × BATCH events of
 * timestamp + 7 doubles, FLUSH inserts merged per entry). Baseline in the
 * same run: the engine alone applying the same merged batches. Also the wall
 * time per entry (p50, p99, max): ENTRIES=400 crosses the 64 MiB checkpoint
 * limit three times in each part.
 *
 *   npx tsx test/bench/event-store-apply.ts
 *   ENTRIES=200 PRODUCERS=4 BATCH=4096 FLUSH=4 npx tsx test/bench/event-store-apply.ts
 *
 * FLUSH=4 (default since session 9): the service bench's entries of 16,384 events; the leader merges
 * with a MergeScratch as the insert buffer does (fresh arrays per merge were the bench's own garbage).
 *
 *   OVERLAP=0.2 ENTRIES=100 npx tsx test/bench/event-store-apply.ts
 *
 * OVERLAP (default 0): each round of PRODUCERS batches starts that share of a round before the previous
 * round ended, so that share of the events is late (older than the stream's newest) and interleaves with
 * the previous round's newest events — how late events arise in the service bench's closed loop
 * (producers' batches overlap in time; 16-20 % of a sync phase's events were late in session 10).
 *
 *   CACHE_MB=32 OVERLAP=0.35 ENTRIES=150 npx tsx test/bench/event-store-apply.ts
 *
 * CACHE_MB (default: the engine's 256 MiB) is the block cache budget of the engine-alone stores: at 32
 * their cache is full after ~450k events and new blocks reuse evicted blocks' memory, as on a node that
 * has run a while (a service bench node after WARMUP=12). With the default budget these runs never fill
 * it: every block is fresh memory, first touched by the apply (page faults, session 13).
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildCommand, readCommandResult, stampEnvelopeBatch } from "../../framework/statemachine/index.js";
import { createInsertChecker, createNodeFileSystem, openEventStore } from "../../examples/event-store/engine/index.js";
import {
  CreateStreamRequestSchema, FieldType, InsertRequestSchema,
} from "../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import { insertRequestOf } from "../../examples/event-store/client/event-rows.js";
import { estimateInsertBytes } from "../../examples/event-store/service/insert-buffer.js";
import type { ColumnarEvents } from "../../examples/event-store/service/columnar-events.js";
import { columnarToWire, EVENT_ID_FIELD, MergeScratch, mergeSorted, toColumnar } from "../../examples/event-store/service/columnar-events.js";
import { CreateStream } from "../../examples/event-store/service/descriptors.js";
import { createEventStoreMachine } from "../../examples/event-store/service/event-store-machine.js";
import { InsertColumnar } from "../../examples/event-store/service/insert-columnar.js";
import { storedSchemaOf, userFieldsOf } from "../../examples/event-store/service/stream-schema.js";

const ENTRIES = Number(process.env["ENTRIES"] ?? 200);
const PRODUCERS = Number(process.env["PRODUCERS"] ?? 4);
const BATCH = Number(process.env["BATCH"] ?? 4096);
const FLUSH = Number(process.env["FLUSH"] ?? 4);
const OVERLAP = Number(process.env["OVERLAP"] ?? 0);
if (!(OVERLAP >= 0 && OVERLAP < 1)) throw new Error(`OVERLAP=${process.env["OVERLAP"]}: a share in [0, 1)`);
const CACHE_BYTES = process.env["CACHE_MB"] === undefined ? undefined : Number(process.env["CACHE_MB"]) * 1024 * 1024;
if (CACHE_BYTES !== undefined && !(Number.isSafeInteger(CACHE_BYTES) && CACHE_BYTES >= 0)) {
  throw new Error(`CACHE_MB=${process.env["CACHE_MB"]}: a whole number of MiB`);
}
const cacheOption = CACHE_BYTES === undefined ? {} : { cacheBytes: CACHE_BYTES };
const FIELDS = ["f0", "f1", "f2", "f3", "f4", "f5", "f6"];

/** The service bench's batches: producer p's events at base + p + row × PRODUCERS µs. */
interface Batch {
  readonly timestamps: Float64Array;
  readonly columns: Readonly<Record<string, Float64Array>>;
  readonly ids: readonly string[];
}

function batchOf(producer: number, sequence: number, base: number): Batch {
  const timestamps = Float64Array.from({ length: BATCH }, (_, row) => base + producer + row * PRODUCERS);
  const columns: Record<string, Float64Array> = {};
  FIELDS.forEach((name, index) => {
    columns[name] = Float64Array.from({ length: BATCH }, (_, row) => (sequence + row * (index + 1)) % 1000 / 8);
  });
  return { timestamps, columns, ids: new Array<string>(BATCH).fill("") };
}

const cpu = (): number => { const used = process.cpuUsage(); return used.user + used.system; };

async function run(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), "es-apply-"));
  const request = create(CreateStreamRequestSchema, { stream: "bench",
    fields: FIELDS.map((name, index) => ({ name, type: FieldType.DOUBLE, aggregated: index < 2 })) });
  const fields = userFieldsOf(storedSchemaOf("bench", request.fields));
  const check = createInsertChecker("bench", storedSchemaOf("bench", request.fields), 32 * 1024);
  // The entries: FLUSH producers' batches per entry, producers in turn, each batch 16 ms of µs after the last.
  const parts: Batch[][] = [];
  let base = 1_700_000_000_000_000;
  for (let entry = 0; entry < ENTRIES; entry++) {
    parts.push(Array.from({ length: FLUSH }, (_, k) => batchOf((entry * FLUSH + k) % PRODUCERS, entry, base)));
    // OVERLAP > 0: the next round starts before this one ends (a round fills every µs: late events
    // meet events of equal time and go after them).
    if ((entry * FLUSH + FLUSH) % PRODUCERS === 0) base += Math.round(BATCH * PRODUCERS * (1 - OVERLAP));
  }
  const events = ENTRIES * FLUSH * BATCH;
  // The leader: each insert as the client sends it (the hand codec's bytes), decoded by Connect
  // (protobuf-es), shape-checked, value-checked, sized; then merged and encoded as one proposal.
  // In a function: the requests and decoded inserts (~200 MB at ENTRIES=100) are garbage before the
  // replica part, whose collections would otherwise mark them (the replica read ~2x its cost alone).
  const leader = (): { commands: Uint8Array[]; receiveMicros: number; proposeMicros: number } => {
    const requests = parts.map((entry) => entry.map((part) => toBinary(InsertRequestSchema, insertRequestOf("bench", {
      timestamps: part.timestamps,
      columns: FIELDS.map((name) => ({ name, values: { case: "doubles" as const, values: part.columns[name]! } })),
      ids: [],
    }, false))));
    let started = cpu();
    const received = requests.map((entry) => entry.map((bytes) => {
      const request = fromBinary(InsertRequestSchema, bytes);
      const events = toColumnar("bench", request.events, fields);
      check({ kind: "insert", stream: "bench", timestamps: events.timestamps, columns: { ...events.columns, [EVENT_ID_FIELD]: events.ids } });
      estimateInsertBytes(events);
      return events;
    }));
    const receiveMicros = cpu() - started;
    started = cpu();
    // The leader also stamps each command (the host's prepareProposal): a follower receives the stamped
    // entry, so the stamp is the leader's CPU, not the replica apply's (until session 9 it was timed in
    // the apply loop: ~0.1-0.5 µs per event of a fresh proposal-sized buffer charged to the replica).
    const scratch = new MergeScratch();
    const commands = received.map((entry) => {
      const { events: merged } = mergeSorted(entry, fields, scratch);
      return stampEnvelopeBatch(
        buildCommand(InsertColumnar, { stream: "bench", events: columnarToWire(merged, fields), async: false }, undefined), 1);
    });
    const proposeMicros = cpu() - started;
    return { commands, receiveMicros, proposeMicros };
  };
  const { commands, receiveMicros, proposeMicros } = leader();
  let started = cpu();
  const { machine } = createEventStoreMachine({ partitionId: 1, fileSystem: createNodeFileSystem(), directory: join(directory, "replica") });
  await machine.open();
  const created = await machine.apply([{ index: 1, term: 1, data: stampEnvelopeBatch(buildCommand(CreateStream, request, undefined), 1) }]);
  readCommandResult(CreateStream, created[0]!);
  started = cpu();
  let index = 1;
  const applyWalls: number[] = [];
  for (const command of commands) {
    index += 1;
    const wall = performance.now();
    const [result] = await machine.apply([{ index, term: 1, data: command }]);
    applyWalls.push(performance.now() - wall);
    if (readCommandResult(InsertColumnar, result!).accepted !== FLUSH * BATCH) throw new Error("events refused");
  }
  const applyMicros = cpu() - started;
  await machine.close();
  // The engine alone, the same merged batches (no _id column, no decode, no dedup).
  const store = await openEventStore({ fileSystem: createNodeFileSystem(), directory: join(directory, "engine"), walSync: false,
    ...cacheOption });
  await store.applyBatch([{ kind: "createStream", stream: "b", schema: { fields: FIELDS.map((name, i) => ({ name, type: "double" as const, aggregated: i < 2 })) } }], 1);
  const merged = parts.map((entry) => mergeSorted(entry, fields).events);
  started = cpu();
  index = 1;
  const engineWalls: number[] = [];
  for (const entry of merged) {
    const wall = performance.now();
    await store.applyBatch([{ kind: "insert", stream: "b", timestamps: entry.timestamps, columns: entry.columns }], ++index);
    engineWalls.push(performance.now() - wall);
  }
  const engineMicros = cpu() - started;
  const late = store.statistics("b").lateEventCount;
  await store.close();
  // The same in a store of its own with the stored schema's `_id` string column (every event ""), as a
  // replica's engine stores it: what the id column costs the engine. (In the same store after the
  // first run it read ~2x the first run's cost either way round: the order, not the column.)
  const idStore = await openEventStore({ fileSystem: createNodeFileSystem(), directory: join(directory, "engine-id"), walSync: false,
    ...cacheOption });
  await idStore.applyBatch([{ kind: "createStream", stream: "i", schema: storedSchemaOf("bench", request.fields) }], 1);
  const noIds = new Array<string>(FLUSH * BATCH).fill("");
  started = cpu();
  index = 1;
  for (const entry of merged) {
    await idStore.applyBatch([{ kind: "insert", stream: "i", timestamps: entry.timestamps,
      columns: { ...entry.columns, [EVENT_ID_FIELD]: entry.timestamps.length === noIds.length ? noIds : entry.ids } }], ++index);
  }
  const engineIdMicros = cpu() - started;
  await idStore.close();
  // OVERLAP > 0: the insert side of a second layer for late rows (docs/benchmarks.md, session 13,
  // ENGINE2): each entry's late prefix (rows below the newest of the entries before it) goes to a
  // stream of its own, where in this pattern it is appended, instead of being spread into the blocks
  // it interleaves with. The same rows and CPU accounting as "engine alone"; queries are not modelled.
  let layeredMicros = 0;
  let layeredLate = 0;
  if (OVERLAP > 0) {
    const layered = await openEventStore({ fileSystem: createNodeFileSystem(), directory: join(directory, "engine-layered"),
      walSync: false, ...cacheOption });
    const schema = { fields: FIELDS.map((name, i) => ({ name, type: "double" as const, aggregated: i < 2 })) };
    await layered.applyBatch([{ kind: "createStream", stream: "b", schema }, { kind: "createStream", stream: "late", schema }], 1);
    let newest = -Infinity;
    const split = merged.map((entry) => {
      let cut = 0;
      while (cut < entry.timestamps.length && entry.timestamps[cut]! < newest) cut++;
      newest = Math.max(newest, entry.timestamps[entry.timestamps.length - 1]!);
      // Views of the merged entries (copies, ~160 MB of ArrayBuffers at ENTRIES=150, would add full
      // collections to the timed loop); every field of the bench is a double.
      const part = (values: ArrayLike<number>, from: number, to: number): Float64Array =>
        values instanceof Float64Array ? values.subarray(from, to)
          : Float64Array.from({ length: to - from }, (_, row) => values[from + row]!);
      const rows = (from: number, to: number): { timestamps: Float64Array; columns: Record<string, Float64Array> } => ({
        timestamps: part(entry.timestamps, from, to),
        columns: Object.fromEntries(Object.entries(entry.columns).map(([name, values]) =>
          [name, part(values as ArrayLike<number>, from, to)])),
      });
      return { late: rows(0, cut), rest: rows(cut, entry.timestamps.length) };
    });
    started = cpu();
    index = 1;
    for (const { late, rest } of split) {
      await layered.applyBatch([
        ...(late.timestamps.length > 0 ? [{ kind: "insert" as const, stream: "late", ...late }] : []),
        ...(rest.timestamps.length > 0 ? [{ kind: "insert" as const, stream: "b", ...rest }] : []),
      ], ++index);
    }
    layeredMicros = cpu() - started;
    layeredLate = layered.statistics("b").lateEventCount + layered.statistics("late").lateEventCount;
    await layered.close();
  }
  await rm(directory, { recursive: true, force: true });
  const per = (micros: number): string => (micros / events).toFixed(3);
  console.log(`${ENTRIES} entries of ${FLUSH} × ${BATCH} events (${PRODUCERS} interleaved producers, OVERLAP ${OVERLAP}), ` +
    `${late} late in the engine run` + (CACHE_BYTES === undefined ? "" : `, engine-alone cache ${CACHE_BYTES / 1048576} MiB`));
  console.log(`| part | µs CPU per event |\n| --- | ---: |`);
  console.log(`| leader: Connect's decode (protobuf-es), shape and value checks | ${per(receiveMicros)} |`);
  console.log(`| leader: merge + proposal encode + stamp | ${per(proposeMicros)} |`);
  console.log(`| replica: apply (decode, check, dedup, engine, WAL without fsync) | ${per(applyMicros)} |`);
  console.log(`| engine alone, same batches (WAL without fsync) | ${per(engineMicros)} |`);
  console.log(`| engine alone, same batches with the empty _id column (stored schema) | ${per(engineIdMicros)} |`);
  if (OVERLAP > 0) {
    console.log(`| engine alone, each entry's late rows appended to a second stream (a second layer's insert side; ${layeredLate} late there) | ${per(layeredMicros)} |`);
  }
  console.log(`apply ÷ engine alone: ${(applyMicros / engineMicros).toFixed(2)}`);
  // Wall time per entry: a checkpoint (every 64 MiB of records, ~1 M of these events) shows as the max.
  const walls = (values: number[]): string => {
    const sorted = [...values].sort((left, right) => left - right);
    const at = (share: number): string => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))]!.toFixed(1);
    return `p50 ${at(0.5)}, p99 ${at(0.99)}, max ${at(1)} ms`;
  };
  console.log(`wall per entry: replica apply ${walls(applyWalls)}; engine alone ${walls(engineWalls)}`);
}

await run();
