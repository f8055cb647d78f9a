import { execFile } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "../integration/cluster/node-processes.js";

const appDirectory = join(projectRoot, "framework/ui/app");
const builtPage = join(projectRoot, "framework/ui/dist/index.html");

/**
 * Builds the UI (`npm run build:ui`: its clients from proto/, then Vite)
 * unless framework/ui/dist is newer than every file of framework/ui/app (and
 * of proto/): the browser tests must see the current source.
 */
export async function ensureUiBuilt(): Promise<void> {
  const builtAtMs = await modifiedAtMs(builtPage);
  const sourceAtMs = Math.max(
    await newestModifiedAtMs(appDirectory, ["gen"]),
    await newestModifiedAtMs(join(projectRoot, "proto"), []),
  );
  if (builtAtMs !== undefined && builtAtMs >= sourceAtMs) return;
  await promisify(execFile)("npm", ["run", "build:ui"], { cwd: projectRoot });
}

async function modifiedAtMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Newest modification below `directory`, not looking into the folders named in `skipped`. */
async function newestModifiedAtMs(directory: string, skipped: readonly string[]): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (entry.isDirectory() && skipped.includes(entry.name)) continue;
    const path = join(directory, entry.name);
    const atMs = entry.isDirectory()
      ? await newestModifiedAtMs(path, [])
      : (await stat(path)).mtimeMs;
    newest = Math.max(newest, atMs);
  }
  return newest;
}
