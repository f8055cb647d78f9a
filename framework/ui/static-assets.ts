import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { UiResponse } from "./http-types.js";
import { sendText } from "./http-types.js";

/** The folder `npm run build:ui` writes (framework/ui/dist, next to this file's folder). */
export const defaultAssetsDirectory = join(import.meta.dirname, "dist");

const contentTypes: ReadonlyMap<string, string> = new Map([
  [".html", "text/html; charset=utf-8"],
  [".js", "text/javascript; charset=utf-8"],
  [".css", "text/css; charset=utf-8"],
  [".svg", "image/svg+xml"],
  [".png", "image/png"],
  [".ico", "image/x-icon"],
  [".json", "application/json"],
  [".map", "application/json"],
  [".woff2", "font/woff2"],
]);

/** File names Vite gives assets (name-hash.ext): no separators, no "..". */
const assetNamePattern = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,200}$/;

function contentTypeOf(name: string): string | undefined {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? undefined : contentTypes.get(name.slice(dot));
}

export interface StaticAssets {
  /** Serves the page (index.html); never cached, so a rebuilt UI shows at the next load. */
  servePage(response: UiResponse, headOnly: boolean): Promise<void>;
  /** Serves one file of assets/ by name; content-hashed names, so cached for good. */
  serveAsset(name: string, response: UiResponse, headOnly: boolean): Promise<void>;
}

/**
 * Serves the built UI from `directory`. Files are read at each request (the UI
 * may be rebuilt while a node runs); a missing build is answered with 503 and
 * the command that makes it.
 */
export function createStaticAssets(directory: string): StaticAssets {
  const notBuilt =
    `the management UI is not built: run \`npm run build:ui\` ` +
    `(expected ${join(directory, "index.html")})\n`;
  const send = (
    response: UiResponse,
    body: Buffer,
    type: string,
    cache: string,
    headOnly: boolean,
  ): void => {
    response.writeHead(200, {
      "content-type": type,
      "content-length": body.length,
      "cache-control": cache,
    });
    if (headOnly) response.end();
    else response.end(body);
  };
  return {
    async servePage(response, headOnly) {
      const body = await readOptional(join(directory, "index.html"));
      if (body === undefined) return sendText(response, 503, notBuilt);
      send(response, body, "text/html; charset=utf-8", "no-cache", headOnly);
    },
    async serveAsset(name, response, headOnly) {
      const type = contentTypeOf(name);
      if (!assetNamePattern.test(name) || type === undefined) {
        return sendText(response, 404, `no UI asset named ${JSON.stringify(name)}\n`);
      }
      const body = await readOptional(join(directory, "assets", name));
      if (body === undefined)
        return sendText(response, 404, `no UI asset named ${JSON.stringify(name)}\n`);
      send(response, body, type, "public, max-age=31536000, immutable", headOnly);
    },
  };
}

/** The file's bytes, or undefined when it does not exist (other errors propagate). */
async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isMissingFile(error)) return undefined;
    throw error;
  }
}

function isMissingFile(error: unknown): boolean {
  return (
    error instanceof Error &&
    "code" in error &&
    (error.code === "ENOENT" || error.code === "ENOTDIR")
  );
}
