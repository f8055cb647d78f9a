/**
 * Cluster benchmark (npm run bench:cluster): 3 `raftkit start` processes on
 * this machine, driven through the raw gateway by GatewayClient.
 *   1. throughput and latency of replicated 64 B kv puts, 1 group and 64 groups,
 *      against a baseline measured in the same run: stale reads through the same
 *      gateway (same client, same connections, no raft round) — the ceiling of
 *      one unary call per command;
 *   2. idle cost of 10,000 quiesced groups per node (CPU % and RSS from /proc);
 *   3. failover: SIGKILL of a leader → first committed write of each of its
 *      groups, in election timeouts.
 *   1b. the same puts through ExecuteBatch from several client processes
 *      (test/bench/cluster-client.ts): --clients N (default 3), --lanes N calls
 *      in flight per node and client (default 4), --batch N puts per call
 *      (default 256);
 * Options: --seconds N (per throughput run, default 8), --idle-groups N
 * (default 10000), --skip-idle, --skip-failover, --skip-unary, --skip-batched,
 * --node-flags "..." (extra `raftkit start` flags for the throughput cluster's
 * nodes, e.g. to turn a host setting off for an A/B).
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { encodeKvRequest, KvOp } from "../../framework/statemachine/index.js";
import { ExecuteKind, ReadConsistency } from "../../gen/raftkit/v1/gateway_pb.js";
import { GroupRole } from "../../gen/raftkit/v1/node_pb.js";
import { leadersOf, waitForLeaders } from "../integration/cluster/cluster-checks.js";
import { GatewayClient } from "../integration/cluster/gateway-client.js";
import { ProcessCluster, projectRoot, waitUntil } from "../integration/cluster/node-processes.js";
import type { ClientPlan, ClientReport } from "./cluster-client.js";

const { values: options } = parseArgs({
  options: {
    seconds: { type: "string", default: "8" },
    "idle-groups": { type: "string", default: "10000" },
    "skip-idle": { type: "boolean", default: false },
    "skip-failover": { type: "boolean", default: false },
    "skip-unary": { type: "boolean", default: false },
    "skip-batched": { type: "boolean", default: false },
    // Stop the nodes with SIGTERM at the end (they then write e.g. --cpu-prof profiles from NODE_OPTIONS).
    "graceful-close": { type: "boolean", default: false },
    clients: { type: "string", default: "3" },
    lanes: { type: "string", default: "4" },
    batch: { type: "string", default: "256" },
    "node-flags": { type: "string", default: "" },
  },
});
const seconds = Number(options.seconds);
const idleGroups = Number(options["idle-groups"]);
const tickMs = 100;
const electionTicks = 10;
const electionTimeoutMs = tickMs * electionTicks;
const timing = ["--tick-ms", String(tickMs), "--election-ticks", String(electionTicks), "--heartbeat-ticks", "1"];

interface Run {
  readonly operations: number;
  readonly seconds: number;
  readonly latenciesMs: number[];
  readonly errors: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function describeRun(name: string, run: Run, baseline?: Run): string {
  const sorted = [...run.latenciesMs].sort((a, b) => a - b);
  const rate = run.operations / run.seconds;
  const ratio = baseline === undefined ? "" : `, ${(rate / (baseline.operations / baseline.seconds)).toFixed(2)}× baseline`;
  return `${name}: ${rate.toFixed(0)} ops/s (${run.operations} in ${run.seconds.toFixed(1)} s, ${run.errors} errors), ` +
    `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms${ratio}`;
}

/** `inFlight` loops issuing `operation` back to back for `durationMs`. */
async function drive(inFlight: number, durationMs: number, operation: (lane: number, sequence: number) => Promise<void>): Promise<Run> {
  const latenciesMs: number[] = [];
  let operations = 0;
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(Array.from({ length: inFlight }, async (_, lane) => {
    for (let sequence = 0; performance.now() < end; sequence++) {
      const begun = performance.now();
      try {
        await operation(lane, sequence);
        latenciesMs.push(performance.now() - begun);
        operations++;
      } catch {
        errors++;
      }
    }
  }));
  return { operations, seconds: (performance.now() - start) / 1000, latenciesMs, errors };
}

/** A 64-byte kv put: op + key length + 8-byte key + 51-byte value. */
function command(groupId: number, lane: number, sequence: number): Uint8Array {
  const key = new TextEncoder().encode(`${(lane * 1_000_003 + sequence) % 1e8}`.padStart(8, "0"));
  const encoded = encodeKvRequest({ op: KvOp.Put, key, value: new Uint8Array(51).fill(groupId % 251) });
  if (encoded.byteLength !== 64) throw new Error(`command of ${encoded.byteLength} bytes, expected 64`);
  return encoded;
}

async function throughput(cluster: ProcessCluster, client: GatewayClient, groups: number, inFlight: number): Promise<string[]> {
  const groupIds = Array.from({ length: groups }, (_, i) => i + 1);
  await waitForLeaders(client, [1, 2, 3], groupIds);
  const query = encodeKvRequest({ op: KvOp.Get, key: new TextEncoder().encode("00000000") });
  const groupOf = (lane: number): number => groupIds[lane % groups]!;
  // Warm the leader cache and the connections.
  await drive(inFlight, 1000, (lane, sequence) => client.execute(groupOf(lane), ExecuteKind.COMMAND, command(groupOf(lane), lane, sequence)).then(() => {}));
  const baseline = await drive(inFlight, seconds * 1000, (lane) =>
    client.execute(groupOf(lane), ExecuteKind.QUERY, query, { consistency: ReadConsistency.STALE, nodeId: client.leaderOf(groupOf(lane)) }).then(() => {}),
  );
  const cpuBefore = cpuMsOf(cluster);
  const writes = await drive(inFlight, seconds * 1000, (lane, sequence) =>
    client.execute(groupOf(lane), ExecuteKind.COMMAND, command(groupOf(lane), lane, sequence)).then(() => {}),
  );
  const cpu = cpuMsOf(cluster).map((ms, i) => ((ms - cpuBefore[i]!) / (writes.seconds * 10)).toFixed(0));
  return [
    describeRun(`  baseline, stale reads, ${groups} group(s), ${inFlight} in flight`, baseline),
    describeRun(`  replicated 64 B puts, ${groups} group(s), ${inFlight} in flight`, writes, baseline),
    `  node CPU during puts: ${cpu.map((percent, i) => `n${i + 1} ${percent} %`).join(", ")}`,
  ];
}

/**
 * Replicated puts through GatewayService.ExecuteBatch from `clients` client
 * processes (test/bench/cluster-client.ts), each with `lanes` calls in flight
 * per node, `batch` puts per call, all to groups that node leads.
 */
async function batchedThroughput(cluster: ProcessCluster, client: GatewayClient, groups: number): Promise<string[]> {
  const groupIds = Array.from({ length: groups }, (_, i) => i + 1);
  const leaders = await waitForLeaders(client, [1, 2, 3], groupIds);
  const clients = Number(options.clients);
  const plans = Array.from({ length: clients }, (_, clientId) => ({
    clientId,
    urls: Object.fromEntries(cluster.nodes.map((node) => [String(node.nodeId), node.url])),
    // Only the benchmark's groups: the node also hosts the cluster manager's meta group.
    leaders: Object.fromEntries(groupIds.map((groupId) => [String(groupId), leaders.get(groupId)!])),
    lanesPerNode: Number(options.lanes),
    batch: Number(options.batch),
  }));
  const children = plans.map(startClientProcess);
  await Promise.all(children.map((child) => child.ready));
  const warmupMs = 1500;
  const startAt = Date.now() + warmupMs;
  const stopAt = startAt + seconds * 1000;
  for (const child of children) child.go(startAt, stopAt);
  const cpuAt = new Promise<number[]>((done) => setTimeout(() => done(cpuMsOf(cluster)), startAt - Date.now()));
  const cpuEnd = new Promise<number[]>((done) => setTimeout(() => done(cpuMsOf(cluster)), stopAt - Date.now()));
  // The client processes share the machine's cores with the nodes: their CPU per put counts too.
  const clientPids = children.map((child) => child.pid);
  const clientCpuAt = new Promise<number>((done) => setTimeout(() => done(sumCpuMs(clientPids)), startAt - Date.now()));
  const clientCpuEnd = new Promise<number>((done) => setTimeout(() => done(sumCpuMs(clientPids)), stopAt - Date.now()));
  const entriesAt = new Promise<number>((done) => setTimeout(() => done(committedEntries(client, leaders)), startAt - Date.now()));
  const entriesEnd = new Promise<number>((done) => setTimeout(() => done(committedEntries(client, leaders)), stopAt - Date.now()));
  const reports = await Promise.all(children.map((child) => child.report));
  const [before, after] = await Promise.all([cpuAt, cpuEnd]);
  const entries = (await entriesEnd) - (await entriesAt);
  const operations = reports.reduce((sum, report) => sum + report.operations, 0);
  const failures = reports.reduce((sum, report) => sum + report.failures, 0);
  const calls = reports.reduce((sum, report) => sum + report.calls, 0);
  const failedCalls = reports.reduce((sum, report) => sum + report.failedCalls, 0);
  const latencies = reports.flatMap((report) => report.latenciesMs).sort((a, b) => a - b);
  const cpu = after.map((ms, i) => ((ms - before[i]!) / (seconds * 10)).toFixed(0));
  const cpuMs = after.reduce((sum, ms, i) => sum + ms - before[i]!, 0);
  const notLeader = reports.reduce((sum, report) => sum + report.notLeader, 0);
  const perPut = operations === 0 ? "n/a" : `${((cpuMs * 1000) / operations).toFixed(1)} µs`;
  const clientCpuMs = (await clientCpuEnd) - (await clientCpuAt);
  const clientPerPut = operations === 0 ? "n/a" : `${((clientCpuMs * 1000) / operations).toFixed(1)} µs`;
  return [
    `  replicated 64 B puts, ${groups} groups, ExecuteBatch: ${clients} client processes × ` +
      `${options.lanes} calls in flight per node × ${options.batch} puts per call: ` +
      `${(operations / seconds).toFixed(0)} puts/s (${operations} in ${seconds} s, ${failures} failed outcomes ` +
      `(${notLeader} NotLeader), ${calls} calls, ${failedCalls} failed calls), ` +
      `p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
    // Failed outcomes by kind (code and message, or why the whole call failed), the most frequent first.
    ...reports.flatMap((report) =>
      Object.entries(report.failureKinds)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([kind, count]) => `  client ${report.clientId}: ${count} failed × ${kind}`),
    ),
    `  node CPU during batched puts: ${cpu.map((percent, i) => `n${i + 1} ${percent} %`).join(", ")}; ` +
      `CPU of the three nodes per put: ${perPut}`,
    `  client processes' CPU: ${(clientCpuMs / (seconds * 10)).toFixed(0)} % of one core in all, ${clientPerPut} per put; ` +
      `load average at the end ${loadavg().map((load) => load.toFixed(2)).join(" ")}`,
    // Commit indexes asked at the window's start and end (each ask takes a moment: approximate).
    `  raft entries committed in the window: ${entries} for ${operations} puts (` +
      `${operations === 0 ? "n/a" : (entries / operations).toFixed(3)} entries per put; < 1: several puts per entry)`,
  ];
}

/** Sum of the commit indexes of the groups, each asked of its leader. */
async function committedEntries(client: GatewayClient, leaders: ReadonlyMap<number, number>): Promise<number> {
  const byNode = new Map<number, number[]>();
  for (const [groupId, nodeId] of leaders) byNode.set(nodeId, [...(byNode.get(nodeId) ?? []), groupId]);
  let sum = 0;
  for (const [nodeId, groupIds] of byNode) {
    const status = await client.status(nodeId, groupIds);
    for (const group of status.groups) sum += Number(group.commitIndex);
  }
  return sum;
}

interface ClientProcess {
  readonly pid: number;
  /** Resolves once the client has loaded and waits for its start time. */
  readonly ready: Promise<void>;
  go(startAt: number, stopAt: number): void;
  readonly report: Promise<ClientReport>;
}

function startClientProcess(plan: Omit<ClientPlan, "startAt" | "stopAt">): ClientProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "test/bench/cluster-client.ts", JSON.stringify(plan)], {
    cwd: projectRoot,
    stdio: ["pipe", "pipe", "inherit"],
  });
  let output = "";
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((done) => (signalReady = done));
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    if (output.startsWith("ready\n")) signalReady();
  });
  const report = new Promise<ClientReport>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`client ${plan.clientId} exited with ${code}`));
      else resolve(JSON.parse(output.trim().split("\n").at(-1)!));
    });
  });
  return {
    pid: child.pid!,
    ready: Promise.race([ready, report.then(() => {})]),
    go: (startAt, stopAt) => child.stdin.end(`${JSON.stringify({ startAt, stopAt })}\n`),
    report,
  };
}

const clockTicksPerSecond = 100; // getconf CLK_TCK on Linux

function cpuMsOfPid(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicksPerSecond;
}

function cpuMsOf(cluster: ProcessCluster): number[] {
  return cluster.nodes.map((node) => cpuMsOfPid(node.pid!));
}

function sumCpuMs(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMsOfPid(pid), 0);
}

function rssMiBOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((text) => text.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

async function failover(cluster: ProcessCluster, client: GatewayClient, groups: number): Promise<string[]> {
  const groupIds = Array.from({ length: groups }, (_, i) => i + 1);
  const leaders = await waitForLeaders(client, [1, 2, 3], groupIds);
  const counts = [1, 2, 3].map((id) => [...leaders.values()].filter((leader) => leader === id).length);
  const victim = counts.indexOf(Math.max(...counts)) + 1;
  const victimGroups = groupIds.filter((groupId) => leaders.get(groupId) === victim);
  let killedAt = 0;
  const resumedAfterMs = new Map<number, number>();
  let stop = false;
  const loops = victimGroups.map(async (groupId) => {
    for (let sequence = 0; !stop; sequence++) {
      try {
        await client.execute(groupId, ExecuteKind.COMMAND, command(groupId, 999, sequence), { deadlineMs: 30_000, idempotent: true });
        if (killedAt > 0 && !resumedAfterMs.has(groupId)) resumedAfterMs.set(groupId, performance.now() - killedAt);
      } catch {
        // keep trying until the group is back
      }
    }
  });
  await new Promise((done) => setTimeout(done, 1000));
  const retriesBefore = client.retries;
  killedAt = performance.now();
  await cluster.node(victim).stop("SIGKILL");
  // Where the time goes: when a survivor first reports itself leader of each group (polled).
  const survivors = [1, 2, 3].filter((id) => id !== victim);
  const electedAfterMs = new Map<number, number>();
  // Only the victim's groups, every 50 ms: a Status of all groups (with digests) would load the nodes.
  const pollElections = (async () => {
    while (electedAfterMs.size < victimGroups.length && !stop) {
      const statuses = await Promise.all(survivors.map((id) => client.status(id, victimGroups).catch(() => undefined)));
      for (const status of statuses) {
        for (const group of status?.groups ?? []) {
          const groupId = Number(group.groupId);
          if (group.role === GroupRole.LEADER && !electedAfterMs.has(groupId)) electedAfterMs.set(groupId, performance.now() - killedAt);
        }
      }
      await new Promise((done) => setTimeout(done, 50));
    }
  })();
  await waitUntil("every group of the killed leader to commit again", () => resumedAfterMs.size === victimGroups.length, 60_000);
  stop = true;
  await Promise.all([...loops, pollElections]);
  const sorted = [...resumedAfterMs.values()].sort((a, b) => a - b);
  const elected = [...electedAfterMs.values()].sort((a, b) => a - b);
  const lag = victimGroups
    .filter((groupId) => electedAfterMs.has(groupId))
    .map((groupId) => resumedAfterMs.get(groupId)! - electedAfterMs.get(groupId)!)
    .sort((a, b) => a - b);
  const inTimeouts = (ms: number): string => `${(ms / electionTimeoutMs).toFixed(2)}× (${ms.toFixed(0)} ms)`;
  const hints = survivors.map((id) => {
    const lines = cluster.node(id).logLines().filter((line) => String(line["msg"]).startsWith("peer disconnected"));
    return `n${id}: ${lines.map((line) => `${String(line["groups"])} groups`).join(", ") || "none"}`;
  });
  await cluster.node(victim).start();
  return [
    `  killed n${victim}, leader of ${victimGroups.length} of ${groups} groups, writes in flight on each;`,
    `  first committed write after the kill: median ${inTimeouts(percentile(sorted, 50))}, ` +
      `p90 ${inTimeouts(percentile(sorted, 90))}, max ${inTimeouts(sorted.at(-1)!)} of the ${electionTimeoutMs} ms election timeout`,
    `  new leader seen (Status polled every ~50 ms): median ${inTimeouts(percentile(elected, 50))}, ` +
      `max ${inTimeouts(elected.at(-1) ?? Number.NaN)}; from then to the write: median ${percentile(lag, 50).toFixed(0)} ms, ` +
      `max ${(lag.at(-1) ?? Number.NaN).toFixed(0)} ms; client retries ${client.retries - retriesBefore}`,
    `  disconnect hints acted on (NodeHost.onPeerDisconnected): ${hints.join("; ")}`,
    `  per group, kill → first write (ms): ${sorted.map((ms) => ms.toFixed(0)).join(" ")}`,
  ];
}

async function idle(): Promise<string[]> {
  const cluster = await ProcessCluster.create({
    nodes: 3,
    groups: `1-${idleGroups}`,
    // The framework's own cost at rest; the cluster manager's is measured apart
    // (docs/benchmarks.md "Cluster manager").
    flags: [...timing, "--quiesce-after-ticks", "10", "--cluster-manager", "off"],
  });
  try {
    const startedAt = performance.now();
    await cluster.startAll(900_000);
    const client = new GatewayClient(new Map(cluster.nodes.map((node) => [node.nodeId, node.url])));
    const bootSeconds = (performance.now() - startedAt) / 1000;
    await waitUntil("all groups quiesced", async () => {
      const statuses = await Promise.all([1, 2, 3].map((id) => client.status(id, [1])));
      return statuses.every((status) => status.node!.quiescedGroupCount === idleGroups);
    }, 600_000);
    const settledSeconds = (performance.now() - startedAt) / 1000;
    await new Promise((done) => setTimeout(done, 2000));
    const before = cpuMsOf(cluster);
    const windowMs = 10_000;
    await new Promise((done) => setTimeout(done, windowMs));
    const after = cpuMsOf(cluster);
    const lines = cluster.nodes.map((node, i) =>
      `  n${node.nodeId}: CPU ${(((after[i]! - before[i]!) / windowMs) * 100).toFixed(1)} % of one core, RSS ${rssMiBOf(node.pid!).toFixed(0)} MiB`,
    );
    return [
      `  ${idleGroups} groups per node, all quiesced (started in ${bootSeconds.toFixed(0)} s, all quiet after ${settledSeconds.toFixed(0)} s); over ${windowMs / 1000} s:`,
      ...lines,
    ];
  } finally {
    await cluster.close();
  }
}

async function main(): Promise<void> {
  const report = { push: (...lines: string[]) => console.log(lines.join("\n")) };
  report.push(`cluster benchmark: 3 node processes, ${seconds} s per run, election timeout ${electionTimeoutMs} ms`);
  // Without the cluster manager: its controller spreads the 64 static groups' leaders
  // by leadership transfer while the run is under way (proposals dropped), and the
  // figures stay comparable with earlier sessions'.
  const cluster = await ProcessCluster.create({
    nodes: 3,
    groups: "1-64",
    flags: [
      ...timing,
      "--quiesce-after-ticks",
      "30",
      "--cluster-manager",
      "off",
      ...options["node-flags"].split(" ").filter((flag) => flag !== ""),
    ],
  });
  try {
    await cluster.startAll();
    // A short backoff cap, so retries add little to the measured failover time.
    const client = new GatewayClient(new Map(cluster.nodes.map((node) => [node.nodeId, node.url])), 50);
    report.push("throughput:");
    if (!options["skip-unary"]) {
      report.push(...(await throughput(cluster, client, 1, 64)));
      report.push(...(await throughput(cluster, client, 64, 256)));
    }
    if (!options["skip-batched"]) report.push(...(await batchedThroughput(cluster, client, 64)));
    if (!options["skip-failover"]) {
      report.push("failover:");
      report.push(...(await failover(cluster, client, 64)));
    }
  } finally {
    if (options["graceful-close"]) await Promise.all(cluster.nodes.map((node) => node.stop("SIGTERM")));
    await cluster.close();
  }
  if (!options["skip-idle"]) {
    report.push("idle:");
    report.push(...(await idle()));
  }
}

await main();
