import { runSimulation } from "../simulator.js";

/**
 * Runs the simulator seed after seed (each seed on every group size, in
 * order, as `npm run sim` does) until a run reports a violation or
 * `maxRuns` runs are done. Run inside a sandbox, it tests the mutated core.
 */
export interface HuntOptions {
  readonly firstSeed: number;
  readonly maxRuns: number;
  readonly nodes: readonly number[];
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
}

export function hunt(options: HuntOptions): HuntResult {
  if (!(Number.isSafeInteger(options.maxRuns) && options.maxRuns >= 1)) {
    throw new RangeError(`hunt maxRuns = ${options.maxRuns}, allowed an integer ≥ 1`);
  }
  if (options.nodes.length === 0) throw new RangeError("hunt nodes is empty, allowed e.g. [3, 5]");
  let runs = 0;
  for (let seed = options.firstSeed; ; seed++) {
    for (const nodes of options.nodes) {
      const result = runSimulation({ seed, nodes });
      runs++;
      const first = result.violations[0];
      if (first !== undefined) {
        return {
          found: true,
          runs,
          seed,
          nodes,
          mix: result.mix,
          violation: first.split("\n")[0]!,
        };
      }
      if (runs >= options.maxRuns) return { found: false, runs };
    }
  }
}
