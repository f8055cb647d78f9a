import { spawn } from "node:child_process";
import { join } from "node:path";
import type { HuntResult } from "./hunt.js";
import type { Mutation } from "./mutations.js";
import { applyMutation, createSandbox } from "./sandbox.js";

/** What the simulator made of one mutation (or of the unmutated core, the control). */
export interface MutationReport extends HuntResult {
  readonly id: string;
  readonly elapsedMs: number;
  /** With `keep`: the sandbox left in place, to replay the finding there with --trace. */
  readonly sandbox?: string;
}

export interface MutationRunOptions {
  readonly repositoryRoot: string;
  readonly firstSeed: number;
  readonly maxRuns: number;
  readonly nodes: readonly number[];
  /** Run all `maxRuns` and count the failing ones, instead of stopping at the first. */
  readonly all?: boolean;
  /** Leave the sandbox in place (its path is in the report). */
  readonly keep?: boolean;
  /** Monotonic clock for the elapsed time, injected (performance.now in the CLI). */
  readonly clock: () => number;
}

/**
 * Copies the core and the simulator into a sandbox, applies `mutation`
 * (none: the control run of the unmutated core), and hunts for the first
 * failing run in a child process.
 */
export async function runMutation(
  mutation: Mutation | undefined,
  options: MutationRunOptions,
): Promise<MutationReport> {
  const started = options.clock();
  const sandbox = createSandbox(options.repositoryRoot);
  try {
    if (mutation !== undefined) applyMutation(sandbox.root, mutation);
    const output = await runChild(sandbox.root, [
      String(options.firstSeed),
      String(options.maxRuns),
      options.nodes.join(","),
      ...(options.all === true ? ["all"] : []),
    ]);
    return {
      id: mutation?.id ?? "control",
      ...parseHuntResult(output),
      elapsedMs: options.clock() - started,
      ...(options.keep === true ? { sandbox: sandbox.root } : {}),
    };
  } finally {
    if (options.keep !== true) sandbox.remove();
  }
}

function runChild(root: string, args: readonly string[]): Promise<string> {
  const entry = join(root, "test/sim/mutation/hunt-main.ts");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry, ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`hunt in ${root} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

export function parseHuntResult(output: string): HuntResult {
  const line = output.trim().split("\n").pop() ?? "";
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`hunt printed no JSON result: ${JSON.stringify(output.slice(-500))}`);
  }
  if (!isHuntResult(parsed)) throw new Error(`hunt printed an unexpected result: ${line}`);
  return parsed;
}

function isHuntResult(value: unknown): value is HuntResult {
  if (typeof value !== "object" || value === null) return false;
  if (!("found" in value) || !("runs" in value)) return false;
  return typeof value.found === "boolean" && typeof value.runs === "number";
}

export function formatReport(report: MutationReport, maxRuns: number): string {
  const seconds = (report.elapsedMs / 1000).toFixed(1);
  if (!report.found) return `${report.id} NOT FOUND in ${report.runs} runs (${seconds}s)`;
  const counted =
    report.failingRuns === undefined
      ? `found after ${report.runs} runs (limit ${maxRuns}, ${seconds}s)`
      : `found in ${report.failingRuns} of ${report.runs} runs, first after ` +
        `${report.firstFailingRun} (${seconds}s)`;
  const kept =
    report.sandbox === undefined
      ? ""
      : ` | replay: cd ${report.sandbox} && npx tsx test/sim/cli.ts ` +
        `--seed ${report.seed} --nodes ${report.nodes} --trace`;
  return (
    `${report.id} ${counted}: ` +
    `seed ${report.seed} nodes ${report.nodes} mix ${report.mix} | ${report.violation}${kept}`
  );
}
