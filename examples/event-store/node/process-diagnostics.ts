import { appendFileSync } from "node:fs";
import { PerformanceObserver, performance } from "node:perf_hooks";

/**
 * Counters of one process that a benchmark compares between runs (issue #8:
 * why runs of the same tree are fast or slow), sampled as cumulative values
 * so that any two samples give a window's differences:
 * - cpu: user and system µs (process.cpuUsage);
 * - switches: voluntary and involuntary context switches (getrusage);
 * - gc: collections and their summed pause (ms) by kind (1 minor = scavenge,
 *   4 major = mark-compact, 8 incremental marking, 16 weak callbacks);
 * - loop: the event loop's active and idle ms (eventLoopUtilization);
 * - the caller's own counters (`extra`: e.g. inserts, proposals, raft commits).
 */
export interface DiagnosticsSample {
  /** Wall-clock ms of the sample (performance.timeOrigin + performance.now(): one clock for the box's processes). */
  readonly atMs: number;
  readonly cpuUserMicros: number;
  readonly cpuSystemMicros: number;
  readonly voluntarySwitches: number;
  readonly involuntarySwitches: number;
  /** GC kind -> [collections, summed pause ms]. */
  readonly gc: Readonly<Record<string, readonly [number, number]>>;
  readonly loopActiveMs: number;
  readonly loopIdleMs: number;
  readonly extra: Readonly<Record<string, number>>;
}

export interface ProcessDiagnostics {
  /** The counters now. */
  sample(): DiagnosticsSample;
  stop(): void;
}

export interface ProcessDiagnosticsOptions {
  /** Each sample is appended to this file as one JSON line every `periodMs` (none: sample() only). */
  readonly path?: string;
  /** Period of the file's samples (default 250 ms). */
  readonly periodMs?: number;
  /** The caller's counters, cumulative (read at each sample). */
  readonly extra?: () => Readonly<Record<string, number>>;
}

/** Starts counting this process's GCs and, with a path, writing samples (off unless asked: DIAG runs only). */
export function startProcessDiagnostics(options: ProcessDiagnosticsOptions = {}): ProcessDiagnostics {
  const periodMs = options.periodMs ?? 250;
  if (!(Number.isFinite(periodMs) && periodMs >= 10)) {
    throw new RangeError(`diagnostics period ${periodMs} ms, allowed >= 10`);
  }
  const collections = new Map<number, [number, number]>();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = gcKindOf(entry);
      const counted = collections.get(kind) ?? [0, 0];
      counted[0] += 1;
      counted[1] += entry.duration;
      collections.set(kind, counted);
    }
  });
  observer.observe({ entryTypes: ["gc"] });
  const sample = (): DiagnosticsSample => {
    const cpu = process.cpuUsage();
    const usage = process.resourceUsage();
    const loop = performance.eventLoopUtilization();
    const gc: Record<string, readonly [number, number]> = {};
    for (const [kind, [count, pauseMs]] of collections) gc[String(kind)] = [count, Math.round(pauseMs * 1000) / 1000];
    return {
      atMs: performance.timeOrigin + performance.now(),
      cpuUserMicros: cpu.user,
      cpuSystemMicros: cpu.system,
      voluntarySwitches: usage.voluntaryContextSwitches,
      involuntarySwitches: usage.involuntaryContextSwitches,
      gc,
      loopActiveMs: loop.active,
      loopIdleMs: loop.idle,
      extra: options.extra?.() ?? {},
    };
  };
  const path = options.path;
  const timer = path === undefined ? undefined : setInterval(() => {
    appendFileSync(path, `${JSON.stringify(sample())}\n`);
  }, periodMs);
  timer?.unref();
  return {
    sample,
    stop() {
      if (timer !== undefined) clearInterval(timer);
      observer.disconnect();
    },
  };
}

/** The kind of a GC entry (perf_hooks' NODE_PERFORMANCE_GC_*); 0 unknown. */
function gcKindOf(entry: PerformanceEntry): number {
  // Node's GC entries carry { detail: { kind } }; its typings do not declare it on PerformanceEntry.
  const detail: unknown = Reflect.get(entry, "detail");
  if (typeof detail !== "object" || detail === null || !("kind" in detail)) return 0;
  return typeof detail.kind === "number" ? detail.kind : 0;
}
