import { createHash } from "node:crypto";
import type { FaultMixName } from "./fault-mix.js";
import type { SimulationOptions, SimulationResult } from "./simulator.js";
import { runSimulation } from "./simulator.js";

/** A batch of runs (seeds × group sizes) and what they add up to. */
export interface BatchSummary {
  readonly seeds: number;
  readonly runs: number;
  readonly steps: number;
  readonly ticks: number;
  /** Runs that found at least one violation. */
  readonly violations: number;
  /** Runs that ended in the known demoted-voter liveness stall (etcd-io/etcd#12359). */
  readonly knownStalls: number;
  /** sha256 over the runs' trace hashes, in run order. */
  readonly traceHash: string;
  readonly elapsedMs: number;
  readonly mixes: Readonly<Partial<Record<FaultMixName, number>>>;
  readonly totals: Readonly<Record<string, number>>;
}

export interface BatchOptions {
  readonly firstSeed: number;
  readonly seeds: number;
  readonly nodes: readonly number[];
  readonly run?: Omit<SimulationOptions, "seed" | "nodes">;
  readonly onResult?: (result: SimulationResult) => void;
  /** Monotonic clock for the elapsed time, injected (performance.now in the CLI). */
  readonly clock?: () => number;
}

export function runBatch(options: BatchOptions): BatchSummary {
  const clock = options.clock ?? ((): number => 0);
  const started = clock();
  const hash = createHash("sha256");
  const mixes: Partial<Record<FaultMixName, number>> = {};
  const totals: Record<string, number> = {};
  let runs = 0;
  let steps = 0;
  let ticks = 0;
  let violations = 0;
  let knownStalls = 0;
  for (let seed = options.firstSeed; seed < options.firstSeed + options.seeds; seed++) {
    for (const nodes of options.nodes) {
      const result = runSimulation({ ...options.run, seed, nodes });
      runs++;
      steps += result.counters.steps;
      ticks += result.ticks;
      if (result.violations.length > 0) violations++;
      if (result.knownStall !== undefined) knownStalls++;
      hash.update(result.traceHash);
      mixes[result.mix] = (mixes[result.mix] ?? 0) + 1;
      for (const [name, value] of Object.entries(result.counters))
        totals[name] = (totals[name] ?? 0) + value;
      options.onResult?.(result);
    }
  }
  return {
    seeds: options.seeds,
    runs,
    steps,
    ticks,
    violations,
    knownStalls,
    traceHash: hash.digest("hex"),
    elapsedMs: clock() - started,
    mixes,
    totals,
  };
}

export function formatSummary(summary: BatchSummary): string {
  const seconds = summary.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(summary.steps / seconds) : 0;
  const mixes = Object.entries(summary.mixes)
    .map(([name, count]) => `${name}=${count}`)
    .join(",");
  return (
    `seeds: ${summary.seeds} runs: ${summary.runs} steps: ${summary.steps} ` +
    `ticks: ${summary.ticks} violations: ${summary.violations} trace: ${summary.traceHash} ` +
    `known-stalls: ${summary.knownStalls} ` +
    `time: ${seconds.toFixed(1)}s steps/s: ${rate} mixes: ${mixes}`
  );
}
