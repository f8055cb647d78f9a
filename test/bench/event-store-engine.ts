/**
 * Event store engine benchmark, DuckDB as the baseline in the same run.
 *
 *   npm run bench:engine                 # 10 M events (a few minutes)
 *   npm run bench:engine -- 1000000      # or EVENTS=1000000: a quick run
 *
 * Measures: ingest (in order, and with 5 % late events) of a 3-field schema
 * (timestamp, double, int64) into a store on disk (fdatasync per batch of
 * 100 k events); range aggregates (count/sum/min/max/avg) over 1 %, 50 % and
 * 100 % of the data, p50/p99; one-minute OHLC candles over a day of
 * per-second data. Prints a markdown table for docs/benchmarks.md.
 *
 *   BENCH=cache EVENTS=2000000 CACHE_BYTES=8388608 npm run bench:engine
 *
 * The block cache instead (no DuckDB): ingest CPU per event with an
 * unlimited and a bounded budget, alternated A/B/A/B; then, on the bounded
 * store after a checkpoint (blocks evicted), the CPU of a full scan and of
 * random range aggregates (edge blocks read back) against the unlimited one.
 *
 *   BENCH=memory EVENTS=10000000 CACHE_BYTES=33554432 npm run bench:engine
 *
 * Memory over an ingest (batches made on the fly, 5 % late): RSS and
 * ArrayBuffer bytes every 10 % of the events, with the given budget
 * (unlimited when CACHE_BYTES is not set) — one budget per process.
 */
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  createNodeFileSystem, openEventStore, type EventStore, type StreamSchema,
} from "../../examples/event-store/engine/index.js";

const EVENTS = Number(process.argv[2] ?? process.env.EVENTS ?? 10_000_000);
const BATCH = 100_000;
const SPACING = 1000; // µs between in-order events
const SCHEMA: StreamSchema = { fields: [
  { name: "price", type: "double", aggregated: true },
  { name: "quantity", type: "int64", aggregated: true },
] };

interface Dataset {
  readonly timestamps: Float64Array;
  readonly price: Float64Array;
  readonly quantity: Float64Array;
}

/** Seeded data: a price random walk; `lateShare` of events delayed by up to a minute. */
function makeDataset(count: number, lateShare: number, seed: number): Dataset {
  let state = seed >>> 0;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const timestamps = new Float64Array(count);
  const price = new Float64Array(count);
  const quantity = new Float64Array(count);
  let value = 100;
  for (let index = 0; index < count; index++) {
    const late = random() < lateShare;
    const delay = late ? 1 + Math.floor(random() * 60_000_000) : 0;
    timestamps[index] = Math.max(0, 1_700_000_000_000_000 + index * SPACING - delay);
    value += (random() - 0.5) / 10;
    price[index] = Math.round(value * 100) / 100;
    quantity[index] = 1 + Math.floor(random() * 1000);
  }
  return { timestamps, price, quantity };
}

function percentile(samples: number[], share: number): number {
  const sorted = samples.slice().sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]!;
}

interface IngestResult {
  readonly store: EventStore;
  /** Events per second of wall time. */
  readonly rate: number;
  /** Events per second of this process's CPU time (user + system): robust to a busy machine. */
  readonly cpuRate: number;
}

async function ingestEngine(directory: string, data: Dataset,
  cacheBytes?: number): Promise<IngestResult> {
  const store = await openEventStore({ fileSystem: createNodeFileSystem(), directory,
    ...(cacheBytes === undefined ? {} : { cacheBytes }) });
  await store.applyBatch([{ kind: "createStream", stream: "ticks", schema: SCHEMA }], 1);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let at = 0, index = 2; at < data.timestamps.length; at += BATCH, index++) {
    const end = Math.min(at + BATCH, data.timestamps.length);
    await store.applyBatch([{ kind: "insert", stream: "ticks",
      timestamps: data.timestamps.subarray(at, end),
      columns: { price: data.price.subarray(at, end), quantity: data.quantity.subarray(at, end) },
    }], index);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { store, rate: data.timestamps.length / seconds,
    cpuRate: data.timestamps.length / cpuSeconds };
}

async function ingestDuck(connection: DuckDBConnection, table: string,
  data: Dataset): Promise<{ rate: number; cpuRate: number }> {
  await connection.run(`CREATE TABLE ${table} (ts BIGINT, price DOUBLE, quantity BIGINT)`);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const appender = await connection.createAppender(table);
  for (let index = 0; index < data.timestamps.length; index++) {
    appender.appendBigInt(BigInt(data.timestamps[index]!));
    appender.appendDouble(data.price[index]!);
    appender.appendBigInt(BigInt(data.quantity[index]!));
    appender.endRow();
  }
  appender.closeSync();
  await connection.run("CHECKPOINT");
  const cpu = process.cpuUsage(cpuStarted);
  return { rate: data.timestamps.length / ((performance.now() - started) / 1000),
    cpuRate: data.timestamps.length / ((cpu.user + cpu.system) / 1e6) };
}

interface Latency {
  readonly p50: number;
  readonly p99: number;
}

function latency(samples: number[]): Latency {
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

function rangeOf(data: Dataset, share: number, random: () => number): [number, number] {
  const low = 1_700_000_000_000_000 - 60_000_000;
  const high = 1_700_000_000_000_000 + data.timestamps.length * SPACING;
  const width = Math.floor((high - low) * share);
  const from = share >= 1 ? low : low + Math.floor(random() * (high - low - width));
  return [from, from + width + (share >= 1 ? 1 : 0)];
}

async function measureRanges(store: EventStore, connection: DuckDBConnection, data: Dataset,
  share: number): Promise<{ engine: Latency; duck: Latency }> {
  let state = 99;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const engineSamples: number[] = [];
  for (let run = 0; run < 1000; run++) {
    const [from, to] = rangeOf(data, share, random);
    const started = performance.now();
    store.aggregate("ticks", { from, to });
    engineSamples.push(performance.now() - started);
  }
  const prepared = await connection.prepare("SELECT count(*), sum(price), min(price), " +
    "max(price), avg(price), sum(quantity), min(quantity), max(quantity), avg(quantity) " +
    "FROM ticks WHERE ts >= $1 AND ts < $2");
  const duckSamples: number[] = [];
  for (let run = 0; run < 40; run++) {
    const [from, to] = rangeOf(data, share, random);
    prepared.bindBigInt(1, BigInt(from));
    prepared.bindBigInt(2, BigInt(to));
    const started = performance.now();
    const rows = (await prepared.runAndReadAll()).getRowsJS();
    duckSamples.push(performance.now() - started);
    checkSame(store.aggregate("ticks", { from, to }), rows[0]!, from, to);
  }
  return { engine: latency(engineSamples), duck: latency(duckSamples) };
}

/** The two systems must answer the same question: counts equal, sums within rounding. */
function checkSame(engine: ReturnType<EventStore["aggregate"]>, duck: readonly unknown[],
  from: number, to: number): void {
  const count = Number(duck[0]);
  const sum = Number(duck[1]);
  const engineSum = engine.fields.price?.sum ?? 0;
  if (engine.count !== count || Math.abs(engineSum - sum) > 1e-6 * Math.max(1, Math.abs(sum))) {
    throw new Error(`[${from}, ${to}): engine count ${engine.count} sum ${engineSum}, ` +
      `DuckDB count ${count} sum ${sum}`);
  }
}

async function measureCandles(store: EventStore,
  connection: DuckDBConnection): Promise<{ engine: Latency; duck: Latency }> {
  const day = makeDataset(86_400, 0, 7);
  const start = 1_700_006_400_000_000;
  for (let index = 0; index < day.timestamps.length; index++) {
    day.timestamps[index] = start + index * 1_000_000;
  }
  await store.applyBatch([{ kind: "createStream", stream: "day", schema: SCHEMA },
    { kind: "insert", stream: "day", timestamps: day.timestamps,
      columns: { price: day.price, quantity: day.quantity } }], store.appliedIndex() + 1);
  await ingestDuck(connection, "day", day);
  const engineSamples: number[] = [];
  let candles = 0;
  for (let run = 0; run < 50; run++) {
    const started = performance.now();
    candles = store.windows("day", { width: 60_000_000, limit: 2000 }).windows.length;
    engineSamples.push(performance.now() - started);
  }
  const duckSamples: number[] = [];
  let duckCandles = 0;
  for (let run = 0; run < 20; run++) {
    const started = performance.now();
    const reader = await connection.runAndReadAll("SELECT ts // 60000000 AS minute, " +
      "arg_min(price, ts), max(price), min(price), arg_max(price, ts), count(*) FROM day " +
      "GROUP BY minute ORDER BY minute");
    duckCandles = reader.getRowsJS().length;
    duckSamples.push(performance.now() - started);
  }
  if (candles !== 1440 || duckCandles !== 1440) {
    throw new Error(`candles: engine ${candles}, DuckDB ${duckCandles}, expected 1440`);
  }
  return { engine: latency(engineSamples), duck: latency(duckSamples) };
}

const format = (value: number, digits = 3): string => value.toPrecision(digits);
const ms = (value: number): string => `${format(value)} ms`;

function ingestLine(what: string, engine: IngestResult,
  duck: { rate: number; cpuRate: number }): string {
  return `| ${what}: wall / CPU | ${format(engine.rate / 1e6)} / ` +
    `${format(engine.cpuRate / 1e6)} M events/s | ${format(duck.rate / 1e6)} / ` +
    `${format(duck.cpuRate / 1e6)} M events/s | ${format(engine.rate / duck.rate)}× |`;
}

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), "raftkit-engine-bench-"));
  const lines: string[] = [];
  try {
    const instance = await DuckDBInstance.create(join(directory, "duck.db"));
    const connection = await instance.connect();
    const inOrder = makeDataset(EVENTS, 0, 1);
    const engineInOrder = await ingestEngine(join(directory, "in-order"), inOrder);
    const duckInOrder = await ingestDuck(connection, "ticks", inOrder);
    lines.push(ingestLine("ingest, in order", engineInOrder, duckInOrder));
    for (const share of [0.01, 0.5, 1]) {
      const { engine, duck } = await measureRanges(engineInOrder.store, connection, inOrder, share);
      lines.push(`| aggregate over ${share * 100} %, p50 / p99 | ${ms(engine.p50)} / ` +
        `${ms(engine.p99)} | ${ms(duck.p50)} / ${ms(duck.p99)} | ` +
        `${format(duck.p50 / engine.p50)}× |`);
    }
    const candles = await measureCandles(engineInOrder.store, connection);
    lines.push(`| 1-min OHLC over a day of 1 s data, p50 / p99 | ${ms(candles.engine.p50)} / ` +
      `${ms(candles.engine.p99)} | ${ms(candles.duck.p50)} / ${ms(candles.duck.p99)} | ` +
      `${format(candles.duck.p50 / candles.engine.p50)}× |`);
    const statistics = engineInOrder.store.statistics("ticks");
    await engineInOrder.store.close();
    const late = makeDataset(EVENTS, 0.05, 2);
    const engineLate = await ingestEngine(join(directory, "late"), late);
    const duckLate = await ingestDuck(connection, "ticks_late", late);
    lines.push(ingestLine("ingest, 5 % late (up to 60 s)", engineLate, duckLate));
    const lateStatistics = engineLate.store.statistics("ticks");
    engineLate.store.checkIntegrity();
    await engineLate.store.close();
    connection.closeSync();
    instance.closeSync();
    console.log(`\nEvents: ${EVENTS}; blocks ${statistics.blockCount} of ` +
      `${statistics.blockBytes} B, index height ${statistics.indexHeight}; with late events: ` +
      `${lateStatistics.blockCount} blocks, ${lateStatistics.blockSplitCount} splits, ` +
      `${lateStatistics.lateEventCount} late events.\n`);
    console.log("| measure | engine | DuckDB | engine advantage |\n| --- | --- | --- | --- |");
    for (const line of lines) console.log(line);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const cpuMicros = (): number => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

/** µs of CPU per scanned event: every event, pages of 10,000. */
function scanAll(store: EventStore): { perEvent: number; events: number } {
  const started = cpuMicros();
  let events = 0;
  let cursor;
  do {
    const page = store.scan("ticks", { limit: 10_000, cursor });
    events += page.count;
    cursor = page.next;
  } while (cursor !== undefined);
  return { perEvent: (cpuMicros() - started) / events, events };
}

/** µs of CPU per aggregate over a random 1 % range (two edge blocks each). */
function aggregates(store: EventStore, data: Dataset): number {
  let state = 5;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const runs = 2000;
  const started = cpuMicros();
  for (let run = 0; run < runs; run++) {
    const [from, to] = rangeOf(data, 0.01, random);
    store.aggregate("ticks", { from, to });
  }
  return (cpuMicros() - started) / runs;
}

async function cacheBench(): Promise<void> {
  const budget = Number(process.env.CACHE_BYTES ?? 8 * 1024 * 1024);
  const directory = await mkdtemp(join(tmpdir(), "raftkit-cache-bench-"));
  try {
    const data = makeDataset(EVENTS, 0.05, 3);
    const ingest: Record<string, number[]> = { unlimited: [], bounded: [] };
    let round = 0;
    for (const cacheBytes of [Number.MAX_SAFE_INTEGER, budget, Number.MAX_SAFE_INTEGER, budget]) {
      const name = cacheBytes === budget ? "bounded" : "unlimited";
      const result = await ingestEngine(join(directory, `ingest-${round++}`), data, cacheBytes);
      ingest[name]!.push(1e6 / result.cpuRate);
      await result.store.close();
    }
    console.log(`events ${EVENTS} (5 % late), budget ${budget} B, load ${loadAverage()}`);
    console.log(`ingest µs CPU per event: unlimited ${ingest.unlimited!.map((v) => format(v)).join(" / ")}` +
      `, bounded ${ingest.bounded!.map((v) => format(v)).join(" / ")}`);
    for (const [name, cacheBytes] of [["unlimited", Number.MAX_SAFE_INTEGER], ["bounded", budget],
      ["unlimited", Number.MAX_SAFE_INTEGER], ["bounded", budget]] as const) {
      const store = await openEventStore({ fileSystem: createNodeFileSystem(),
        directory: join(directory, "ingest-0"), cacheBytes });
      const opened = store.cacheStatistics();
      const aggregate = aggregates(store, data);
      const afterAggregates = store.cacheStatistics().loads;
      const scan = scanAll(store);
      const cache = store.cacheStatistics();
      console.log(`${name}: after open ${opened.residentBlocks}/${opened.storedBlocks} blocks ` +
        `resident (${format(opened.residentBytes / 2 ** 20)} MiB); aggregate 1 % ` +
        `${format(aggregate)} µs CPU (${afterAggregates} block reads); full scan ` +
        `${format(scan.perEvent)} µs CPU per event (${scan.events} events, ` +
        `${cache.loads - afterAggregates} block reads); resident after ` +
        `${format(cache.residentBytes / 2 ** 20)} MiB; RSS ` +
        `${format(process.memoryUsage().rss / 2 ** 20)} MiB`);
      await store.close();
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function loadAverage(): string {
  return os.loadavg().map((value) => value.toFixed(2)).join(" ");
}

async function memoryBench(): Promise<void> {
  const budget = process.env.CACHE_BYTES === undefined ? Number.MAX_SAFE_INTEGER :
    Number(process.env.CACHE_BYTES);
  const directory = await mkdtemp(join(tmpdir(), "raftkit-memory-bench-"));
  try {
    const store = await openEventStore({ fileSystem: createNodeFileSystem(), directory,
      cacheBytes: budget, walSync: false });
    await store.applyBatch([{ kind: "createStream", stream: "ticks", schema: SCHEMA }], 1);
    const started = cpuMicros();
    const step = Math.max(BATCH, Math.floor(EVENTS / 10 / BATCH) * BATCH);
    for (let at = 0, index = 2; at < EVENTS; at += BATCH, index++) {
      const part = makeDataset(BATCH, 0.05, index);
      for (let row = 0; row < BATCH; row++) part.timestamps[row]! += at * SPACING;
      await store.applyBatch([{ kind: "insert", stream: "ticks", timestamps: part.timestamps,
        columns: { price: part.price, quantity: part.quantity } }], index);
      if ((at + BATCH) % step === 0) {
        const memory = process.memoryUsage();
        const cache = store.cacheStatistics();
        console.log(`${(at + BATCH) / 1e6} M events: RSS ${format(memory.rss / 2 ** 20)} MiB, ` +
          `ArrayBuffers ${format(memory.arrayBuffers / 2 ** 20)} MiB, heap ` +
          `${format(memory.heapUsed / 2 ** 20)} of ${format(memory.heapTotal / 2 ** 20)} MiB; cache ${cache.residentBlocks}/` +
          `${cache.storedBlocks} blocks resident (${format(cache.residentBytes / 2 ** 20)} MiB), ` +
          `${cache.dirtyBlocks} dirty`);
      }
    }
    console.log(`budget ${budget} B: ${format((cpuMicros() - started) / EVENTS)} µs CPU per ` +
      `event, load ${loadAverage()}`);
    await store.close();
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

if (process.env.BENCH === "cache") await cacheBench();
else if (process.env.BENCH === "memory") await memoryBench();
else await main();
