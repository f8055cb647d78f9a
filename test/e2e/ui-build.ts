import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { build } from "vite";
import { projectRoot } from "../integration/cluster/node-processes.js";

const appDirectory = join(projectRoot, "framework/ui/app");
const builtPage = join(projectRoot, "framework/ui/dist/index.html");

/**
 * Builds the UI (`npm run build:ui`) unless framework/ui/dist is newer than
 * every file of framework/ui/app: the browser tests must see the current source.
 */
export async function ensureUiBuilt(): Promise<void> {
  const builtAtMs = await modifiedAtMs(builtPage);
  const sourceAtMs = await newestModifiedAtMs(appDirectory);
  if (builtAtMs !== undefined && builtAtMs >= sourceAtMs) return;
  await build({ configFile: join(appDirectory, "vite.config.ts"), logLevel: "warn" });
}

async function modifiedAtMs(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

async function newestModifiedAtMs(directory: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    const atMs = entry.isDirectory() ? await newestModifiedAtMs(path) : (await stat(path)).mtimeMs;
    newest = Math.max(newest, atMs);
  }
  return newest;
}
