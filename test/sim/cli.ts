import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatSummary, runBatch } from "./batch.js";
import { CliUsageError, parseCliOptions, replayCommand, usage } from "./cli-options.js";
import { historyToJson } from "./history.js";
import type { SimulationResult } from "./simulator.js";

/**
 * `npm run sim -- --seeds N [--seed S] [--nodes 3,5]`: one line per failing
 * run with the command that replays it, then one summary line.
 */
function main(argv: readonly string[]): number {
  let options;
  try {
    options = parseCliOptions(argv);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    process.stderr.write(`sim: ${error.message}\n${usage}\n`);
    return 2;
  }
  const { historyOut } = options;
  if (historyOut !== undefined) mkdirSync(historyOut, { recursive: true });
  const onResult = (result: SimulationResult): void => {
    if (historyOut !== undefined) {
      writeFileSync(
        join(historyOut, `seed-${result.seed}-n${result.nodes}.json`),
        historyToJson(result.history),
      );
    }
    const replay = `replay: ${replayCommand(result.seed, result.nodes, options)}`;
    const run = `seed ${result.seed} nodes ${result.nodes} mix ${result.mix}`;
    if (result.knownStall !== undefined) {
      process.stdout.write(
        `STALL ${run}: known demoted-voter stall (etcd-io/etcd#12359), not counted | ${replay}\n`,
      );
    }
    if (result.violations.length === 0) return;
    const first = result.violations[0]!.split("\n")[0];
    process.stdout.write(`FAIL ${run} | ${replay} | ${first}\n`);
    if (options.trace || options.seeds === 1) {
      for (const violation of result.violations) process.stdout.write(`  ${violation}\n`);
      process.stdout.write(
        `  last events:\n${result.traceTail.map((line) => `    ${line}`).join("\n")}\n`,
      );
    }
  };
  const summary = runBatch({
    firstSeed: options.seed,
    seeds: options.seeds,
    nodes: options.nodes,
    run: {
      ...(options.mix !== undefined ? { mix: options.mix } : {}),
      ...(options.safetyTicks !== undefined ? { safetyTicks: options.safetyTicks } : {}),
      ...(options.trace ? { traceSink: (line: string) => process.stdout.write(`${line}\n`) } : {}),
    },
    onResult,
    clock: () => performance.now(),
  });
  process.stdout.write(`${formatSummary(summary)}\n`);
  return summary.violations === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
