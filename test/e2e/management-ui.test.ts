// The management UI in headless chromium against three real node processes:
// nodes and leaders shown, a leadership transfer by keyboard through the
// confirmation dialog, a SIGKILLed node marked dead while leaders move, a
// phone-sized viewport, and no console errors throughout.
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProcessCluster } from "../integration/cluster/node-processes.js";
import { collectConsoleErrors, launchChromium, screenshotFolder } from "./browser.js";
import { ensureUiBuilt } from "./ui-build.js";

const groups = [1, 2, 3, 4, 5, 6];
/** Bounds on waiting for the page (never a timing assertion). */
const waitMs = 20_000;

describe("management UI (chromium, 3 node processes)", () => {
  let cluster: ProcessCluster;
  let browser: Browser;
  let page: Page;
  let consoleErrors: string[];
  let screenshots: string;

  beforeAll(async () => {
    cluster = await ProcessCluster.create({ nodes: 3, groups: "1-6" });
    [browser, screenshots] = await Promise.all([
      launchChromium(),
      screenshotFolder("management-ui"),
      ensureUiBuilt(),
      cluster.startAll(),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    consoleErrors = collectConsoleErrors(page);
  });

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  });

  const leadersShown = (): Promise<number[]> =>
    page.$$eval("tr[data-group]", (rows) =>
      rows.map((row) => Number(row.getAttribute("data-leader"))),
    );

  const waitForLeaders = async (allowed: readonly number[]): Promise<void> => {
    await page.waitForFunction(
      ({ count, allowedLeaders }) => {
        const rows = Array.from(document.querySelectorAll("tr[data-group]"));
        return (
          rows.length === count &&
          rows.every((row) => allowedLeaders.includes(Number(row.getAttribute("data-leader"))))
        );
      },
      { count: groups.length, allowedLeaders: [...allowed] },
      { timeout: waitMs },
    );
  };

  it("shows the three nodes alive and a leader for every partition", async () => {
    await page.goto(`${cluster.node(1).url}/`);
    expect(new URL(page.url()).pathname).toBe("/ui/");
    for (const nodeId of [1, 2, 3]) {
      await page
        .getByTestId(`health-n${nodeId}`)
        .filter({ hasText: "alive" })
        .waitFor({ timeout: waitMs });
    }
    await waitForLeaders([1, 2, 3]);
    expect((await leadersShown()).sort()).toHaveLength(groups.length);
    const leaderships = await Promise.all(
      [1, 2, 3].map((nodeId) => page.getByTestId(`leaderships-n${nodeId}`).innerText()),
    );
    expect(leaderships.map(Number).reduce((sum, count) => sum + count, 0)).toBe(groups.length);
    await page.screenshot({ path: join(screenshots, "1-cluster.png"), fullPage: true });
  });

  it("transfers a partition's leadership to n3 by keyboard, through the dialog", async () => {
    const leaders = await leadersShown();
    const index = leaders.findIndex((leader) => leader !== 3);
    expect(index).toBeGreaterThanOrEqual(0);
    const groupId = groups[index]!;
    await page.getByRole("button", { name: `transfer leadership of partition ${groupId}` }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.waitFor({ timeout: waitMs });
    await page.getByLabel("New leader").selectOption("3");
    await dialog.getByRole("button", { name: "Transfer" }).focus();
    await page.keyboard.press("Enter");
    await dialog.getByRole("status").filter({ hasText: `to n3` }).waitFor({ timeout: waitMs });
    await page.screenshot({ path: join(screenshots, "2-transfer-confirmed.png") });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden", timeout: waitMs });
    await page
      .getByTestId(`leader-${groupId}`)
      .filter({ hasText: "n3" })
      .waitFor({ timeout: waitMs });
    await page.screenshot({ path: join(screenshots, "3-transferred.png"), fullPage: true });
  });

  it("marks a SIGKILLed node dead and shows its leaderships moving to the others", async () => {
    expect(await leadersShown()).toContain(3);
    await cluster.node(3).stop("SIGKILL");
    await page.getByTestId("health-n3").filter({ hasText: "dead" }).waitFor({ timeout: waitMs });
    await waitForLeaders([1, 2]);
    expect(await page.getByTestId("leaderships-n3").innerText()).toBe("0");
    await expect(page.locator('tr[data-node="3"] .error-text').innerText()).resolves.toMatch(
      /n3 at 127\.0\.0\.1/,
    );
    await page.screenshot({ path: join(screenshots, "4-node-killed.png"), fullPage: true });
  });

  it("fits a phone: the page does not scroll sideways, wide tables scroll inside", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId("health-n1").waitFor({ timeout: waitMs });
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(screenshots, "5-phone.png"), fullPage: true });
  });

  it("wrote no error to the browser console", () => {
    expect(consoleErrors).toEqual([]);
  });
});
