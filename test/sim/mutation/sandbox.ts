import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import type { Mutation } from "./mutations.js";

/**
 * A scratch copy of the parts the simulator runs on — framework/raft and
 * test/sim (without test/sim/host, which runs on other parts of the
 * framework) — with node_modules symlinked, so a mutation never touches the
 * working tree.
 */
export interface Sandbox {
  readonly root: string;
  remove(): void;
}

export class MutationError extends Error {
  override readonly name = "MutationError";
}

export function createSandbox(repositoryRoot: string): Sandbox {
  const root = mkdtempSync(join(tmpdir(), "raftkit-mutation-"));
  const copy = (part: string, skip: readonly string[]): void => {
    cpSync(join(repositoryRoot, part), join(root, part), {
      recursive: true,
      filter: (source) => {
        const inside = relative(join(repositoryRoot, part), source);
        return !skip.some((name) => inside === name || inside.startsWith(`${name}${sep}`));
      },
    });
  };
  copy("framework/raft", []);
  copy("test/sim", ["host"]);
  writeFileSync(join(root, "package.json"), `${JSON.stringify({ type: "module" })}\n`);
  symlinkSync(join(repositoryRoot, "node_modules"), join(root, "node_modules"), "dir");
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Applies ONE textual replacement; fails loudly unless its old text occurs exactly once. */
export function applyMutation(root: string, mutation: Mutation): void {
  const path = join(root, mutation.file);
  const source = readFileSync(path, "utf8");
  const occurrences = source.split(mutation.oldText).length - 1;
  if (occurrences !== 1) {
    throw new MutationError(
      `mutation ${mutation.id} no longer applies: its old text occurs ${occurrences} times ` +
        `in ${mutation.file} (allowed exactly 1): ${JSON.stringify(mutation.oldText)}`,
    );
  }
  const mutated = source.replace(mutation.oldText, () => mutation.newText);
  if (mutated === source) throw new MutationError(`mutation ${mutation.id} changes nothing`);
  writeFileSync(path, mutated);
}
