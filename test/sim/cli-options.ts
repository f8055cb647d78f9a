import type { FaultMixName } from "./fault-mix.js";
import { faultMixNames, isFaultMixName } from "./fault-mix.js";

/** What `npm run sim -- …` was asked to do. */
export interface CliOptions {
  /** First seed of the batch. */
  readonly seed: number;
  readonly seeds: number;
  readonly nodes: readonly number[];
  readonly mix: FaultMixName | undefined;
  readonly safetyTicks: number | undefined;
  readonly historyOut: string | undefined;
  /** Print every trace line (meant for replaying one seed). */
  readonly trace: boolean;
}

export const usage = `usage: npm run sim -- [--seeds N] [--seed S] [--nodes 3,5]
                       [--mix ${faultMixNames.join("|")}]
                       [--ticks T] [--history-out DIR] [--trace]
  --seeds N        number of seeds to run (default 1 with --seed, else 100)
  --seed S         first seed (default 1); alone, replays exactly that seed
  --nodes 3,5      group sizes to run every seed with (default 3,5)
  --mix NAME       force one fault mix (default: each seed draws one)
  --ticks T        ticks of the fault (safety) phase (default 400)
  --history-out D  write each run's client history to D/seed-<S>-n<N>.json
  --trace          print every event of the run (use with one seed)`;

export class CliUsageError extends Error {
  override readonly name = "CliUsageError";
}

function integer(flag: string, text: string | undefined, min: number): number {
  if (text === undefined) throw new CliUsageError(`${flag} needs a value`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || !/^\d+$/.test(text)) {
    throw new CliUsageError(`${flag} = ${JSON.stringify(text)}, allowed an integer ≥ ${min}`);
  }
  return value;
}

export function parseCliOptions(argv: readonly string[]): CliOptions {
  let seed: number | undefined;
  let seeds: number | undefined;
  let nodes: number[] = [3, 5];
  let mix: FaultMixName | undefined;
  let safetyTicks: number | undefined;
  let historyOut: string | undefined;
  let trace = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string | undefined => argv[++i];
    switch (flag) {
      case "--seed":
        seed = integer(flag, value(), 0);
        break;
      case "--seeds":
        seeds = integer(flag, value(), 1);
        break;
      case "--ticks":
        safetyTicks = integer(flag, value(), 1);
        break;
      case "--nodes":
        nodes = parseNodes(value());
        break;
      case "--mix": {
        const name = value();
        if (name === undefined || !isFaultMixName(name)) {
          throw new CliUsageError(
            `--mix = ${JSON.stringify(name)}, allowed one of ${faultMixNames.join(", ")}`,
          );
        }
        mix = name;
        break;
      }
      case "--history-out": {
        historyOut = value();
        if (historyOut === undefined || historyOut === "")
          throw new CliUsageError("--history-out needs a directory");
        break;
      }
      case "--trace":
        trace = true;
        break;
      default:
        throw new CliUsageError(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  return {
    seed: seed ?? 1,
    seeds: seeds ?? (seed !== undefined ? 1 : 100),
    nodes,
    mix,
    safetyTicks,
    historyOut,
    trace,
  };
}

function parseNodes(text: string | undefined): number[] {
  if (text === undefined) throw new CliUsageError("--nodes needs a value such as 3,5");
  const sizes = text.split(",").map((part) => part.trim());
  const nodes = sizes.map(Number);
  if (sizes.length === 0 || nodes.some((size) => size !== 3 && size !== 5)) {
    throw new CliUsageError(
      `--nodes = ${JSON.stringify(text)}, allowed a list of 3 and 5 (e.g. 3,5)`,
    );
  }
  return [...new Set(nodes)];
}

/** The command that replays one run exactly. */
export function replayCommand(seed: number, nodes: number, options: CliOptions): string {
  const extra = [
    options.mix !== undefined ? ` --mix ${options.mix}` : "",
    options.safetyTicks !== undefined ? ` --ticks ${options.safetyTicks}` : "",
  ].join("");
  return `npm run sim -- --seed ${seed} --nodes ${nodes}${extra}`;
}
