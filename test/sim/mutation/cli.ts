import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mutationById, mutations } from "./mutations.js";
import type { Mutation } from "./mutations.js";
import type { MutationReport } from "./run-mutation.js";
import { formatReport, runMutation } from "./run-mutation.js";

/**
 * `npm run sim:mutations [-- --runs N] [--only B1,B7] [--jobs J] [--control]`:
 * for each mutation of mutations.ts, a sandbox with that one bug, then the
 * simulator from seed 1 (3 and 5 nodes) until it reports a violation or N
 * runs (default 2000) are done. Exit code 1 if any mutation was not found
 * (or the control run of the unmutated core failed), 2 on bad arguments.
 */
const usage = `usage: npm run sim:mutations -- [--runs N] [--only B1,B7] [--jobs J] [--control]
                                    [--seed S] [--all]
  --runs N     runs per mutation before giving up (default 2000)
  --seed S     first seed (default 1); each seed runs on 3 and 5 nodes
  --all        run all N runs and count the failing ones (a detection rate)
  --keep       keep each sandbox and print how to replay the finding there
  --only IDS   mutations to run (default all: ${mutations.map((m) => m.id).join(",")})
  --jobs J     mutations hunted in parallel (default 1)
  --control    also run the unmutated core for N runs (it must stay clean)`;

interface Options {
  readonly runs: number;
  readonly seed: number;
  readonly all: boolean;
  readonly keep: boolean;
  readonly only: readonly Mutation[];
  readonly jobs: number;
  readonly control: boolean;
}

class UsageError extends Error {}

function parse(argv: readonly string[]): Options {
  let runs = 2000;
  let seed = 1;
  let all = false;
  let keep = false;
  let only: readonly Mutation[] = mutations;
  let jobs = 1;
  let control = false;
  const positive = (flag: string, text: string | undefined): number => {
    const value = Number(text);
    if (text === undefined || !/^\d+$/.test(text) || value < 1) {
      throw new UsageError(`${flag} = ${JSON.stringify(text)}, allowed an integer ≥ 1`);
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === "--runs") runs = positive(flag, argv[++i]);
    else if (flag === "--jobs") jobs = positive(flag, argv[++i]);
    else if (flag === "--control") control = true;
    else if (flag === "--all") all = true;
    else if (flag === "--keep") keep = true;
    else if (flag === "--seed") seed = positive(flag, argv[++i]);
    else if (flag === "--only") {
      const ids = argv[++i];
      if (ids === undefined) throw new UsageError("--only needs ids such as B1,B7");
      try {
        only = ids.split(",").map((id) => mutationById(id.trim()));
      } catch (error) {
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
    } else throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
  }
  return { runs, seed, all, keep, only, jobs, control };
}

async function main(argv: readonly string[]): Promise<number> {
  let options: Options;
  try {
    options = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`sim:mutations: ${error.message}\n${usage}\n`);
    return 2;
  }
  const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
  const queue: { readonly mutation: Mutation | undefined }[] = options.only.map((mutation) => ({
    mutation,
  }));
  if (options.control) queue.push({ mutation: undefined });
  const reports: MutationReport[] = [];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const report = await runMutation(next.mutation, {
        repositoryRoot,
        firstSeed: options.seed,
        maxRuns: options.runs,
        all: options.all,
        keep: options.keep,
        nodes: [3, 5],
        clock: () => performance.now(),
      });
      reports.push(report);
      process.stdout.write(`${formatReport(report, options.runs)}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, queue.length) }, worker));
  const missed = reports.filter((report) => report.id !== "control" && !report.found);
  const controlFailed = reports.some((report) => report.id === "control" && report.found);
  process.stdout.write(
    `mutations: ${reports.length - (options.control ? 1 : 0)} found: ` +
      `${reports.filter((r) => r.id !== "control" && r.found).length} ` +
      `missed: ${missed.map((report) => report.id).join(",") || "-"}` +
      `${options.control ? ` control: ${controlFailed ? "FAILED" : "clean"}` : ""}\n`,
  );
  return missed.length > 0 || controlFailed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
