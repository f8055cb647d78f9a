import { spawn } from "node:child_process";
import { join } from "node:path";
import type { HuntResult } from "./hunt.js";
import type { Mutation } from "./mutations.js";
import { applyMutation, createSandbox } from "./sandbox.js";

/** What the simulator made of one mutation (or of the unmutated core, the control). */
export interface MutationReport extends HuntResult {
  readonly id: string;
  readonly elapsedMs: number;
}

export interface MutationRunOptions {
  readonly repositoryRoot: string;
  readonly firstSeed: number;
  readonly maxRuns: number;
  readonly nodes: readonly number[];
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
    ]);
    return {
      id: mutation?.id ?? "control",
      ...parseHuntResult(output),
      elapsedMs: options.clock() - started,
    };
  } finally {
    sandbox.remove();
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
  return (
    `${report.id} found after ${report.runs} runs (limit ${maxRuns}, ${seconds}s): ` +
    `seed ${report.seed} nodes ${report.nodes} mix ${report.mix} | ${report.violation}`
  );
}
