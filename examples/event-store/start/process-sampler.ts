import { readdirSync, readFileSync } from "node:fs";

/**
 * What Linux's /proc says about a local cluster's processes over a window
 * (the benchmark's DIAG=1, issue #8: why runs of the same tree are fast or
 * slow): per thread CPU ticks, context switches, CPU migrations and I/O
 * syscalls of each process, the cores they ran on (sampled), and the whole
 * machine's busy, idle and steal time. Readings only: nothing here changes
 * the processes. Off Linux every reading is empty.
 */
export interface ProcessReading extends ProcessCounters {
  /** Thread id -> utime + stime in clock ticks (10 ms). */
  readonly threadTicks: ReadonlyMap<number, number>;
  /** Thread id -> stime alone (clock ticks). */
  readonly threadSystemTicks: ReadonlyMap<number, number>;
}

/** A process's counters summed over its threads: totals in a reading, differences in a window. */
export interface ProcessCounters {
  readonly voluntarySwitches: number;
  readonly involuntarySwitches: number;
  /** Summed over the threads: se.nr_migrations of /proc/<pid>/task/<tid>/sched. */
  readonly migrations: number;
  readonly readCalls: number;
  readonly writeCalls: number;
  readonly writeBytes: number;
  /** Page faults (stat fields 10 and 12). */
  readonly minorFaults: number;
  readonly majorFaults: number;
  /** Summed over the threads (task/<tid>/schedstat): ns on a core, ns runnable but waiting for one. */
  readonly runNanos: number;
  readonly waitNanos: number;
}

/** The machine's CPU time (all cores, clock ticks) by /proc/stat's columns. */
export interface MachineReading {
  readonly busy: number;
  readonly idle: number;
  readonly iowait: number;
  readonly steal: number;
  /** /proc/meminfo's Dirty and Writeback (kB): page cache not yet on disk, machine-wide. */
  readonly dirtyKilobytes: number;
  readonly writebackKilobytes: number;
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

/** Fields of a /proc stat line after the command (field 3 is index 0). */
const statFields = (text: string): string[] => text.slice(text.lastIndexOf(")") + 2).split(" ");

const numberAfter = (text: string, label: string): number => {
  const match = new RegExp(`^${label}\\s*:?\\s+(\\d+)`, "m").exec(text);
  return match === null ? 0 : Number(match[1]);
};

export function readProcess(pid: number): ProcessReading | undefined {
  const status = readText(`/proc/${pid}/status`);
  if (status === undefined) return undefined;
  const threadTicks = new Map<number, number>();
  const threadSystemTicks = new Map<number, number>();
  let migrations = 0;
  let runNanos = 0;
  let waitNanos = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    // The process exited meanwhile: no threads.
  }
  for (const tid of tids) {
    const stat = readText(`/proc/${pid}/task/${tid}/stat`);
    if (stat !== undefined) {
      const fields = statFields(stat);
      // utime and stime: fields 14 and 15 of stat.
      threadTicks.set(Number(tid), Number(fields[11]) + Number(fields[12]));
      threadSystemTicks.set(Number(tid), Number(fields[12]));
    }
    migrations += numberAfter(readText(`/proc/${pid}/task/${tid}/sched`) ?? "", "se\\.nr_migrations");
    const [run, wait] = (readText(`/proc/${pid}/task/${tid}/schedstat`) ?? "0 0").split(" ").map(Number);
    runNanos += run ?? 0;
    waitNanos += wait ?? 0;
  }
  const io = readText(`/proc/${pid}/io`) ?? "";
  const fields = statFields(readText(`/proc/${pid}/stat`) ?? "");
  return {
    threadTicks,
    threadSystemTicks,
    voluntarySwitches: numberAfter(status, "voluntary_ctxt_switches"),
    involuntarySwitches: numberAfter(status, "nonvoluntary_ctxt_switches"),
    migrations,
    readCalls: numberAfter(io, "syscr"),
    writeCalls: numberAfter(io, "syscw"),
    writeBytes: numberAfter(io, "write_bytes"),
    minorFaults: Number(fields[7] ?? 0),
    majorFaults: Number(fields[9] ?? 0),
    runNanos,
    waitNanos,
  };
}

export function readMachine(): MachineReading | undefined {
  const line = (readText("/proc/stat") ?? "").split("\n").find((text) => text.startsWith("cpu "));
  if (line === undefined) return undefined;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const memory = readText("/proc/meminfo") ?? "";
  return { busy: user! + nice! + system! + irq! + softirq!, idle: idle!, iowait: iowait!, steal: steal!,
    dirtyKilobytes: numberAfter(memory, "Dirty"), writebackKilobytes: numberAfter(memory, "Writeback") };
}

/** CPU ticks (utime + stime) of every process of the machine, by pid, and each one's command name. */
export function readAllProcesses(): Map<number, { readonly name: string; readonly ticks: number }> {
  const found = new Map<number, { readonly name: string; readonly ticks: number }>();
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return found;
  }
  for (const entry of entries) {
    const stat = readText(`/proc/${entry}/stat`);
    if (stat === undefined) continue;
    const fields = statFields(stat);
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    found.set(Number(entry), { name, ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return found;
}

/** The processes that used the most CPU between two readAllProcesses, leaving out `excluded`: "name(pid) ticks". */
export function busiestProcesses(before: ReturnType<typeof readAllProcesses>, after: ReturnType<typeof readAllProcesses>,
  excluded: readonly number[], count: number): string[] {
  return [...after].filter(([pid]) => !excluded.includes(pid))
    .map(([pid, { name, ticks }]) => [pid, name, ticks - (before.get(pid)?.ticks ?? 0)] as const)
    .filter(([, , ticks]) => ticks > 0).sort((a, b) => b[2] - a[2]).slice(0, count)
    .map(([pid, name, ticks]) => `${name}(${pid}) ${ticks}`);
}

/** A window's differences of one process: ticks per thread (threads busy in the window, main thread first). */
export interface ProcessWindow extends ProcessCounters {
  readonly ticks: number;
  /** [thread id, ticks] of the threads with ticks in the window; the process's main thread (tid = pid) first. */
  readonly threads: readonly (readonly [number, number])[];
  /** System ticks of the main thread and of all other threads together. */
  readonly mainSystemTicks: number;
  readonly otherSystemTicks: number;
}

export function processWindow(pid: number, before: ProcessReading, after: ProcessReading): ProcessWindow {
  const threads: [number, number][] = [];
  let ticks = 0;
  for (const [tid, count] of after.threadTicks) {
    const used = count - (before.threadTicks.get(tid) ?? 0);
    ticks += used;
    if (used > 0) threads.push([tid, used]);
  }
  threads.sort((a, b) => (a[0] === pid ? -1 : b[0] === pid ? 1 : b[1] - a[1]));
  let mainSystemTicks = 0;
  let otherSystemTicks = 0;
  for (const [tid, count] of after.threadSystemTicks) {
    const used = count - (before.threadSystemTicks.get(tid) ?? 0);
    if (tid === pid) mainSystemTicks += used;
    else otherSystemTicks += used;
  }
  return {
    ticks,
    threads,
    mainSystemTicks,
    otherSystemTicks,
    voluntarySwitches: after.voluntarySwitches - before.voluntarySwitches,
    involuntarySwitches: after.involuntarySwitches - before.involuntarySwitches,
    migrations: after.migrations - before.migrations,
    readCalls: after.readCalls - before.readCalls,
    writeCalls: after.writeCalls - before.writeCalls,
    writeBytes: after.writeBytes - before.writeBytes,
    minorFaults: after.minorFaults - before.minorFaults,
    majorFaults: after.majorFaults - before.majorFaults,
    runNanos: after.runNanos - before.runNanos,
    waitNanos: after.waitNanos - before.waitNanos,
  };
}

/** Samples (in the sampling process: ~4 file reads per period), every `periodMs`, which core each process's main thread is on: counts per core and moves seen. */
export interface CoreSampler {
  /** Per pid: samples per core, and how often the core differed from the previous sample. */
  stop(): ReadonlyMap<number, { readonly perCore: ReadonlyMap<number, number>; readonly moves: number }>;
}

export function startCoreSampler(pids: readonly number[], periodMs = 50): CoreSampler {
  const seen = new Map(pids.map((pid) => [pid, { perCore: new Map<number, number>(), moves: 0, last: -1 }]));
  const timer = setInterval(() => {
    for (const [pid, record] of seen) {
      // /proc/<pid>/stat is the main thread's; field 39, the core it last ran on.
      const stat = readText(`/proc/${pid}/stat`);
      if (stat === undefined) continue;
      const core = Number(statFields(stat)[36]);
      record.perCore.set(core, (record.perCore.get(core) ?? 0) + 1);
      if (record.last !== -1 && record.last !== core) record.moves += 1;
      record.last = core;
    }
  }, periodMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      return seen;
    },
  };
}

/**
 * How fast this core runs a fixed piece of work now: every `periodMs` a short
 * ALU loop (200,000 steps) and 5,000 dependent loads over a 4 MB array (cache-bound), each timed on the wall
 * clock; the lower quartiles of the samples (a sample the scheduler
 * preempted is an outlier the quartile leaves out). A core shared with a busy hyperthread
 * sibling, or running at a lower clock, shows as a slower median while steal
 * time stays 0. Costs ~1 % of a core at the default period.
 */
export interface SpeedProbe {
  /** Lower-quartile ns of the ALU loop and of the memory walk, and the samples taken. */
  stop(): { readonly aluNanos: number; readonly memoryNanos: number; readonly samples: number };
}

export function startSpeedProbe(periodMs = 100): SpeedProbe {
  const alu: number[] = [];
  const memory: number[] = [];
  const table = new Uint32Array(1 << 20);
  // One pseudo-random cycle through the whole table (Sattolo's shuffle, a fixed xorshift seed): each
  // step's address depends on the previous load, so the walk waits on memory, not on the ALU.
  for (let index = 0; index < table.length; index++) table[index] = index;
  let random = 0x9e3779b9;
  for (let index = table.length - 1; index > 0; index--) {
    random ^= random << 13;
    random ^= random >>> 17;
    random ^= random << 5;
    const other = (random >>> 0) % index;
    const swapped = table[index]!;
    table[index] = table[other]!;
    table[other] = swapped;
  }
  let sink = 0;
  const measure = (): void => {
    let started = performance.now();
    let value = 1;
    for (let step = 0; step < 200_000; step++) value = (Math.imul(value, 31) + step) | 0;
    alu.push((performance.now() - started) * 1e6);
    started = performance.now();
    let cursor = value & (table.length - 1);
    for (let step = 0; step < 5_000; step++) cursor = table[cursor]!;
    memory.push((performance.now() - started) * 1e6);
    sink ^= cursor;
  };
  // Optimized before the first counted sample (a probe left to the interpreter read 5x slower).
  for (let round = 0; round < 20; round++) measure();
  alu.length = 0;
  memory.length = 0;
  const timer = setInterval(measure, periodMs);
  timer.unref();
  // The lower quartile: preempted samples (a 10 ms slice of another process inside one) are the upper tail.
  const quartile = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 4)] ?? NaN;
  return {
    stop() {
      clearInterval(timer);
      // sink keeps the loops from being optimized away.
      return { aluNanos: quartile(alu) + (sink === 0.5 ? 1 : 0), memoryNanos: quartile(memory), samples: alu.length };
    },
  };
}
