import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repositoryRoot = resolve(import.meta.dirname, "../../..");

/**
 * A project directory outside the repository whose node_modules is this
 * repository's (entry by entry, as symlinks) plus `raftkit` → the repository:
 * generated code and scaffolds resolve "raftkit/framework/…" as a user's would.
 */
export async function createTempProject(prefix: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), prefix));
  await linkNodeModules(directory);
  return directory;
}

/** Gives `directory` the node_modules described at createTempProject. */
export async function linkNodeModules(directory: string): Promise<void> {
  const modules = join(directory, "node_modules");
  const bin = join(modules, ".bin");
  await mkdir(bin, { recursive: true });
  const repositoryModules = join(repositoryRoot, "node_modules");
  for (const entry of await readdir(repositoryModules)) {
    if (entry === ".bin" || entry === "raftkit" || entry.startsWith(".")) continue;
    await symlink(join(repositoryModules, entry), join(modules, entry));
  }
  for (const entry of await readdir(join(repositoryModules, ".bin"))) {
    await symlink(join(repositoryModules, ".bin", entry), join(bin, entry));
  }
  await symlink(repositoryRoot, join(modules, "raftkit"));
  await symlink(join(repositoryRoot, "framework", "cli", "raftkit.js"), join(bin, "raftkit"));
}

/** Strict settings of the repository's tsconfig, for a project of generated code. */
export async function writeStrictTsconfig(
  directory: string,
  include: readonly string[],
): Promise<void> {
  const compilerOptions = {
    target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022"],
    types: ["node"], strict: true, noUncheckedIndexedAccess: true, noImplicitOverride: true,
    verbatimModuleSyntax: true, isolatedModules: true, experimentalDecorators: true,
    emitDecoratorMetadata: true, skipLibCheck: true, noEmit: true,
  };
  await writeFile(join(directory, "tsconfig.json"), JSON.stringify({ compilerOptions, include }));
  const packageJson = JSON.stringify({ name: "temp", type: "module" });
  await writeFile(join(directory, "package.json"), packageJson);
}

export interface Finished {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a binary of node_modules/.bin in `directory`; resolves with its exit code and output. */
export function runIn(
  directory: string,
  binary: string,
  args: readonly string[],
): Promise<Finished> {
  return new Promise((done) => {
    const child = spawn(join(directory, "node_modules", ".bin", binary), [...args], {
      cwd: directory,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    // A child that cannot start (a missing binary) answers here, not as an uncaught 'error'.
    child.on("error", (error) => done({ code: null, output: `${output}${String(error)}` }));
    child.on("close", (code) => done({ code, output }));
  });
}
