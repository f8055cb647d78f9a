import { createHash } from "node:crypto";
import type {
  HostFaultMixName,
  HostSimulationOptions,
  HostSimulationResult,
} from "./host-simulator.js";
import { runHostSimulation } from "./host-simulator.js";

/** A batch of host simulation runs, one per seed, and what they add up to. */
export interface HostBatchSummary {
  readonly seeds: number;
  readonly steps: number;
  readonly ticks: number;
  /** Runs that found at least one violation. */
  readonly violations: number;
  /** sha256 over the runs' trace hashes, in seed order. */
  readonly traceHash: string;
  readonly elapsedMs: number;
  readonly mixes: Readonly<Partial<Record<HostFaultMixName, number>>>;
  readonly totals: Readonly<Record<string, number>>;
}

export interface HostBatchOptions {
  readonly firstSeed: number;
  readonly seeds: number;
  readonly run?: Omit<HostSimulationOptions, "seed">;
  readonly onResult?: (result: HostSimulationResult) => void;
  /** Monotonic clock for the elapsed time, injected (performance.now in the CLI). */
  readonly clock?: () => number;
}

export async function runHostBatch(options: HostBatchOptions): Promise<HostBatchSummary> {
  const clock = options.clock ?? ((): number => 0);
  const started = clock();
  const hash = createHash("sha256");
  const mixes: Partial<Record<HostFaultMixName, number>> = {};
  const totals: Record<string, number> = {};
  let steps = 0;
  let ticks = 0;
  let violations = 0;
  for (let seed = options.firstSeed; seed < options.firstSeed + options.seeds; seed++) {
    const result = await runHostSimulation({ ...options.run, seed });
    steps += result.steps;
    ticks += result.ticks;
    if (result.violations.length > 0) violations++;
    hash.update(result.traceHash);
    mixes[result.mix] = (mixes[result.mix] ?? 0) + 1;
    for (const [name, value] of Object.entries(result.counters)) {
      totals[name] = name.endsWith("Max")
        ? Math.max(totals[name] ?? 0, value)
        : (totals[name] ?? 0) + value;
    }
    options.onResult?.(result);
  }
  return {
    seeds: options.seeds,
    steps,
    ticks,
    violations,
    traceHash: hash.digest("hex"),
    elapsedMs: clock() - started,
    mixes,
    totals,
  };
}

export function formatHostSummary(summary: HostBatchSummary): string {
  const seconds = summary.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(summary.steps / seconds) : 0;
  const mixes = Object.entries(summary.mixes)
    .map(([name, count]) => `${name}=${count}`)
    .join(",");
  const t = summary.totals;
  const exercised = [
    "crashes",
    "unsyncedWritesLost",
    "partitions",
    "joins",
    "confChangesApplied",
    "transfers",
    "snapshotFiles",
    "snapshotsDelivered",
    "quiescedGroupTicks",
    "writesOk",
    "readsOk",
    "commandsApplied",
    "packedCommands",
  ]
    .map((name) => `${name}=${t[name] ?? 0}`)
    .join(",");
  return (
    `seeds: ${summary.seeds} steps: ${summary.steps} ticks: ${summary.ticks} ` +
    `violations: ${summary.violations} trace: ${summary.traceHash} ` +
    `time: ${seconds.toFixed(1)}s steps/s: ${rate} mixes: ${mixes} exercised: ${exercised}`
  );
}
