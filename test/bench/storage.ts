/**
 * LogStore benchmark: durable appends for 1, 64 and 1,024 groups with 64 B,
 * 4 KiB and 256 KiB entries, against a baseline measured in the same run: a
 * plain loop of write + fdatasync of the same number of bytes per commit to
 * one file (the same async FileHandle API the store uses).
 *
 *   npm run bench:storage            (about 2 minutes)
 *   BENCH_SECONDS=1 npm run bench:storage   (quicker, noisier)
 *
 * One commit = one save() carrying one entry and a hard state for each of
 * `groups` groups, or of as many as fit in 16 MiB (rotating over all groups)
 * for large entries. The baseline writes as many bytes per commit as the
 * store did (payload plus framing), so "vs baseline" is the store's cost
 * beyond the I/O itself. Store and baseline alternate in rounds.
 * Saves run one after another, as in the host's loop; the last row keeps 8
 * saves in flight to show group commit (commits < saves).
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Entry } from "../../framework/raft/index.js";
import { EntryType } from "../../framework/raft/index.js";
import type { LogUpdate } from "../../framework/storage/index.js";
import { createNodeFileSystem, openLogStore } from "../../framework/storage/index.js";

const secondsPerRun = Number(process.env["BENCH_SECONDS"] ?? 3);
const commitBytesMax = 16 * 1024 * 1024;

interface Measurement {
  readonly commits: number;
  readonly saves: number;
  readonly entries: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly latencies: number[];
  /** Bytes handed to write(): data plus framing, operations, headers. */
  readonly diskBytes: number;
}

interface Case {
  readonly groups: number;
  readonly entryBytes: number;
  readonly inFlight: number;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

interface Runner {
  /** Runs for `milliseconds`, returns what it did. */
  run(milliseconds: number): Promise<Measurement>;
  close(): Promise<void>;
}

async function createStoreRunner(directory: string, testCase: Case): Promise<Runner> {
  let datasyncs = 0;
  let bytesWritten = 0;
  const real = createNodeFileSystem();
  const fileSystem = {
    ...real,
    open: async (path: string, mode: Parameters<typeof real.open>[1]) => {
      const file = await real.open(path, mode);
      return {
        ...file,
        datasync: () => {
          datasyncs++;
          return file.datasync();
        },
        write: (buffers: readonly Uint8Array[], position: number) => {
          for (const buffer of buffers) bytesWritten += buffer.byteLength;
          return file.write(buffers, position);
        },
      };
    },
  };
  const store = await openLogStore({ directory, fileSystem });
  const data = new Uint8Array(testCase.entryBytes).fill(7);
  const perCommit = updatesPerCommit(testCase);
  const nextIndex = new Array<number>(testCase.groups + 1).fill(1);
  let cursor = 0;
  const makeSave = (): LogUpdate[] => {
    const updates: LogUpdate[] = [];
    for (let i = 0; i < perCommit; i++) {
      const groupId = (cursor++ % testCase.groups) + 1;
      const entry: Entry = { index: nextIndex[groupId]!++, term: 1, type: EntryType.Normal, data };
      updates.push({
        groupId,
        entries: [entry],
        hardState: { term: 1, vote: 1, commit: entry.index - 1 },
      });
    }
    return updates;
  };
  const run = async (milliseconds: number): Promise<Measurement> => {
    const syncsBefore = datasyncs;
    const bytesBefore = bytesWritten;
    const latencies: number[] = [];
    let saves = 0;
    let savingMilliseconds = 0;
    const start = performance.now();
    const deadline = start + milliseconds;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const updates = makeSave(); // the host's work, not the store's: outside the timing
        const began = performance.now();
        await store.save(updates);
        const took = performance.now() - began;
        latencies.push(took);
        savingMilliseconds += took;
        saves++;
      }
    };
    await Promise.all(Array.from({ length: testCase.inFlight }, worker));
    // One save at a time: time spent in save() only. Saves in flight: wall time.
    const seconds =
      (testCase.inFlight === 1 ? savingMilliseconds : performance.now() - start) / 1000;
    return {
      commits: datasyncs - syncsBefore,
      saves,
      entries: saves * perCommit,
      bytes: saves * perCommit * testCase.entryBytes,
      seconds,
      latencies,
      diskBytes: bytesWritten - bytesBefore,
    };
  };
  return { run, close: () => store.close() };
}

function updatesPerCommit(testCase: Case): number {
  return Math.max(1, Math.min(testCase.groups, Math.floor(commitBytesMax / testCase.entryBytes)));
}

async function createBaselineRunner(directory: string, commitBytes: number): Promise<Runner> {
  const file = await open(join(directory, "baseline.dat"), "wx");
  const buffer = new Uint8Array(commitBytes).fill(7);
  let position = 0;
  const run = async (milliseconds: number): Promise<Measurement> => {
    const latencies: number[] = [];
    let commits = 0;
    const start = performance.now();
    const deadline = start + milliseconds;
    while (performance.now() < deadline) {
      const began = performance.now();
      await file.write(buffer, 0, buffer.byteLength, position);
      await file.datasync();
      latencies.push(performance.now() - began);
      position += buffer.byteLength;
      commits++;
    }
    const seconds = (performance.now() - start) / 1000;
    const bytes = commits * commitBytes;
    return { commits, saves: commits, entries: 0, bytes, seconds, latencies, diskBytes: bytes };
  };
  return { run, close: () => file.close() };
}

function add(total: Measurement | undefined, part: Measurement): Measurement {
  if (total === undefined) return part;
  return {
    commits: total.commits + part.commits,
    saves: total.saves + part.saves,
    entries: total.entries + part.entries,
    bytes: total.bytes + part.bytes,
    seconds: total.seconds + part.seconds,
    latencies: total.latencies.concat(part.latencies),
    diskBytes: total.diskBytes + part.diskBytes,
  };
}

/**
 * Store and baseline take turns in short rounds (alternating who goes first),
 * so load from other processes on this shared machine hits both alike.
 */
async function benchCase(directory: string, testCase: Case): Promise<[Measurement, Measurement]> {
  const rounds = 3;
  const roundMilliseconds = (secondsPerRun * 1000) / rounds;
  const store = await createStoreRunner(join(directory, "log"), testCase);
  // The baseline writes as many bytes per commit as the store did (data plus its framing).
  let storeTotal: Measurement | undefined = await store.run(roundMilliseconds);
  const commitBytes = Math.round(storeTotal.diskBytes / Math.max(1, storeTotal.commits));
  const baseline = await createBaselineRunner(directory, commitBytes);
  let baselineTotal: Measurement | undefined = await baseline.run(roundMilliseconds);
  try {
    for (let round = 1; round < rounds; round++) {
      if (round % 2 === 1)
        baselineTotal = add(baselineTotal, await baseline.run(roundMilliseconds));
      storeTotal = add(storeTotal, await store.run(roundMilliseconds));
      if (round % 2 === 0)
        baselineTotal = add(baselineTotal, await baseline.run(roundMilliseconds));
    }
  } finally {
    await store.close();
    await baseline.close();
  }
  const sorted = (m: Measurement): Measurement => ({
    ...m,
    latencies: m.latencies.sort((a, b) => a - b),
  });
  return [sorted(storeTotal!), sorted(baselineTotal!)];
}

function formatRow(testCase: Case, store: Measurement, baseline: Measurement): string {
  const mb = (m: Measurement): number => m.bytes / m.seconds / 1e6;
  const diskMb = (m: Measurement): number => m.diskBytes / m.seconds / 1e6;
  const commitRate = (m: Measurement): number => m.commits / m.seconds;
  const cells = [
    String(testCase.groups),
    formatBytes(testCase.entryBytes),
    String(testCase.inFlight),
    (store.entries / store.seconds).toFixed(0),
    mb(store).toFixed(1),
    diskMb(store).toFixed(1),
    commitRate(store).toFixed(0),
    (store.saves / store.seconds).toFixed(0),
    percentile(store.latencies, 0.5).toFixed(2),
    percentile(store.latencies, 0.99).toFixed(2),
    (baseline.diskBytes / Math.max(1, baseline.commits) / 1024).toFixed(1),
    mb(baseline).toFixed(1),
    commitRate(baseline).toFixed(0),
    percentile(baseline.latencies, 0.5).toFixed(2),
    `${((100 * diskMb(store)) / diskMb(baseline)).toFixed(0)} %`,
    `${((100 * (store.saves / store.seconds)) / commitRate(baseline)).toFixed(0)} %`,
  ];
  return `| ${cells.join(" | ")} |`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

async function main(): Promise<void> {
  const cases: Case[] = [];
  for (const entryBytes of [64, 4096, 256 * 1024]) {
    for (const groups of [1, 64, 1024]) cases.push({ groups, entryBytes, inFlight: 1 });
  }
  cases.push({ groups: 1024, entryBytes: 64, inFlight: 8 });
  const only = process.env["BENCH_ONLY"]; // e.g. "1x64,1024x4096": groups x entry bytes
  const selected =
    only === undefined
      ? cases
      : cases.filter(
          (c) => only.split(",").includes(`${c.groups}x${c.entryBytes}`) && c.inFlight === 1,
        );
  console.log(`LogStore durable appends, ${secondsPerRun} s per run, node ${process.version}`);
  console.log(
    "| groups | entry | saves in flight | entries/s | payload MB/s | disk MB/s | commits/s " +
      "| saves/s | p50 ms | p99 ms " +
      "| disk KiB per commit | baseline MB/s | baseline commits/s | baseline p50 ms " +
      "| disk MB/s vs baseline " +
      "| saves/s vs baseline commits/s |",
  );
  console.log(`|${" --- |".repeat(16)}`);
  for (const testCase of selected) {
    const directory = await mkdtemp(join(tmpdir(), "raftkit-bench-storage-"));
    try {
      const [store, baseline] = await benchCase(directory, testCase);
      console.log(formatRow(testCase, store, baseline));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
}

await main();
