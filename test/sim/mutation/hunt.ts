import { runSimulation } from "../simulator.js";

/**
 * Runs the simulator seed after seed (each seed on every group size, in
 * order, as `npm run sim` does) until a run reports a violation or
 * `maxRuns` runs are done; with `all`, runs all `maxRuns` and counts the
 * failing runs. Run inside a sandbox, it tests the mutated core.
 */
export interface HuntOptions {
  readonly firstSeed: number;
  readonly maxRuns: number;
  readonly nodes: readonly number[];
  readonly all?: boolean;
}

export interface HuntResult {
  readonly found: boolean;
  /** Runs done, the finding one included. */
  readonly runs: number;
  readonly seed?: number;
  readonly nodes?: number;
  readonly mix?: string;
  /** The first line of the first violation. */
  readonly violation?: string;
  /** With `all`: runs with a violation, and the run count at the first one. */
  readonly failingRuns?: number;
  readonly firstFailingRun?: number;
}

export function hunt(options: HuntOptions): HuntResult {
  if (!(Number.isSafeInteger(options.maxRuns) && options.maxRuns >= 1)) {
    throw new RangeError(`hunt maxRuns = ${options.maxRuns}, allowed an integer ≥ 1`);
  }
  if (options.nodes.length === 0) throw new RangeError("hunt nodes is empty, allowed e.g. [3, 5]");
  let runs = 0;
  let first: HuntResult | undefined;
  let failingRuns = 0;
  for (let seed = options.firstSeed; runs < options.maxRuns; seed++) {
    for (const nodes of options.nodes) {
      if (runs >= options.maxRuns) break;
      const result = runSimulation({ seed, nodes });
      runs++;
      const violation = result.violations[0];
      if (violation === undefined) continue;
      failingRuns++;
      first ??= {
        found: true,
        runs,
        seed,
        nodes,
        mix: result.mix,
        violation: violation.split("\n")[0]!,
      };
      if (options.all !== true) return first;
    }
  }
  if (first === undefined) return { found: false, runs, ...(options.all ? { failingRuns } : {}) };
  return { ...first, runs, failingRuns, firstFailingRun: first.runs };
}
