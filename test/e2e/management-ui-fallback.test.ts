// The management UI in headless chromium against a node that serves neither
// the cluster manager's API (one `raftkit start` node without peers: no meta
// group) nor the event store: the page says it shows its own Status polls and
// why, the drain action shows the server's `unimplemented` as it is, the event
// store view says it lists this browser's streams, and nothing reaches the
// console. Screenshots: .vitest/e2e/management-ui-fallback/.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts, NodeProcess } from "../integration/cluster/node-processes.js";
import { collectConsoleErrors, launchChromium, screenshotFolder } from "./browser.js";
import { ensureUiBuilt } from "./ui-build.js";

/** Bounds on waiting for the page (never a timing assertion). */
const waitMs = 20_000;

describe("management UI without the cluster manager (chromium, 1 node process)", () => {
  let directory: string;
  let node: NodeProcess;
  let browser: Browser;
  let page: Page;
  let consoleErrors: string[];
  let screenshots: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "raftkit-ui-fallback-"));
    const [port] = await freePorts(1);
    // No --peers: the node runs no meta group and serves no ClusterService.
    const args = ["--id", "n1", "--listen", `127.0.0.1:${port}`, "--data", join(directory, "n1")];
    node = new NodeProcess(1, port!, [...args, "--groups", "1-2"]);
    [browser, screenshots] = await Promise.all([
      launchChromium(),
      screenshotFolder("management-ui-fallback"),
      ensureUiBuilt(),
      node.start(),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    consoleErrors = collectConsoleErrors(page);
    // The node's start is bounded by 60 s (a tsx process booting beside chromium on a loaded
    // box): the hook's bound is above it, so a hung start names the node.
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await node?.stop("SIGKILL");
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
  });

  it("shows its own polls as the source of the node states, and why", async () => {
    await page.goto(`${node.url}/ui/`);
    await page.getByTestId("health-n1").filter({ hasText: "alive" }).waitFor({ timeout: waitMs });
    const source = page.getByTestId("state-source");
    await source.and(page.locator('[data-source="polls"]')).waitFor({ timeout: waitMs });
    await expect
      .poll(() => source.innerText(), { timeout: waitMs })
      .toBe(
        "node states: this page's own Status polls — the nodes do not serve the cluster " +
          "manager's API (n1: [unimplemented] this node serves no " +
          "raftkit.v1.ClusterService/ListNodes (no such service or method here))",
      );
    for (const groupId of [1, 2]) {
      await page
        .getByTestId(`leader-${groupId}`)
        .filter({ hasText: "n1" })
        .waitFor({ timeout: waitMs });
    }
    await page.screenshot({ path: join(screenshots, "01-cluster.png"), fullPage: true });
  });

  it("shows the server's error of a drain as it is", async () => {
    await page.getByRole("button", { name: "drain node n1" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Drain" }).click();
    const outcome = dialog.getByRole("status");
    await outcome.waitFor({ timeout: waitMs });
    await expect(outcome.innerText()).resolves.toBe(
      "[unimplemented] this node serves no raftkit.v1.ClusterService/DrainNode " +
        "(no such service or method here)",
    );
    await expect(outcome.getAttribute("class")).resolves.toContain("error-text");
    await page.screenshot({ path: join(screenshots, "02-drain-refused.png") });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden", timeout: waitMs });
    // The refused drain changed nothing: n1 is alive, or suspect for a moment (the page's
    // Status poll has a 900 ms bound, which a loaded CI box misses now and then).
    await expect(page.getByTestId("health-n1").innerText()).resolves.toMatch(/^(alive|suspect)$/);
  });

  it("lists this browser's streams where the node has no ListStreams", async () => {
    await page.getByRole("link", { name: "Event store" }).click();
    const source = page.getByTestId("stream-source");
    await source.and(page.locator('[data-source="browser"]')).waitFor({ timeout: waitMs });
    await expect(source.innerText()).resolves.toMatch(
      new RegExp(
        "^the streams created or opened in this browser \\(the nodes do not serve " +
          "ListStreams\\) · last list call: \\[unimplemented\\] this node serves no " +
          "eventstore\\.v1\\.EventStoreService/ListStreams",
      ),
    );
    await page.screenshot({ path: join(screenshots, "03-events.png"), fullPage: true });
  });

  it("wrote no error to the browser console", () => {
    expect(consoleErrors).toEqual([]);
  });
});
