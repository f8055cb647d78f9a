/**
 * Disk-stall reproduction (issue #8, session 13): how long does a raft log's
 * durable entry write take while another process writes and fdatasyncs a
 * large file (the event store engine's checkpoint of its blocks file)?
 *
 *   npx tsx test/bench/disk-stall.ts
 *
 * Two processes on one directory (DIR, default a fresh one under the OS's
 * temporary directory):
 * - the LOG process writes RECORD_BYTES (default 32 KiB) records with O_DSYNC
 *   every INTERVAL_MS (default 5 ms), one at a time, and reports the latency
 *   of each write: p50 / p99 / p999 / max, and the writes > 20 ms;
 * - the BULK process, after 1 s, writes BULK_MB (default 200) MiB to a file in
 *   1 MiB writes, fdatasyncing after every SLICE_MB (default 0 = once at the
 *   end, as the engine's checkpoint does today), repeatedly with a 1 s pause,
 *   for SECONDS (default 10).
 *
 * LOG_FILE=append (default): the log appends to a fresh file, as a raft log
 * segment does (every O_DSYNC write changes the file's size and allocates
 * blocks); LOG_FILE=overwrite: the log file is first filled with zeros
 * (64 MiB, fdatasync'ed) and the records overwrite it from offset 0 (no size
 * change, no allocation); LOG_FILE=append-sync / overwrite-sync: write then
 * fdatasync instead of O_DSYNC.
 * BULK=0 runs the log alone (the disk's own latency). The log also prints its
 * process's system and user CPU µs per write (the page-cache copy, block
 * allocation of appends).
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const role = process.argv[2];
const seconds = Number(process.env["SECONDS"] ?? 10);

async function logProcess(directory: string): Promise<void> {
  const recordBytes = Number(process.env["RECORD_BYTES"] ?? 32 * 1024);
  const intervalMs = Number(process.env["INTERVAL_MS"] ?? 5);
  const mode = process.env["LOG_FILE"] ?? "append";
  const path = join(directory, "log");
  const preallocated = mode.startsWith("overwrite");
  if (preallocated) {
    const zeros = new Uint8Array(1024 * 1024);
    const handle = await open(path, "w");
    for (let at = 0; at < 64 * 1024 * 1024; at += zeros.byteLength) await handle.write(zeros, 0, zeros.byteLength, at);
    await handle.datasync();
    await handle.close();
  }
  const syncAfter = mode.endsWith("-sync");
  const flags = preallocated ? constants.O_WRONLY : constants.O_WRONLY | constants.O_CREAT;
  const handle = await open(path, syncAfter ? flags : flags | constants.O_DSYNC);
  const record = new Uint8Array(recordBytes).fill(7);
  const latencies: number[] = [];
  const slow: string[] = [];
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  let position = 0;
  process.send?.("ready");
  while (performance.now() - start < seconds * 1000) {
    const before = performance.now();
    await handle.write(record, 0, record.byteLength, position);
    if (syncAfter) await handle.datasync();
    const took = performance.now() - before;
    latencies.push(took);
    if (took > 20) slow.push(`${((before - start) / 1000).toFixed(2)}s:${took.toFixed(0)}ms`);
    position = (position + recordBytes) % (64 * 1024 * 1024);
    const wait = intervalMs - took;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const cpu = process.cpuUsage(cpuBefore);
  await handle.close();
  const perWrite = (micros: number): string => (micros / Math.max(1, latencies.length)).toFixed(1);
  latencies.sort((a, b) => a - b);
  const at = (q: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2);
  console.log(`log ${mode}: ${latencies.length} writes of ${recordBytes} B; p50 ${at(0.5)} p99 ${at(0.99)} ` +
    `p999 ${at(0.999)} max ${at(1)} ms; CPU µs per write: system ${perWrite(cpu.system)}, user ${perWrite(cpu.user)}; ` +
    `> 20 ms: ${slow.length} ${slow.slice(0, 12).join(" ")}`);
}

async function bulkProcess(directory: string): Promise<void> {
  const bulkBytes = Number(process.env["BULK_MB"] ?? 200) * 1024 * 1024;
  const sliceBytes = Number(process.env["SLICE_MB"] ?? 0) * 1024 * 1024;
  const chunk = new Uint8Array(1024 * 1024).fill(3);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  let round = 0;
  while (performance.now() - start < (seconds - 1) * 1000) {
    const path = join(directory, `bulk-${round % 2}`);
    const handle = await open(path, "w");
    const before = performance.now();
    const cpuBefore = process.cpuUsage();
    let syncs = 0;
    let syncMs = 0;
    let sinceSync = 0;
    for (let at = 0; at < bulkBytes; at += chunk.byteLength) {
      await handle.write(chunk, 0, chunk.byteLength, at);
      sinceSync += chunk.byteLength;
      if (sliceBytes > 0 && sinceSync >= sliceBytes) {
        const s = performance.now();
        await handle.datasync();
        syncMs = Math.max(syncMs, performance.now() - s);
        syncs++;
        sinceSync = 0;
      }
    }
    const s = performance.now();
    await handle.datasync();
    syncMs = Math.max(syncMs, performance.now() - s);
    syncs++;
    const cpu = process.cpuUsage(cpuBefore);
    await handle.close();
    console.log(`bulk round ${round}: ${bulkBytes >> 20} MiB in ${(performance.now() - before).toFixed(0)} ms, ` +
      `${syncs} syncs, longest ${syncMs.toFixed(0)} ms; CPU ms system ${(cpu.system / 1000).toFixed(0)}, user ${(cpu.user / 1000).toFixed(0)}`);
    round++;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function main(): Promise<void> {
  if (role === "log") return logProcess(process.argv[3] ?? "");
  if (role === "bulk") return bulkProcess(process.argv[3] ?? "");
  const directory = process.env["DIR"] ?? await mkdtemp(join(tmpdir(), "disk-stall-"));
  const self = fileURLToPath(import.meta.url);
  const child = (name: string) => spawn(process.execPath, ["--import", "tsx", self, name, directory],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const log = child("log");
    await new Promise((resolve) => log.once("message", resolve));
    const bulk = process.env["BULK"] === "0" ? undefined : child("bulk");
    await Promise.all([log, ...(bulk ? [bulk] : [])].map((process) =>
      new Promise((resolve) => process.once("exit", resolve))));
  } finally {
    if (process.env["DIR"] === undefined) await rm(directory, { recursive: true, force: true });
  }
}

await main();
