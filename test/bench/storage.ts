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
 * beyond the I/O itself.
 *
 * Every case runs twice against the same baseline: "serial", one save at a
 * time (the host's loop waiting for each), and "pipelined", up to
 * BENCH_IN_FLIGHT (default 4) saves in flight, as a host that issues the next
 * Ready's save while the previous one syncs (the store writes save N+1 while
 * N is fdatasync'd and several saves may share one sync). Serial store,
 * pipelined store and baseline take turns in rounds.
 *
 * "CPU µs/save" is the process's CPU time (all threads) during the store's
 * runs, minus the CPU spent building the updates (the host's work), per save:
 * it depends less on how busy the machine is than wall time does. The
 * baseline's CPU µs per commit (write + fdatasync syscalls, promise) is the
 * part any durable commit costs; the difference is the store's own work.
 *
 *   BENCH_ONLY=1024x64,64x64 npm run bench:storage   (groups x entry bytes)
 *
 * BENCH_CPU=1 instead measures the store's CPU alone: serial saves of the
 * selected cases into a file system whose writes and syncs do nothing, in
 * three rounds, CPU µs per save (process CPU minus building the updates).
 */
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Entry } from "../../framework/raft/index.js";
import { EntryType } from "../../framework/raft/index.js";
import type { FileSystem, LogUpdate, StorageFile } from "../../framework/storage/index.js";
import { createNodeFileSystem, openLogStore } from "../../framework/storage/index.js";

const secondsPerRun = Number(process.env["BENCH_SECONDS"] ?? 3);
const pipelinedInFlight = Number(process.env["BENCH_IN_FLIGHT"] ?? 4);
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
  /** Process CPU time in the store (not building updates), microseconds. */
  readonly cpuMicroseconds: number;
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

/** Files that take every write and sync and keep nothing: the store's CPU alone. */
function createNullFileSystem(): FileSystem {
  const file = (path: string): StorageFile => ({
    path,
    write: async () => {},
    datasync: async () => {},
    read: async () => 0,
    readSync: () => 0,
    size: async () => 0,
    truncate: async () => {},
    close: async () => {},
  });
  return {
    open: async (path) => file(path),
    readdir: async () => [],
    mkdir: async () => {},
    rename: async () => {},
    unlink: async () => {},
    syncDirectory: async () => {},
  };
}

async function createStoreRunner(
  directory: string,
  testCase: Case,
  real: FileSystem = createNodeFileSystem(),
): Promise<Runner> {
  /** Durable points: datasyncs plus O_DSYNC writes, each makes one or more commits durable. */
  let datasyncs = 0;
  let bytesWritten = 0;
  const fileSystem = {
    ...real,
    open: async (path: string, mode: Parameters<typeof real.open>[1]) => {
      const file = await real.open(path, mode);
      const durable = file.writeDurable?.bind(file);
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
        // The node file system's O_DSYNC write (fe034d3): a commit made durable without a datasync.
        // Without this wrapper the spread above would hand the store the unwrapped method, and its
        // commits and bytes would go uncounted.
        writeDurable: durable === undefined ? undefined : (buffers: readonly Uint8Array[], position: number) => {
          datasyncs++;
          for (const buffer of buffers) bytesWritten += buffer.byteLength;
          return durable(buffers, position);
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
    let makeCpu = 0;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const deadline = start + milliseconds;
    const worker = async (): Promise<void> => {
      while (performance.now() < deadline) {
        const makeBefore = process.cpuUsage();
        const updates = makeSave(); // the host's work, not the store's: outside the timing
        const made = process.cpuUsage(makeBefore);
        makeCpu += made.user + made.system;
        const began = performance.now();
        await store.save(updates);
        const took = performance.now() - began;
        latencies.push(took);
        savingMilliseconds += took;
        saves++;
      }
    };
    await Promise.all(Array.from({ length: testCase.inFlight }, worker));
    const cpu = process.cpuUsage(cpuBefore);
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
      cpuMicroseconds: cpu.user + cpu.system - makeCpu,
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
    const cpuBefore = process.cpuUsage();
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
    const cpu = process.cpuUsage(cpuBefore);
    const bytes = commits * commitBytes;
    return {
      commits,
      saves: commits,
      entries: 0,
      bytes,
      seconds,
      latencies,
      diskBytes: bytes,
      cpuMicroseconds: cpu.user + cpu.system,
    };
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
    cpuMicroseconds: total.cpuMicroseconds + part.cpuMicroseconds,
  };
}

interface CaseResult {
  readonly serial: Measurement;
  readonly pipelined: Measurement;
  readonly baseline: Measurement;
}

/**
 * Serial store, pipelined store and baseline take turns in short rounds
 * (rotating who goes first), so load from other processes on this shared
 * machine hits all three alike.
 */
async function benchCase(
  directory: string,
  groups: number,
  entryBytes: number,
): Promise<CaseResult> {
  const rounds = 3;
  const roundMilliseconds = (secondsPerRun * 1000) / rounds;
  const serial = await createStoreRunner(join(directory, "serial"), {
    groups,
    entryBytes,
    inFlight: 1,
  });
  const pipelined = await createStoreRunner(join(directory, "pipelined"), {
    groups,
    entryBytes,
    inFlight: pipelinedInFlight,
  });
  // The baseline writes as many bytes per commit as the serial store did (data plus framing).
  const totals: (Measurement | undefined)[] = [await serial.run(roundMilliseconds)];
  const commitBytes = Math.round(totals[0]!.diskBytes / Math.max(1, totals[0]!.commits));
  const baseline = await createBaselineRunner(directory, commitBytes);
  const runners = [serial, pipelined, baseline];
  try {
    for (let turn = 1; turn < rounds * runners.length; turn++) {
      const which = (turn + Math.floor(turn / runners.length)) % runners.length;
      totals[which] = add(totals[which], await runners[which]!.run(roundMilliseconds));
    }
  } finally {
    for (const runner of runners) await runner.close();
  }
  const sorted = (m: Measurement | undefined): Measurement => {
    if (m === undefined) throw new Error("a runner never ran");
    return { ...m, latencies: m.latencies.sort((a, b) => a - b) };
  };
  return { serial: sorted(totals[0]), pipelined: sorted(totals[1]), baseline: sorted(totals[2]) };
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
    (store.cpuMicroseconds / Math.max(1, store.saves)).toFixed(0),
    (baseline.diskBytes / Math.max(1, baseline.commits) / 1024).toFixed(1),
    mb(baseline).toFixed(1),
    commitRate(baseline).toFixed(0),
    percentile(baseline.latencies, 0.5).toFixed(2),
    (baseline.cpuMicroseconds / Math.max(1, baseline.commits)).toFixed(0),
    `${((100 * diskMb(store)) / diskMb(baseline)).toFixed(0)} %`,
    `${((100 * (store.saves / store.seconds)) / commitRate(baseline)).toFixed(0)} %`,
  ];
  return `| ${cells.join(" | ")} |`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** BENCH_CPU=1: CPU µs per serial save with a file system that does nothing. */
async function mainCpu(selected: readonly [number, number][]): Promise<void> {
  console.log(
    `LogStore CPU per save, no I/O, ${secondsPerRun} s per round, node ${process.version}`,
  );
  console.log("| groups | entry | round 1 CPU µs/save | round 2 | round 3 | saves |");
  console.log(`|${" --- |".repeat(6)}`);
  for (const [groups, entryBytes] of selected) {
    const runner = await createStoreRunner(
      "/null",
      { groups, entryBytes, inFlight: 1 },
      createNullFileSystem(),
    );
    const cells: string[] = [];
    let saves = 0;
    for (let round = 0; round < 3; round++) {
      const measured = await runner.run(secondsPerRun * 1000);
      cells.push((measured.cpuMicroseconds / Math.max(1, measured.saves)).toFixed(0));
      saves += measured.saves;
    }
    await runner.close();
    console.log(`| ${groups} | ${formatBytes(entryBytes)} | ${cells.join(" | ")} | ${saves} |`);
  }
}

async function main(): Promise<void> {
  const cases: [number, number][] = [];
  for (const entryBytes of [64, 4096, 256 * 1024]) {
    for (const groups of [1, 64, 1024]) cases.push([groups, entryBytes]);
  }
  const only = process.env["BENCH_ONLY"]; // e.g. "1x64,1024x4096": groups x entry bytes
  const selected =
    only === undefined
      ? cases
      : cases.filter(([groups, entryBytes]) => only.split(",").includes(`${groups}x${entryBytes}`));
  if (process.env["BENCH_CPU"] === "1") {
    await mainCpu(selected);
    return;
  }
  console.log(
    `LogStore durable appends, ${secondsPerRun} s per run, pipelined = ` +
      `${pipelinedInFlight} saves in flight, node ${process.version}`,
  );
  console.log(
    "| groups | entry | saves in flight | entries/s | payload MB/s | disk MB/s | commits/s " +
      "| saves/s | p50 ms | p99 ms | CPU µs/save " +
      "| disk KiB per commit | baseline MB/s | baseline commits/s | baseline p50 ms " +
      "| baseline CPU µs/commit " +
      "| disk MB/s vs baseline " +
      "| saves/s vs baseline commits/s |",
  );
  console.log(`|${" --- |".repeat(18)}`);
  for (const [groups, entryBytes] of selected) {
    const directory = await mkdtemp(join(tmpdir(), "raftkit-bench-storage-"));
    try {
      const result = await benchCase(directory, groups, entryBytes);
      console.log(formatRow({ groups, entryBytes, inFlight: 1 }, result.serial, result.baseline));
      const pipelinedCase = { groups, entryBytes, inFlight: pipelinedInFlight };
      console.log(formatRow(pipelinedCase, result.pipelined, result.baseline));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
}

await main();
