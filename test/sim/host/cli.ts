import { formatHostSummary, runHostBatch } from "./host-batch.js";
import {
  HostCliUsageError,
  hostReplayCommand,
  hostRunOptions,
  hostUsage,
  parseHostCliOptions,
} from "./host-cli-options.js";
import type { HostCliOptions } from "./host-cli-options.js";
import type { HostSimulationResult } from "./host-simulator.js";

/**
 * `npm run sim:host -- --seeds N [--seed S]`: NodeHosts in the deterministic
 * simulator; one line per failing seed with the command that replays it,
 * then one summary line (violations and the batch's trace hash).
 */
async function main(argv: readonly string[]): Promise<number> {
  let options: HostCliOptions;
  try {
    options = parseHostCliOptions(argv);
  } catch (error) {
    if (!(error instanceof HostCliUsageError)) throw error;
    process.stderr.write(`sim:host: ${error.message}\n${hostUsage}\n`);
    return 2;
  }
  const onResult = (result: HostSimulationResult): void => {
    if (result.violations.length === 0) return;
    const run =
      `seed ${result.seed} nodes ${result.nodes} groups ${result.groups} mix ${result.mix} ` +
      `quiesce ${result.quiesce ? "on" : "off"} ` +
      `durable-machines ${result.durableMachines ? "on" : "off"} ` +
      `framework-stores ${result.frameworkStores ? "on" : "off"}`;
    const first = result.violations[0]!.split("\n")[0];
    process.stdout.write(
      `FAIL ${run} | replay: ${hostReplayCommand(result.seed, options)} | ${first}\n`,
    );
    if (options.trace || options.seeds === 1) {
      for (const violation of result.violations) process.stdout.write(`  ${violation}\n`);
      process.stdout.write(
        `  last events:\n${result.traceTail.map((line) => `    ${line}`).join("\n")}\n`,
      );
    }
  };
  const summary = await runHostBatch({
    firstSeed: options.seed,
    seeds: options.seeds,
    run: {
      ...hostRunOptions(options),
      ...(options.trace ? { traceSink: (line: string) => process.stdout.write(`${line}\n`) } : {}),
    },
    onResult,
    clock: () => performance.now(),
  });
  process.stdout.write(`${formatHostSummary(summary)}\n`);
  return summary.violations === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
