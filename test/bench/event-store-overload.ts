/**
 * Event store overload benchmark (issue #8: under 1.5-3x overload the
 * acknowledged rate stays near the sustainable one). 3 node processes on
 * this box, one stream, inserts of INSERT events (default 256, the service
 * bench's open-loop size) posted straight to the stream's leader:
 *
 * 1. closed loop: CLOSED_PRODUCERS (default 64) producers, one sync insert
 *    each in flight — the sustainable rate S for this insert size, and the
 *    leader's CPU per acknowledged event when it keeps up;
 * 2. open loop at each of RATES (default 150%,300% of S, or events/s):
 *    OPEN_PRODUCERS (default 4) producers offer their share on a fixed
 *    schedule whatever the answers do, no retries (a refused insert is an
 *    offer the cluster declined).
 *
 * Per phase: acknowledged events/s, Overloaded refusals/s (and other
 * errors), inserts sent > 1 ms late by this client, p50/p99 of the admitted
 * inserts' acks counted from their due time, the leader's and followers'
 * CPU per acknowledged event, the leader's CPU per refused insert (its CPU
 * beyond the acknowledged events at the closed loop's per-event cost,
 * divided by the refusals: an estimate), the leader's largest RSS, node log
 * lines naming a campaign or a stall, and stored = acknowledged.
 *
 *   SECONDS=8 npx tsx test/bench/event-store-overload.ts      # WARMUP=12 s of closed-loop inserts first
 *   SECONDS=8 RATES=150%,300% EVENTSTORE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npx tsx test/bench/event-store-overload.ts
 *
 * Runs node processes: under the bench lock (docs/testing.md).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore } from "../../examples/event-store/client/index.js";
import type { WireEvents } from "../../examples/event-store/service/insert-wire.js";
import { startLocalCluster } from "../../examples/event-store/start/local-cluster.js";
import { createLeaderInsertCall } from "./leader-insert-call.js";
import { processCpuMicros } from "./process-cpu.js";

const SECONDS = Number(process.env["SECONDS"] ?? 8);
const INSERT = Number(process.env["INSERT"] ?? 256);
const CLOSED_PRODUCERS = Number(process.env["CLOSED_PRODUCERS"] ?? 64);
const OPEN_PRODUCERS = Number(process.env["OPEN_PRODUCERS"] ?? 4);
const RATES = (process.env["RATES"] ?? "150%,300%").split(",").filter((rate) => rate !== "");
/** The client's deadline per insert (the service bench's). */
const TIMEOUT_MS = Number(process.env["TIMEOUT_MS"] ?? 10_000);
const FIELDS = ["f0", "f1", "f2", "f3", "f4", "f5", "f6"];

/** Resident set size of a process in bytes (/proc), 0 when unknown. */
function residentBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** A producer's insert: timestamps from now, 7 double columns. */
function eventsOf(producer: number, sequence: number, producers: number): WireEvents {
  const base = Date.now() * 1000 + producer;
  const timestamps = new Float64Array(INSERT);
  for (let row = 0; row < INSERT; row++) timestamps[row] = base + row * producers;
  return {
    timestamps,
    columns: FIELDS.map((name, index) => {
      const values = new Float64Array(INSERT);
      for (let row = 0; row < INSERT; row++) values[row] = (sequence + row * (index + 1)) % 1000 / 8;
      return { name, values: { case: "doubles" as const, values } };
    }),
    ids: [],
  };
}

const percentile = (sorted: readonly number[], share: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? NaN;

/** Lines of the node logs written since `offsets` (advanced) naming a campaign, a stall or a failure. */
function nodeLogNews(directory: string, nodeIds: readonly number[], offsets: Map<number, number>): string[] {
  const lines: string[] = [];
  for (const nodeId of nodeIds) {
    const path = join(directory, `n${nodeId}.log`);
    try {
      const size = statSync(path).size;
      const text = readFileSync(path).subarray(offsets.get(nodeId) ?? 0).toString("utf8");
      offsets.set(nodeId, size);
      for (const line of text.split("\n")) {
        if (/stall|campaign|became leader|stepped down|fail/i.test(line)) lines.push(`n${nodeId}: ${line.slice(0, 240)}`);
      }
    } catch {
      // no log yet
    }
  }
  return lines;
}

async function run(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), "es-overload-"));
  const cluster = await startLocalCluster({ dataDirectory: directory, groups: "1-4" });
  try {
    const store = await EventStore.connect(cluster.urls);
    await store.createStream("bench", FIELDS.map((name, index) => ({ name, type: "double" as const, aggregated: index < 2 })));
    const bench = await createLeaderInsertCall(cluster.nodes, "bench");
    // The cluster manager spreads the groups' leaders ~15 s after start (a leader transfer per group):
    // SETTLE seconds idle first, so that no phase loses its leader to it, then WARMUP s of inserts.
    await new Promise((resolve) => setTimeout(resolve, Number(process.env["SETTLE"] ?? 14) * 1000));
    await bench.find();
    // WARMUP 12 s by default: with less, the nodes are still tiering up (TurboFan) during the phases and a
    // run's CPU per event depends on how far they got (BIMODAL, session 12: the service bench's slow runs).
    const warmupUntil = performance.now() + Number(process.env["WARMUP"] ?? 12) * 1000;
    await Promise.all(Array.from({ length: CLOSED_PRODUCERS }, async (_, producer) => {
      for (let sequence = 0; performance.now() < warmupUntil; sequence++) {
        await bench.call.insert("bench", eventsOf(producer, sequence, CLOSED_PRODUCERS), { timeoutMs: TIMEOUT_MS }).catch(() => undefined);
      }
    }));
    let storedBefore = Number((await store.info("bench")).eventCount);
    const logOffsets = new Map<number, number>();
    const nodeIds = cluster.nodes.map((node) => node.nodeId);
    nodeLogNews(directory, nodeIds, logOffsets);
    let sustainable: number | undefined;
    let leaderMicrosPerAck: number | undefined;
    const rows: string[] = [];
    for (const phase of ["closed", ...RATES]) {
      await bench.find();
      const leader = cluster.nodes.find((node) => node.url === bench.leaderUrl)!;
      const cpuBefore = cluster.nodes.map((node) => processCpuMicros(node.process?.pid));
      const clientBefore = process.cpuUsage();
      let acknowledged = 0;
      let overloaded = 0;
      /** Of those, refused by this client unsent (its waiting bound), not by the leader. */
      let refusedUnsent = 0;
      let failedEvents = 0;
      let lateSends = 0;
      let offeredInserts = 0;
      const latencies: number[] = [];
      const errors = new Map<string, number>();
      let rssMax = 0;
      const rssTimer = setInterval(() => { rssMax = Math.max(rssMax, residentBytes(leader.process?.pid)); }, 250);
      const windowStart = process.hrtime.bigint() / 1000n;
      const started = performance.now();
      const until = started + SECONDS * 1000;
      const onError = (error: unknown): void => {
        const connectError = ConnectError.from(error);
        if (connectError.code === Code.ResourceExhausted) {
          overloaded += 1;
          if (connectError.rawMessage.includes(": not sent, ")) refusedUnsent += 1;
        }
        else {
          failedEvents += INSERT;
          const text = connectError.message.slice(0, 140);
          errors.set(text, (errors.get(text) ?? 0) + 1);
        }
      };
      let offered: number | undefined;
      if (phase === "closed") {
        await Promise.all(Array.from({ length: CLOSED_PRODUCERS }, async (_, producer) => {
          for (let sequence = 0; performance.now() < until; sequence++) {
            const sent = performance.now();
            offeredInserts += 1;
            try {
              // Not `acknowledged += (await …).accepted`: that adds to the value read before the await.
              const accepted = (await bench.call.insert("bench", eventsOf(producer, sequence, CLOSED_PRODUCERS), { timeoutMs: TIMEOUT_MS })).accepted;
              acknowledged += accepted;
              latencies.push(performance.now() - sent);
            } catch (error) {
              onError(error);
            }
          }
        }));
      } else {
        const share = phase.endsWith("%") ? Number(phase.slice(0, -1)) / 100 : undefined;
        offered = share !== undefined ? share * sustainable! : Number(phase);
        const intervalMs = INSERT * OPEN_PRODUCERS / offered * 1000;
        const inFlight: Promise<void>[] = [];
        await Promise.all(Array.from({ length: OPEN_PRODUCERS }, async (_, producer) => {
          let due = started + producer * intervalMs / OPEN_PRODUCERS;
          for (let sequence = 0; due < until; sequence++, due += intervalMs) {
            const wait = due - performance.now();
            if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
            if (performance.now() - due > 1) lateSends += 1;
            const dueAt = due;
            offeredInserts += 1;
            inFlight.push(bench.call.insert("bench", eventsOf(producer, sequence, OPEN_PRODUCERS), { timeoutMs: TIMEOUT_MS }).then((response) => {
              acknowledged += response.accepted;
              latencies.push(performance.now() - dueAt);
            }, onError));
          }
        }));
        await Promise.all(inFlight);
      }
      clearInterval(rssTimer);
      const seconds = (performance.now() - started) / 1000;
      const client = process.cpuUsage(clientBefore);
      const used = cluster.nodes.map((node, index) => (processCpuMicros(node.process?.pid) ?? NaN) - (cpuBefore[index] ?? NaN));
      const leaderIndex = cluster.nodes.indexOf(leader);
      const leaderMicros = used[leaderIndex]!;
      const rate = acknowledged / seconds;
      if (phase === "closed") {
        sustainable = rate;
        leaderMicrosPerAck = leaderMicros / Math.max(1, acknowledged);
      }
      const leaderRefusals = overloaded - refusedUnsent;
      const refusalMicros = leaderRefusals === 0 ? NaN : (leaderMicros - acknowledged * leaderMicrosPerAck!) / leaderRefusals;
      const refusalText = leaderRefusals === 0 ? "- (none)" : refusalMicros.toFixed(0);
      const sorted = latencies.sort((a, b) => a - b);
      const info = await store.info("bench");
      const stored = Number(info.eventCount) - storedBefore;
      storedBefore = Number(info.eventCount);
      const label = phase === "closed" ? `closed loop, ${CLOSED_PRODUCERS} × ${INSERT} in flight` : `open ${phase} (${Math.round(offered!)} events/s offered)`;
      const followers = used.filter((_, index) => index !== leaderIndex).map((micros) => (micros / Math.max(1, acknowledged)).toFixed(2)).join(", ");
      console.log(`${label}: ${Math.round(rate)} events/s acknowledged (${offeredInserts} inserts offered), ` +
        `${(overloaded / seconds).toFixed(0)} Overloaded/s (${overloaded}, ${refusedUnsent} of them by this client unsent), ` +
        `${[...errors.values()].reduce((a, b) => a + b, 0)} other errors, ` +
        `${phase === "closed" ? "" : `${(100 * lateSends / Math.max(1, offeredInserts)).toFixed(1)} % sent > 1 ms late, `}` +
        `ack p50 ${percentile(sorted, 0.5).toFixed(1)} / p99 ${percentile(sorted, 0.99).toFixed(1)} ms; ` +
        `CPU µs per acknowledged event: leader ${(leaderMicros / Math.max(1, acknowledged)).toFixed(2)}, followers ${followers}, ` +
        `client ${((client.user + client.system) / Math.max(1, acknowledged)).toFixed(2)}; leader µs per refusal (est.) ${refusalText}; ` +
        `leader CPU ${(leaderMicros / seconds / 10_000).toFixed(0)} % of a core, max RSS ${Math.round(rssMax / 2 ** 20)} MiB; ` +
        `stored ${stored} ${stored >= acknowledged && stored <= acknowledged + failedEvents ? "ok" : "MISMATCH"} ` +
        `(acknowledged ${acknowledged}, ${failedEvents} in failed inserts); load ${loadavg().map((load) => load.toFixed(1)).join(" ")}`);
      // The phase's window on the monotonic clock of --cpu-prof's sample times (to cut it out of a profile).
      console.log(`  phase window (monotonic µs) ${windowStart} ${process.hrtime.bigint() / 1000n}, leader n${leader.nodeId}`);
      for (const [text, count] of errors) console.log(`  ${count} × ${text}`);
      for (const line of nodeLogNews(directory, nodeIds, logOffsets)) console.log(`  log ${line}`);
      rows.push(`| ${label} | ${Math.round(rate)} | ${(overloaded / seconds).toFixed(0)} | ${percentile(sorted, 0.99).toFixed(0)} ms | ` +
        `${(leaderMicros / Math.max(1, acknowledged)).toFixed(2)} | ${refusalText} |`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    console.log(`\n| phase | acknowledged/s | Overloaded/s | p99 admitted | leader µs per ack'd event | leader µs per refusal |\n| --- | ---: | ---: | ---: | ---: | ---: |`);
    for (const row of rows) console.log(row);
    store.close();
    bench.close();
  } finally {
    await cluster.stop();
    if (process.env["KEEP"] === "1") console.log(`kept ${directory}`);
    else await rm(directory, { recursive: true, force: true });
  }
}

await run();
process.exit(0);
