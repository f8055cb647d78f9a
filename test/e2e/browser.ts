import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { projectRoot } from "../integration/cluster/node-processes.js";

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it): no browser download. */
export const chromiumPath = process.env["RAFTKIT_CHROMIUM"] ?? "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox"] });
}

/** Everything the page wrote to its console as an error, and uncaught exceptions. */
export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

/** Screenshots of a suite go to .vitest/e2e/<suite>/ (gitignored with .vitest/). */
export async function screenshotFolder(suite: string): Promise<string> {
  const folder = join(projectRoot, ".vitest", "e2e", suite);
  await mkdir(folder, { recursive: true });
  return folder;
}
