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
 *
 * Open loop (MODES=sync,open): after the closed-loop sync phase (which
 * measures the capacity), producers offer a fixed RATE of events/s in
 * inserts of INSERT events (default 256), whatever the acks do; each ack's
 * latency counts from the insert's scheduled time (a late client counts
 * against the system, no coordinated omission). OPEN_RATES: comma-separated
 * events/s, or percentages of the sync phase's rate (default 25%,50%,75%).
 * Closed loop at saturation measures queueing (Little's law), the open loop
 * the latency the issue's goal means: p99 ack <= 2 x flushDelayMs.
 *
 *   SECONDS=8 MODES=sync,open OPEN_RATES=25%,50%,75% NATS=0 npx tsx test/bench/event-store-service.ts
 *
 * Every phase prints p50/p99/p999/max, the share of acks over 10/50/200 ms,
 * its worst 100 ms windows (a stall: one window's inserts all late) and the
 * node log lines of the phase naming a stall, election or failure. WARMUP
 * (default 12 s; 2 s before session 12) of unmeasured sync inserts runs
 * first; KEEP=1 keeps the data directory with the node logs.
 *
 * TRACE=1: every process (nodes via EVENTSTORE_TRACE, this client) records its
 * GCs, event-loop gaps, and the nodes their inserts, proposals and applies
 * (examples/event-store/node/latency-trace.ts); after each open-loop phase the
 * acks above its p95 are printed step by step with what else happened then.
 *
 * DIAG=1: after each phase, lines "  diag ..." with what could tell a fast run
 * from a slow one (issue #8: runs of one tree were bimodal): per process its
 * GCs, context switches, CPU migrations, the cores its main thread was seen
 * on, CPU per thread, write syscalls; per node the Insert calls it served
 * (forwarded ones too), its proposals (events and inserts per proposal) and
 * raft entries of the bench's group; the TCP connections; the machine's busy
 * time that was not this bench's (other load) and its steal.
 *
 * PIN="leader:0,followers:1,client:0": before each phase, every thread of
 * those processes is bound to that core (taskset -a): does the placement of
 * the processes on the cores decide the CPU per event?
 */
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore } from "../../examples/event-store/client/index.js";
import { createNodeFileSystem, openEventStore } from "../../examples/event-store/engine/index.js";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { insertRequestOf } from "../../examples/event-store/client/event-rows.js";
import type { WireEvents } from "../../examples/event-store/service/insert-wire.js";
import { insertCommandCodec, insertRequestCodec } from "../../examples/event-store/service/insert-codec.js";
import {
  InsertRequestSchema, type InsertRequest,
} from "../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import { startLocalCluster } from "../../examples/event-store/start/local-cluster.js";
import type { LocalNode } from "../../examples/event-store/start/local-cluster.js";
import { busiestProcesses, processWindow, readAllProcesses, readMachine, readProcess, startCoreSampler, startSpeedProbe } from "../../examples/event-store/start/process-sampler.js";
import type { MachineReading, ProcessReading } from "../../examples/event-store/start/process-sampler.js";
import { startProcessDiagnostics } from "../../examples/event-store/node/process-diagnostics.js";
import type { DiagnosticsSample, ProcessDiagnostics } from "../../examples/event-store/node/process-diagnostics.js";
import { startLatencyTrace } from "../../examples/event-store/node/latency-trace.js";
import type { LatencyTrace } from "../../examples/event-store/node/latency-trace.js";
import { parseTrace, traceAcks, traceReportLines } from "../../examples/event-store/node/latency-trace-report.js";
import type { ClientInsert } from "../../examples/event-store/node/latency-trace-report.js";
import { natsJetStreamBaseline } from "./nats-jetstream-baseline.js";
import { createLeaderInsertCall } from "./leader-insert-call.js";
import { processCpuMicros } from "./process-cpu.js";

const SECONDS = Number(process.env["SECONDS"] ?? 15);
const PRODUCERS = Number(process.env["PRODUCERS"] ?? 8);
const BATCH = Number(process.env["BATCH"] ?? 4096);
const FIELDS = ["f0", "f1", "f2", "f3", "f4", "f5", "f6"];
// MODES=sync (or async, open): only those phases (profiling one mode).
const MODES = (process.env["MODES"] ?? "sync,async").split(",").filter((mode): mode is "sync" | "async" | "open" =>
  mode === "sync" || mode === "async" || mode === "open");
/** Events per insert of the open-loop phases. */
const INSERT = Number(process.env["INSERT"] ?? 256);
const OPEN_RATES = (process.env["OPEN_RATES"] ?? "25%,50%,75%").split(",").filter((rate) => rate !== "");
/** The stream's buffer timeout (the service's default); the goal is p99 ack <= 2 x this. */
const FLUSH_DELAY_MS = 5;
const GOAL_MS = 2 * FLUSH_DELAY_MS;

/** The monotonic clock in µs: the clock of --cpu-prof's sample times, to cut a phase out of a profile. */
const monotonicMicros = (): string => (process.hrtime.bigint() / 1000n).toString();

/** A producer's batch; indexed loops (Float64Array.from with a map function cost ~350 ns of the client's CPU per event). */
function batchOf(producer: number, sequence: number, size = BATCH,
  into?: { timestamps: Float64Array; columns: Record<string, Float64Array> }): { timestamps: Float64Array; columns: Record<string, Float64Array> } {
  const base = Date.now() * 1000 + producer;
  const timestamps = into?.timestamps ?? new Float64Array(size);
  for (let row = 0; row < size; row++) timestamps[row] = base + row * PRODUCERS;
  const columns: Record<string, Float64Array> = into?.columns ?? {};
  FIELDS.forEach((name, index) => {
    const values = columns[name] ?? new Float64Array(size);
    for (let row = 0; row < size; row++) values[row] = (sequence + row * (index + 1)) % 1000 / 8;
    columns[name] = values;
  });
  return { timestamps, columns };
}

/** A batch as the hand-posted Insert sends it (EventStore.insert's path: the encoder's bytes as they are). */
function wireEventsOf(batch: ReturnType<typeof batchOf>): WireEvents {
  return {
    timestamps: batch.timestamps,
    columns: FIELDS.map((name) => ({ name, values: { case: "doubles" as const, values: batch.columns[name]! } })),
    ids: [],
  };
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

/** One ack: when its insert was due (ms since the phase started) and how long until its answer. */
interface Ack { readonly dueMs: number; readonly latencyMs: number }

/**
 * The acks' tail: p50/p99/p999/max, the share above the goal, and the worst
 * 100 ms windows (by the latest ack of an insert due in the window) — a stall
 * shows as a window whose inserts all wait, a queue as a rising line.
 */
function tailReport(label: string, acks: readonly Ack[]): { p50: number; p99: number; p999: number; max: number } {
  const sorted = acks.map((ack) => ack.latencyMs).sort((a, b) => a - b);
  const p50 = percentile(sorted, 0.5);
  const p99 = percentile(sorted, 0.99);
  const p999 = percentile(sorted, 0.999);
  const max = sorted[sorted.length - 1] ?? NaN;
  const over = (limit: number): string => `${(100 * sorted.filter((latency) => latency > limit).length / Math.max(1, sorted.length)).toFixed(1)} %`;
  console.log(`  ${label}: ${sorted.length} acks, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, p999 ${p999.toFixed(1)} ms, ` +
    `max ${max.toFixed(1)} ms (goal p99 <= ${GOAL_MS} ms: ${p99 <= GOAL_MS ? "met" : "NOT met"}); ` +
    `> ${GOAL_MS} ms ${over(GOAL_MS)}, > 50 ms ${over(50)}, > 200 ms ${over(200)}`);
  const windows = new Map<number, { max: number; count: number }>();
  for (const ack of acks) {
    const window = Math.floor(ack.dueMs / 100);
    const entry = windows.get(window) ?? { max: 0, count: 0 };
    entry.max = Math.max(entry.max, ack.latencyMs);
    entry.count += 1;
    windows.set(window, entry);
  }
  const worst = [...windows].sort((a, b) => b[1].max - a[1].max).slice(0, 6);
  console.log(`  worst 100 ms windows (due at s: max ack ms / acks): ${worst.map(([window, entry]) =>
    `${(window / 10).toFixed(1)}: ${entry.max.toFixed(0)}/${entry.count}`).join(", ")}`);
  return { p50, p99, p999, max };
}

/** Lines of the node logs written since `offsets` (advanced) that name a stall, election or failure. */
function nodeLogNews(directory: string, nodeIds: readonly number[], offsets: Map<number, number>): string[] {
  const lines: string[] = [];
  for (const nodeId of nodeIds) {
    const path = join(directory, `n${nodeId}.log`);
    let text: string;
    try {
      const size = statSync(path).size;
      const from = offsets.get(nodeId) ?? 0;
      offsets.set(nodeId, size);
      text = readFileSync(path).subarray(from).toString("utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      if (/stall|campaign|leader|fail|error|timeout/i.test(line)) lines.push(`n${nodeId}: ${line.slice(0, 300)}`);
    }
  }
  return lines;
}

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

/** PIN: binds each role's processes (leader, followers, client) to a core, all threads (taskset -a -p). */
function pinProcesses(spec: string, nodes: readonly LocalNode[], leaderUrl: string): void {
  for (const part of spec.split(",")) {
    const [role, core] = part.split(":");
    const pids = role === "client" ? [process.pid] : role === "leader" ? nodes.filter((node) => node.url === leaderUrl).map((node) => node.process?.pid)
      : role === "followers" ? nodes.filter((node) => node.url !== leaderUrl).map((node) => node.process?.pid) : undefined;
    if (pids === undefined || core === undefined || !/^\d+(-\d+)?$/.test(core)) {
      throw new Error(`PIN entry '${part}': role:core expected, role leader, followers or client, e.g. leader:0`);
    }
    for (const pid of pids) if (pid !== undefined) execFileSync("taskset", ["-a", "-p", "-c", core, String(pid)], { stdio: "ignore" });
  }
  console.log(`pinned: ${spec}`);
}

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/**
 * DIAG=1 with EVENTSTORE_NODE_ARGS="--trace-opt --trace-deopt": the JIT's work in a node's log since
 * `from` (bytes): TurboFan compiles (and their ms), deoptimizations and the functions deoptimized most.
 */
function jitNews(path: string, from: number): string {
  let text = "";
  try {
    text = readFileSync(path).subarray(from).toString("utf8");
  } catch {
    return "";
  }
  let compiles = 0;
  let compileMs = 0;
  let deopts = 0;
  const deopted = new Map<string, number>();
  for (const line of text.split("\n")) {
    const took = /^\[completed compiling .*took ([\d.]+), ([\d.]+), ([\d.]+) ms/.exec(line);
    if (took !== null) {
      compiles += 1;
      compileMs += Number(took[1]) + Number(took[2]) + Number(took[3]);
    }
    const bailout = /^\[bailout \(kind: ([^,]+), reason: ([^)]*)\): begin. deoptimizing .*?<JSFunction ([^ (]*)/.exec(line);
    if (bailout !== null) {
      deopts += 1;
      const key = `${bailout[3] === "" ? "?" : bailout[3]} (${bailout[2]})`;
      deopted.set(key, (deopted.get(key) ?? 0) + 1);
    }
  }
  if (compiles === 0 && deopts === 0) return "";
  return `; JIT: ${compiles} compiles (${compileMs.toFixed(0)} ms), ${deopts} deopts` +
    `${deopts > 0 ? ` (${[...deopted].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([name, count]) => `${count}× ${name}`).join(", ")})` : ""}`;
}

/** DIAG=1: the nodes' pids, then this client's. */
const diagPids = (nodes: readonly LocalNode[]): number[] =>
  [...nodes.map((node) => node.process?.pid ?? -1), process.pid];

/** DIAG=1: /proc readings of the nodes and this client (same order as diagPids), the machine's, the client's counters. */
function diagnosticsReading(nodes: readonly LocalNode[], client: ProcessDiagnostics): {
  processes: (ProcessReading | undefined)[]; machine: MachineReading | undefined; client: DiagnosticsSample;
  all: ReturnType<typeof readAllProcesses>;
} {
  return { processes: diagPids(nodes).map((pid) => readProcess(pid)), machine: readMachine(), client: client.sample(),
    all: readAllProcesses() };
}

/** DIAG=1: established TCP connections per pid (ss), as "local port->remote port" of each. */
function connectionsOf(pids: readonly number[]): Map<number, string[]> {
  const found = new Map<number, string[]>(pids.map((pid) => [pid, []]));
  let text = "";
  try {
    text = execFileSync("ss", ["-tnpH", "state", "established"], { encoding: "utf8", timeout: 5000 });
  } catch {
    return found;
  }
  for (const line of text.split("\n")) {
    const ports = [...line.matchAll(/127\.0\.0\.1:(\d+)/g)].map((match) => match[1]);
    for (const match of line.matchAll(/pid=(\d+)/g)) found.get(Number(match[1]))?.push(`${ports[0]}->${ports[1]}`);
  }
  return found;
}

/** A node's diagnostics sample nearest `atMs` from <directory>/n<id>.diag: the last at or before it (`after`: the first at or after). */
async function nodeSampleAt(directory: string, nodeId: number, atMs: number, after: boolean): Promise<DiagnosticsSample | undefined> {
  for (let attempt = 0; attempt < 20; attempt++) {
    let samples: DiagnosticsSample[] = [];
    try {
      samples = readFileSync(join(directory, `n${nodeId}.diag`), "utf8").split("\n").filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as DiagnosticsSample);
    } catch {
      // Not written yet, or a torn last line: ask again.
    }
    const found = after ? samples.find((sample) => sample.atMs >= atMs) : samples.filter((sample) => sample.atMs <= atMs).pop();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

/** DIAG=1: one process's counters over a window, as text. */
function sampleDifference(before: DiagnosticsSample, after: DiagnosticsSample, events: number): string {
  const gc = Object.keys(after.gc).sort().map((kind) => {
    const [count, pauseMs] = after.gc[kind]!;
    const [countBefore, pauseBefore] = before.gc[kind] ?? [0, 0];
    return `${({ "1": "scavenge", "4": "mark-compact", "8": "incremental", "16": "weak" } as Record<string, string>)[kind] ?? `kind ${kind}`} ` +
      `${count - countBefore}/${(pauseMs - pauseBefore).toFixed(0)} ms`;
  }).join(", ");
  const active = after.loopActiveMs - before.loopActiveMs;
  const idle = after.loopIdleMs - before.loopIdleMs;
  const cpu = after.cpuUserMicros + after.cpuSystemMicros - before.cpuUserMicros - before.cpuSystemMicros;
  return `cpu ${(cpu / Math.max(1, events)).toFixed(2)} µs/event (system ${((after.cpuSystemMicros - before.cpuSystemMicros) / Math.max(1, events)).toFixed(2)}), ` +
    `loop busy ${(100 * active / Math.max(1, active + idle)).toFixed(0)} %, gc (count/pause) ${gc === "" ? "none" : gc}`;
}

/** DIAG=1: the phase's diagnostics lines (see the file's comment). */
async function diagnosticsLines(phase: {
  directory: string; nodes: readonly LocalNode[]; groupId: number; leaderUrl: string; events: number; seconds: number; late: number;
  before: { at: number; processes: (ProcessReading | undefined)[]; machine: MachineReading | undefined; client: DiagnosticsSample;
    all: ReturnType<typeof readAllProcesses>; logSizes: number[] };
  after: { at: number; processes: (ProcessReading | undefined)[]; machine: MachineReading | undefined; client: DiagnosticsSample;
    all: ReturnType<typeof readAllProcesses>;
    cores: ReadonlyMap<number, { readonly perCore: ReadonlyMap<number, number>; readonly moves: number }>; connections: Map<number, string[]>;
    speed: { readonly aluNanos: number; readonly memoryNanos: number; readonly samples: number } };
}): Promise<string[]> {
  const { events } = phase;
  const lines: string[] = [`phase: ${events} events in ${phase.seconds.toFixed(2)} s, ${(100 * phase.late / Math.max(1, events)).toFixed(1)} % late`];
  const pids = diagPids(phase.nodes);
  const perEvent = (count: number): string => (count / Math.max(1, events) * 1e6).toFixed(1);
  let ourTicks = 0;
  for (const [index, pid] of pids.entries()) {
    const node = phase.nodes[index];
    const name = node === undefined ? "client" : `n${node.nodeId}${node.url === phase.leaderUrl ? " (leader)" : ""}`;
    const before = phase.before.processes[index];
    const after = phase.after.processes[index];
    const cores = phase.after.cores.get(pid);
    const coreText = cores === undefined ? "" : `main thread on cores ${[...cores.perCore].sort((a, b) => a[0] - b[0])
      .map(([core, count]) => `${core}: ${count}`).join(", ")} (samples; ${cores.moves} moves)`;
    let procText = "";
    if (before !== undefined && after !== undefined) {
      const window = processWindow(pid, before, after);
      ourTicks += window.ticks;
      procText = `ticks ${window.ticks} (threads: ${window.threads.map(([tid, ticks]) => `${tid === pid ? "main" : tid} ${ticks}`).join(" ")}; ` +
        `system: main ${window.mainSystemTicks}, others ${window.otherSystemTicks}), ` +
        `switches ${window.voluntarySwitches} voluntary + ${window.involuntarySwitches} involuntary (${perEvent(window.voluntarySwitches)}` +
        ` + ${perEvent(window.involuntarySwitches)} per M events), ${window.migrations} migrations, ` +
        `syscalls ${window.readCalls} reads, ${window.writeCalls} writes, ${(window.writeBytes / 1e6).toFixed(1)} MB to disk, ` +
        `faults ${window.minorFaults} minor + ${window.majorFaults} major, on a core ${(window.runNanos / 1e9).toFixed(2)} s ` +
        `and runnable waiting ${(window.waitNanos / 1e9).toFixed(2)} s`;
    }
    let counted = "";
    if (node !== undefined) {
      const first = await nodeSampleAt(phase.directory, node.nodeId, phase.before.at, false);
      const last = await nodeSampleAt(phase.directory, node.nodeId, phase.after.at, true);
      if (first !== undefined && last !== undefined) {
        const delta = (key: string): number => (last.extra[key] ?? 0) - (first.extra[key] ?? 0);
        const proposals = delta("proposals");
        const entries = delta(`commit${phase.groupId}`);
        counted = `; its counters over ${((last.atMs - first.atMs) / 1000).toFixed(2)} s: ${delta("insertCalls")} Insert calls ` +
          `(${delta("forwardedCalls")} forwarded here), ${proposals} proposals` +
          `${proposals > 0 ? ` (${(events / proposals).toFixed(0)} events, ${(delta("insertCalls") / proposals).toFixed(2)} inserts each)` : ""}, ` +
          `group ${phase.groupId}: ${entries} entries (${(entries / phase.seconds).toFixed(0)}/s), leads it ${last.extra[`leads${phase.groupId}`] ?? "?"}; ` +
          sampleDifference(first, last, events);
      }
    } else {
      counted = `; ${sampleDifference(phase.before.client, phase.after.client, events)}`;
    }
    if (node !== undefined) counted += jitNews(join(phase.directory, "..", `n${node.nodeId}.log`), phase.before.logSizes[index] ?? 0);
    const connections = phase.after.connections.get(pid) ?? [];
    lines.push(`${name}: ${procText}; ${coreText}; ${connections.length} TCP connections (${connections.join(" ")})${counted}`);
  }
  const { machine: machineBefore } = phase.before;
  const { machine: machineAfter } = phase.after;
  if (machineBefore !== undefined && machineAfter !== undefined) {
    const busy = machineAfter.busy - machineBefore.busy;
    const total = busy + machineAfter.idle - machineBefore.idle + machineAfter.iowait - machineBefore.iowait + machineAfter.steal - machineBefore.steal;
    const share = (ticks: number): string => `${(100 * ticks / Math.max(1, total)).toFixed(1)} %`;
    lines.push(`machine (all cores): busy ${share(busy)}, of it this bench ${share(ourTicks)}, others ${share(busy - ourTicks)}; ` +
      `iowait ${share(machineAfter.iowait - machineBefore.iowait)}, steal ${share(machineAfter.steal - machineBefore.steal)}; ` +
      `busiest other processes (ticks): ${busiestProcesses(phase.before.all, phase.after.all, pids, 5).join(", ")}; ` +
      `dirty page cache ${(machineBefore.dirtyKilobytes / 1024).toFixed(0)} -> ${(machineAfter.dirtyKilobytes / 1024).toFixed(0)} MB, ` +
      `under writeback ${(machineAfter.writebackKilobytes / 1024).toFixed(0)} MB at the end`);
  }
  const { speed } = phase.after;
  lines.push(`core speed (client's probe, lower quartile of ${speed.samples}): ALU loop ${(speed.aluNanos / 1000).toFixed(0)} µs, ` +
    `memory walk ${(speed.memoryNanos / 5000).toFixed(0)} ns per load`);
  return lines;
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
  // TRACE=1: the nodes (spawned with this environment) and this client write latency traces to <data>/trace.
  const traceDirectory = process.env["TRACE"] === "1" ? join(directory, "trace") : undefined;
  let clientTrace: LatencyTrace | undefined;
  if (traceDirectory !== undefined) {
    mkdirSync(traceDirectory, { recursive: true });
    process.env["EVENTSTORE_TRACE"] = traceDirectory;
    clientTrace = startLatencyTrace({ path: join(traceDirectory, "client.trace"), now: () => performance.timeOrigin + performance.now() });
  }
  // DIAG=1: the nodes (via EVENTSTORE_DIAG) and this client sample their counters (see diagnosticsLines).
  const diagDirectory = process.env["DIAG"] === "1" ? join(directory, "diag") : undefined;
  let clientDiagnostics: ProcessDiagnostics | undefined;
  if (diagDirectory !== undefined) {
    mkdirSync(diagDirectory, { recursive: true });
    process.env["EVENTSTORE_DIAG"] = diagDirectory;
    clientDiagnostics = startProcessDiagnostics();
  }
  const cluster = await startLocalCluster({ dataDirectory: directory, groups: "1-4", flags });
  try {
    const store = await EventStore.connect(cluster.urls);
    await store.createStream("bench", FIELDS.map((name, index) => ({ name, type: "double" as const, aggregated: index < 2 })));
    // Inserts go straight to the stream's leader, asked again before each phase (test/bench/leader-insert-call.ts).
    const bench = await createLeaderInsertCall(cluster.nodes, "bench");
    const groupId = bench.groupId;
    await bench.find();
    const results: Record<string, { rate: number; p50: number; p99: number; p999: number; max: number; errors: number; offered: number | undefined }> = {};
    // The nodes' fixed cost: CPU over 3 s without inserts (ticks, heartbeats, the cluster manager).
    const idleBefore = cluster.nodes.map((node) => processCpuMicros(node.process?.pid));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // µs of CPU per second without load, per node (NaN when /proc is not there).
    const idlePerSecond = cluster.nodes.map((node, index) =>
      ((processCpuMicros(node.process?.pid) ?? NaN) - (idleBefore[index] ?? NaN)) / 3);
    console.log(`idle: node CPU ${cluster.nodes.map((node, index) =>
      `n${node.nodeId} ${(idlePerSecond[index]! / 10_000).toFixed(1)} %`).join(", ")} of a core`);
    // WARMUP seconds (default 12) of closed-loop sync inserts first, not measured: the nodes' first inserts run
    // unoptimized code on a fresh stream (the first 100 ms windows of a phase acked in 0.7-1.0 s without it), and
    // code run once per entry or proposal (~65/s) tiers up only after ~10-20 s of load: with 2 s each node still
    // ran 150-261 TurboFan compiles inside an 8 s phase and its main thread cost 8-25 % more per event than in a
    // later phase of the same process (docs/benchmarks.md, session 12, "why runs of one tree are fast or slow").
    const warmupErrors = new Map<string, number>();
    const warmupUntil = performance.now() + Number(process.env["WARMUP"] ?? 12) * 1000;
    await Promise.all(Array.from({ length: PRODUCERS }, async (_, producer) => {
      for (let sequence = 0; performance.now() < warmupUntil; sequence++) {
        await bench.call.insert("bench", wireEventsOf(batchOf(producer, sequence)), { timeoutMs: 10_000 }).catch((error: unknown) => {
          warmupErrors.set(String(error).slice(0, 160), (warmupErrors.get(String(error).slice(0, 160)) ?? 0) + 1);
        });
      }
    }));
    for (const [text, count] of warmupErrors) console.log(`  warm-up: ${count} × ${text}`);
    let storedBefore = Number((await store.info("bench")).eventCount);
    const logOffsets = new Map<number, number>();
    nodeLogNews(directory, cluster.nodes.map((node) => node.nodeId), logOffsets);
    // Phases: the closed-loop modes as given; "open" expands to one phase per OPEN_RATES entry.
    const phases: { mode: "sync" | "async" | "open"; label: string; rate?: string }[] = [];
    for (const mode of MODES) {
      if (mode !== "open") phases.push({ mode, label: mode });
      else for (const rate of OPEN_RATES) phases.push({ mode, label: `open ${rate}`, rate });
    }
    for (const { mode, label, rate: rateText } of phases) {
      let offered: number | undefined;
      if (mode === "open") {
        const share = rateText!.endsWith("%") ? Number(rateText!.slice(0, -1)) / 100 : undefined;
        const capacity = results["sync"]?.rate;
        if (share !== undefined && capacity === undefined) throw new Error(`OPEN_RATES ${rateText}: a percentage needs MODES to run sync first`);
        offered = share !== undefined ? share * capacity! : Number(rateText);
        if (!(Number.isFinite(offered) && offered > 0)) throw new Error(`OPEN_RATES entry '${rateText}': events/s or N% expected`);
      }
      await bench.find();
      if (process.env["PIN"] !== undefined) pinProcesses(process.env["PIN"], cluster.nodes, bench.leaderUrl);
      const acks: Ack[] = [];
      /** TRACE=1, open loop: each insert's key and times on the trace's clock. */
      const traced: ClientInsert[] = [];
      const diagBefore = diagDirectory === undefined ? undefined
        : { at: performance.timeOrigin + performance.now(), ...diagnosticsReading(cluster.nodes, clientDiagnostics!),
          late: Number((await store.info("bench")).lateEventCount), cores: startCoreSampler(diagPids(cluster.nodes)),
          logSizes: cluster.nodes.map((node) => fileSize(join(directory, `n${node.nodeId}.log`))),
          speed: startSpeedProbe() };
      const cpuBefore = cluster.nodes.map((node) => processCpuMicros(node.process?.pid));
      // The client (this process: producers' batches, their encoding, Connect) shares the cores too.
      const clientBefore = process.cpuUsage();
      // PERF=<dir>: each node's native and kernel samples over the phase window (perf record -p), e.g. to
      // see what the V8 profile's "(program)" is (native code with no JavaScript on the stack).
      const perfRecorders = startPerfRecorders(process.env["PERF"], label, cluster.nodes);
      const windowStart = monotonicMicros();
      let events = 0;
      let errors = 0;
      /** Open loop: inserts sent later than due by > 1 ms (the client itself could not keep the schedule). */
      let lateSends = 0;
      const errorTexts = new Map<string, number>();
      const until = performance.now() + SECONDS * 1000;
      const started = performance.now();
      /** Events of the inserts that failed: their outcome is unknown to this client (stored or not). */
      let erroredEvents = 0;
      const onError = (error: unknown, count: number): void => {
        errors += 1;
        erroredEvents += count;
        const text = String(error).slice(0, 160);
        errorTexts.set(text, (errorTexts.get(text) ?? 0) + 1);
      };
      if (mode !== "open") {
        await Promise.all(Array.from({ length: PRODUCERS }, async (_, producer) => {
          // One batch per producer, refilled in place: the hand-posted Insert sends the Float64Arrays as
          // views, free again once the awaited call settles (fresh ones were ~262 KB of the client's
          // garbage per insert). The open loop, with several in flight per producer, keeps fresh ones.
          const reused = batchOf(producer, 0);
          for (let sequence = 0; performance.now() < until; sequence++) {
            const batch = wireEventsOf(batchOf(producer, sequence, BATCH, reused));
            const sent = performance.now();
            try {
              // Not `events += (await …).accepted`: that reads `events` before the await and adds to the
              // stale value, losing the other producers' counts meanwhile (this bench reported ~1/PRODUCERS
              // of the events acknowledged, and PRODUCERS × the CPU per event, until session 7).
              const accepted = (await bench.call.insert("bench", batch, { async: mode === "async", timeoutMs: 10_000 })).accepted;
              events += accepted;
              acks.push({ dueMs: sent - started, latencyMs: performance.now() - sent });
            } catch (error) {
              onError(error, BATCH);
            }
          }
        }));
      } else {
        // Each producer offers INSERT events every `intervalMs`, staggered; an insert is sent when due
        // whatever is still unanswered, and its latency counts from when it was due.
        const intervalMs = INSERT * PRODUCERS / offered! * 1000;
        const inFlight: Promise<void>[] = [];
        await Promise.all(Array.from({ length: PRODUCERS }, async (_, producer) => {
          let due = started + producer * intervalMs / PRODUCERS;
          for (let sequence = 0; due < until; sequence++, due += intervalMs) {
            const wait = due - performance.now();
            if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
            const batch = wireEventsOf(batchOf(producer, sequence, INSERT));
            if (performance.now() - due > 1) lateSends += 1;
            const dueAt = due;
            const sentAt = performance.now();
            inFlight.push(bench.call.insert("bench", batch, { timeoutMs: 10_000 }).then((response) => {
              events += response.accepted;
              const ackAt = performance.now();
              acks.push({ dueMs: dueAt - started, latencyMs: ackAt - dueAt });
              if (clientTrace !== undefined) {
                const origin = performance.timeOrigin;
                traced.push({ key: batch.timestamps[0]!, dueMs: origin + dueAt, sentMs: origin + sentAt, ackMs: origin + ackAt });
                clientTrace.ack(batch.timestamps[0]!, origin + dueAt, origin + sentAt, origin + ackAt);
              }
            }, (error: unknown) => onError(error, INSERT)));
          }
        }));
        await Promise.all(inFlight);
      }
      const seconds = (performance.now() - started) / 1000;
      const clientUsed = process.cpuUsage(clientBefore);
      await stopPerfRecorders(perfRecorders);
      const diagAfter = diagBefore === undefined ? undefined
        : { at: performance.timeOrigin + performance.now(), ...diagnosticsReading(cluster.nodes, clientDiagnostics!),
          cores: diagBefore.cores.stop(), speed: diagBefore.speed.stop(), connections: connectionsOf(diagPids(cluster.nodes)) };
      const cpuPerEvent = cluster.nodes.map((node, index) => {
        const before = cpuBefore[index];
        const after = processCpuMicros(node.process?.pid);
        const role = node.url === bench.leaderUrl ? "leader" : "follower";
        if (before === undefined || after === undefined) return `n${node.nodeId} ?`;
        const marginal = (after - before - idlePerSecond[index]! * seconds) / Math.max(1, events);
        return `n${node.nodeId} (${role}) ${((after - before) / Math.max(1, events)).toFixed(2)} ` +
          `(${marginal.toFixed(2)} above idle)`;
      });
      console.log(`${label}: phase window (monotonic µs) ${windowStart} ${monotonicMicros()}; ` +
        `node CPU µs per event: ${cpuPerEvent.join(", ")}; client ` +
        `${((clientUsed.user + clientUsed.system) / Math.max(1, events)).toFixed(2)}; load ${loadavg().map((load) => load.toFixed(1)).join(" ")}`);
      const tail = tailReport(mode === "open" ? `ack from due time, ${Math.round(offered!)} events/s offered in inserts of ${INSERT}` +
        ` (${lateSends} sent > 1 ms late by the client)` : `ack, ${PRODUCERS} × ${BATCH} in flight`, acks);
      results[label] = { rate: events / seconds, ...tail, errors, offered };
      for (const [text, count] of errorTexts) console.log(`  ${count} × ${text}`);
      for (const line of nodeLogNews(directory, cluster.nodes.map((node) => node.nodeId), logOffsets)) console.log(`  log ${line}`);
      let info = await store.info("bench");
      // Every acknowledged event is stored and nothing else. An async insert is acknowledged when
      // buffered, so its phase ends with a tail still to apply: wait for it here (bounded: no progress
      // for 10 s is a loss), so that the tail is neither counted in the next phase's stored events
      // (session 8 flagged the open phase after an async one: 126,720 stored, 16,128 acknowledged, the
      // difference exactly the async tail) nor missed in this phase's check.
      let drainedMs = 0;
      if (mode === "async") {
        const drainStart = performance.now();
        let lastCount = Number(info.eventCount);
        let lastProgress = performance.now();
        while (Number(info.eventCount) - storedBefore < events && performance.now() - lastProgress < 10_000) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          info = await store.info("bench");
          if (Number(info.eventCount) !== lastCount) {
            lastCount = Number(info.eventCount);
            lastProgress = performance.now();
          }
        }
        drainedMs = performance.now() - drainStart;
      }
      const stored = Number(info.eventCount) - storedBefore;
      // A failed insert (timeout, a closed stream, Overloaded) may or may not be stored: stored may exceed the
      // acknowledged by at most its events. Fewer stored than acknowledged is a loss.
      const mismatch = stored < events || stored > events + erroredEvents;
      console.log(`  stream after ${label}: ${info.eventCount} events (${stored} in this phase, ${events} acknowledged` +
        `${stored > events && !mismatch ? `, ${stored - events} of ${erroredEvents} in failed inserts stored` : ""}` +
        `${mismatch ? ": MISMATCH" : ""}${mode === "async" ? `; async tail applied within ${drainedMs.toFixed(0)} ms` : ""})` +
        `, ${info.lateEventCount} of them late, ${info.blockCount} blocks`);
      if (diagBefore !== undefined && diagAfter !== undefined) {
        for (const line of await diagnosticsLines({ directory: diagDirectory!, nodes: cluster.nodes, groupId, leaderUrl: bench.leaderUrl,
          before: diagBefore, after: diagAfter, events, seconds, late: Number(info.lateEventCount) - diagBefore.late })) {
          console.log(`  diag ${line}`);
        }
      }
      storedBefore = Number(info.eventCount);
      if (traceDirectory !== undefined && traced.length > 0) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const traces = new Map([...cluster.nodes.map((node) => `n${node.nodeId}`), "client"].map((name) => {
          let text = "";
          try {
            text = readFileSync(join(traceDirectory, `${name}.trace`), "utf8");
          } catch {
            // A process that recorded nothing yet.
          }
          return [name, parseTrace(text)] as const;
        }));
        const sorted = traced.map((insert) => insert.ackMs - insert.dueMs).sort((a, b) => a - b);
        const p95 = percentile(sorted, 0.95);
        const worst = traced.filter((insert) => insert.ackMs - insert.dueMs > p95).sort((a, b) => (b.ackMs - b.dueMs) - (a.ackMs - a.dueMs));
        console.log(`  trace: the ${worst.length} acks above p95 (${p95.toFixed(1)} ms), steps in ms | GC and loop gaps meanwhile per process => largest step: cause`);
        for (const line of traceReportLines(traceAcks(worst, traces, groupId))) console.log(line);
      }
      console.log(`${label}: ${Math.round(events / seconds)} events/s, ack p50 ${tail.p50.toFixed(1)} ms, p99 ${tail.p99.toFixed(1)} ms, ` +
        `p999 ${tail.p999.toFixed(1)} ms, ${errors} errors, ratio to engine alone ${(events / seconds / baseline).toFixed(3)}`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    console.log(`\n| mode | events/s | p50 ack | p99 ack | p999 ack | errors | ÷ engine alone |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |`);
    console.log(`| engine alone (1 process) | ${Math.round(baseline)} | | | | | 1 |`);
    if (nats !== undefined) {
      console.log(`| NATS JetStream R3, async publish, ${PRODUCERS} × 256 in flight | ${Math.round(nats.rate)} | ${nats.p50.toFixed(1)} ms | ${nats.p99.toFixed(1)} ms | | | ${(nats.rate / baseline).toFixed(3)} |`);
    }
    for (const [label, result] of Object.entries(results)) {
      const what = result.offered === undefined ? `${label}, R3, ${PRODUCERS} producers × ${BATCH} events in flight`
        : `${label} (sync, open loop), R3, ${Math.round(result.offered)} events/s offered in inserts of ${INSERT}`;
      console.log(`| ${what} | ${Math.round(result.rate)} | ${result.p50.toFixed(1)} ms | ${result.p99.toFixed(1)} ms | ` +
        `${result.p999.toFixed(1)} ms | ${result.errors} | ${(result.rate / baseline).toFixed(3)} |`);
    }
    console.log(`(goal of issue #8: p99 ack <= 2 × flushDelayMs = ${GOAL_MS} ms)`);
    console.log(`\n(${cpus} cores, ${SECONDS} s per mode, 64-byte events: timestamp + 7 doubles)`);
    store.close();
    bench.close();
  } finally {
    clientTrace?.stop();
    clientDiagnostics?.stop();
    await cluster.stop();
    // KEEP=1: the nodes' data and logs (n<id>.log) stay for a look afterwards.
    if (process.env["KEEP"] === "1") console.log(`kept ${directory}`);
    else await rm(directory, { recursive: true, force: true });
  }
}

await run();
process.exit(0);

/** PERF=<dir>: `perf record` on each node's process for one phase (files <dir>/<phase>-n<id>.data); none without. */
function startPerfRecorders(directory: string | undefined, label: string, nodes: readonly LocalNode[]): ChildProcess[] {
  if (directory === undefined || directory === "") return [];
  mkdirSync(directory, { recursive: true });
  return nodes.flatMap((node) => {
    const pid = node.process?.pid;
    if (pid === undefined) return [];
    const output = join(directory, `${label.replace(/[^a-z0-9]+/gi, "-")}-n${node.nodeId}.data`);
    console.log(`  perf: n${node.nodeId} pid ${pid} -> ${output}`);
    return [spawn("perf", ["record", "-q", "-F", "1999", "-p", String(pid), "-o", output], { stdio: "ignore" })];
  });
}

async function stopPerfRecorders(recorders: readonly ChildProcess[]): Promise<void> {
  await Promise.all(recorders.map((recorder) => new Promise<void>((resolve) => {
    if (recorder.exitCode !== null || recorder.signalCode !== null) {
      resolve();
      return;
    }
    recorder.once("exit", () => resolve());
    recorder.kill("SIGINT");
  })));
}
