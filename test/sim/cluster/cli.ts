import { runClusterSimulation } from "./cluster-simulation.js";
import type { ClusterSimulationResult } from "./cluster-simulation.js";

/**
 * `npm run sim:cluster -- [--seed S] [--seeds N] [--partitions P] [--fault-ms MS]
 * [--drain-meta-leader] [--trace]`:
 * the cluster manager over real NodeHosts in the seeded simulator (issue #9).
 * One line per seed (converged after how long, writes acknowledged, trace
 * hash); a failing seed prints its violations, last events and the command
 * that replays it. Exit code 1 when any seed failed, 2 on a bad argument.
 */
const usage =
  "usage: npm run sim:cluster -- [--seed S (0)] [--seeds N (10)] [--partitions P (6)] " +
  "[--fault-ms MS (8000)] [--drain-meta-leader] [--trace]";

interface CliOptions {
  seed: number;
  seeds: number;
  partitions: number;
  faultMs: number;
  trace: boolean;
  drainMetaLeader: boolean;
}

function parse(argv: readonly string[]): CliOptions {
  const options: CliOptions = {
    seed: 0, seeds: 10, partitions: 6, faultMs: 8_000, trace: false, drainMetaLeader: false,
  };
  const numeric = new Map<string, "seed" | "seeds" | "partitions" | "faultMs">([
    ["--seed", "seed"], ["--seeds", "seeds"], ["--partitions", "partitions"], ["--fault-ms", "faultMs"],
  ]);
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index]!;
    if (flag === "--trace") {
      options.trace = true;
      continue;
    }
    if (flag === "--drain-meta-leader") {
      options.drainMetaLeader = true;
      continue;
    }
    const key = numeric.get(flag);
    if (key === undefined) throw new Error(`unknown argument ${flag}`);
    const value = Number(argv[++index]);
    if (!(Number.isSafeInteger(value) && value >= (key === "seed" ? 0 : 1))) {
      throw new Error(`${flag} ${String(argv[index])}: allowed an integer ≥ ${key === "seed" ? 0 : 1}`);
    }
    options[key] = value;
  }
  return options;
}

function describe(result: ClusterSimulationResult, wallMs: number): string {
  const converged = result.convergedAfterMs === undefined ? "never" : `${result.convergedAfterMs} ms`;
  const c = result.counters;
  return `seed ${result.seed}: ${result.violations.length === 0 ? "ok" : "FAIL"} gone n${result.gone} ` +
    `converged ${converged} after the faults, writes acked ${result.acknowledged}/${c["writes"] ?? 0}, ` +
    `crashes ${c["crashes"] ?? 0}, partitions ${c["partitions"] ?? 0}, ` +
    `fence refusals ${c["fenceRefusals"] ?? 0}, ` +
    `virtual ${result.virtualMs} ms, wall ${Math.round(wallMs)} ms, trace ${result.traceHash.slice(0, 16)}`;
}

async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parse(argv);
  } catch (error) {
    process.stderr.write(`sim:cluster: ${error instanceof Error ? error.message : String(error)}\n${usage}\n`);
    return 2;
  }
  let failed = 0;
  for (let seed = options.seed; seed < options.seed + options.seeds; seed++) {
    const started = performance.now();
    const result = await runClusterSimulation({
      seed,
      partitions: options.partitions,
      faultMs: options.faultMs,
      drainMetaLeader: options.drainMetaLeader,
      ...(options.trace ? { traceSink: (line: string) => process.stdout.write(`${line}\n`) } : {}),
    });
    process.stdout.write(`${describe(result, performance.now() - started)}\n`);
    if (result.violations.length === 0) continue;
    failed++;
    for (const violation of result.violations) process.stdout.write(`  ${violation}\n`);
    process.stdout.write(`  last events:\n${result.traceTail.map((line) => `    ${line}`).join("\n")}\n`);
    process.stdout.write(`  replay: npm run sim:cluster -- --seed ${seed} --seeds 1 ` +
      `--partitions ${options.partitions} --fault-ms ${options.faultMs}` +
      `${options.drainMetaLeader ? " --drain-meta-leader" : ""}\n`);
  }
  process.stdout.write(`${options.seeds} seeds from ${options.seed}: ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
