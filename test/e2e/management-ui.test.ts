// The management UI in headless chromium against three real node processes
// (event store nodes, examples/event-store/node/node-main.ts, when that entry
// is in the tree; else `raftkit start` with kv groups): nodes and leaders
// shown; a leadership transfer by keyboard through the confirmation dialog; a
// stream created through the form, inserted events arriving, an aggregate and
// a one-minute OHLC query with its candlesticks; a SIGKILLed node marked dead
// while leaders move and the stream still answers; a phone-sized viewport;
// no console errors throughout. Screenshots: .vitest/e2e/management-ui/.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ColumnSchema,
  EventsSchema,
  EventStoreService,
} from "../../framework/ui/app/gen/eventstore/v1/eventstore_pb.js";
import type { Events } from "../../framework/ui/app/gen/eventstore/v1/eventstore_pb.js";
import { ProcessCluster, projectRoot } from "../integration/cluster/node-processes.js";
import { collectConsoleErrors, launchChromium, screenshotFolder } from "./browser.js";
import { ensureUiBuilt } from "./ui-build.js";

const eventStoreEntry = join(projectRoot, "examples/event-store/node/node-main.ts");
/** The event store steps are reported skipped (never passed) while its node entry is missing. */
const withEventStore = existsSync(eventStoreEntry);

const groups = [1, 2, 3, 4, 5, 6];
const stream = "ticks";
/** Three minutes of events, one every 2 s, from a minute boundary: three one-minute candles. */
const startMicros = 1_767_225_600_000_000; // 2026-01-01 00:00:00 UTC
const eventCount = 90;

function ticks(first: number, count: number): Events {
  const indexes = Array.from({ length: count }, (_, offset) => first + offset);
  return create(EventsSchema, {
    timestamps: indexes.map((index) => startMicros + index * 2_000_000),
    columns: [
      create(ColumnSchema, {
        name: "price",
        values: { case: "doubles", value: { values: indexes.map((index) => 100 + (index % 7)) } },
      }),
      create(ColumnSchema, {
        name: "volume",
        values: { case: "int64s", value: { values: indexes.map((index) => BigInt(index)) } },
      }),
    ],
  });
}

// The event store's node entry comes with the event store service (issue #8); until it is in the
// tree this suite is reported as skipped, never passed.

/** Bounds on waiting for the page (never a timing assertion). */
const waitMs = 20_000;

describe("management UI (chromium, 3 node processes)", () => {
  let cluster: ProcessCluster;
  let browser: Browser;
  let page: Page;
  let consoleErrors: string[];
  let screenshots: string;

  beforeAll(async () => {
    cluster = await ProcessCluster.create({
      nodes: 3,
      groups: "1-6",
      ...(withEventStore ? { entry: eventStoreEntry } : {}),
    });
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

  /** Inserts through the stream's partition leader (tries each node, waits out elections). */
  const insert = async (events: Events): Promise<void> => {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const node = cluster.nodes[attempt % cluster.nodes.length]!;
      const client = createClient(
        EventStoreService,
        createConnectTransport({ baseUrl: node.url, httpVersion: "1.1" }),
      );
      try {
        const response = await client.insert({ stream, events }, { timeoutMs: 5000 });
        expect(response.accepted).toBe(events.timestamps.length);
        return;
      } catch (error) {
        const code = ConnectError.from(error).code;
        if (code !== Code.FailedPrecondition && code !== Code.Unavailable) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error("no node accepted the insert");
  };

  it.skipIf(!withEventStore)(
    "creates a stream through the form, behind the confirmation",
    async () => {
      await page.getByRole("link", { name: "Event store" }).click();
      await page.getByRole("button", { name: "Create stream…" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Stream name").fill(stream);
      await dialog.getByLabel(/^Fields/).fill("price:double:aggregated, volume:int64:aggregated");
      await dialog.getByRole("button", { name: "Create" }).click();
      await dialog
        .getByRole("status")
        .filter({ hasText: `stream ${stream} created` })
        .waitFor({ timeout: waitMs });
      await page.screenshot({ path: join(screenshots, "4-stream-created.png") });
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden", timeout: waitMs });
      expect(new URL(page.url()).hash).toBe(`#events/${stream}`);
      await page
        .locator(`tr[data-stream="${stream}"]`)
        .getByText("price:double:aggregated, volume:int64:aggregated")
        .waitFor({ timeout: waitMs });
    },
  );

  it.skipIf(!withEventStore)(
    "shows inserted events arriving: count, ingest rate, newest events",
    async () => {
      for (let batch = 0; batch < 3; batch += 1) {
        await insert(ticks(batch * 30, 30));
        await page
          .getByTestId(`count-${stream}`)
          .filter({ hasText: String((batch + 1) * 30) })
          .waitFor({ timeout: waitMs });
      }
      await page
        .getByTestId("ingest-rate")
        .filter({ hasText: /^[1-9]\d*\.\d events\/s now$/ })
        .waitFor({ timeout: waitMs });
      const newest = page.getByRole("table", { name: "latest events" }).locator("tbody tr");
      await expect.poll(() => newest.count(), { timeout: waitMs }).toBe(20);
      await expect(newest.first().locator("td").first().innerText()).resolves.toBe(
        "2026-01-01 00:02:58.000000",
      );
      await page.screenshot({ path: join(screenshots, "5-events-arrived.png"), fullPage: true });
    },
  );

  it.skipIf(!withEventStore)(
    "runs an aggregate and a one-minute OHLC query, with the candles charted",
    async () => {
      await page.getByLabel("Query", { exact: true }).selectOption("aggregate");
      await page.getByRole("button", { name: "Run" }).click();
      await page.getByText(`${eventCount} events`).waitFor({ timeout: waitMs });
      const price = page
        .getByRole("table", { name: "aggregate" })
        .locator("tr", { hasText: "price" });
      await expect(price.locator("td").nth(1).innerText()).resolves.toBe("100"); // min
      await page.getByLabel("Query", { exact: true }).selectOption("windows");
      await page.getByLabel("Window").selectOption("1 min");
      await page.getByLabel("Field").selectOption("price");
      await page.getByRole("button", { name: "Run" }).click();
      const chart = page.getByRole("img", { name: "candles of price" });
      await chart.waitFor({ timeout: waitMs });
      expect(await chart.getAttribute("data-candles")).toBe("3");
      expect(await chart.locator("canvas").count()).toBeGreaterThan(0);
      const windows = page.getByRole("table", { name: "windows" }).locator("tbody tr");
      expect(await windows.count()).toBe(3);
      await expect(windows.first().locator("td").nth(1).innerText()).resolves.toBe("30");
      await page.screenshot({ path: join(screenshots, "6-candles.png"), fullPage: true });
    },
  );

  it("marks a SIGKILLed node dead and shows its leaderships moving to the others", async () => {
    await page.getByRole("link", { name: "Cluster" }).click();
    await waitForLeaders([1, 2, 3]);
    expect(await leadersShown()).toContain(3);
    await cluster.node(3).stop("SIGKILL");
    await page.getByTestId("health-n3").filter({ hasText: "dead" }).waitFor({ timeout: waitMs });
    await waitForLeaders([1, 2]);
    expect(await page.getByTestId("leaderships-n3").innerText()).toBe("0");
    await expect(page.locator('tr[data-node="3"] .error-text').innerText()).resolves.toMatch(
      /n3 at 127\.0\.0\.1/,
    );
    await page.screenshot({ path: join(screenshots, "7-node-killed.png"), fullPage: true });
  });

  it.skipIf(!withEventStore)("still answers the stream's queries after the kill", async () => {
    await page.getByRole("link", { name: "Event store" }).click();
    await page.getByRole("link", { name: stream }).click();
    await page.getByLabel("Query", { exact: true }).selectOption("aggregate");
    await page.getByRole("button", { name: "Run" }).click();
    await page.getByText(`${eventCount} events`).waitFor({ timeout: waitMs });
    await page
      .getByTestId(`count-${stream}`)
      .filter({ hasText: String(eventCount) })
      .waitFor({
        timeout: waitMs,
      });
    await page.screenshot({ path: join(screenshots, "8-stream-after-kill.png"), fullPage: true });
  });

  it("fits a phone: the page does not scroll sideways, wide tables scroll inside", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = (): Promise<number> =>
      page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (withEventStore) {
      expect(await overflow()).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(screenshots, "9-phone-events.png"), fullPage: true });
    }
    await page.getByRole("link", { name: "Cluster" }).click();
    await page.getByTestId("health-n1").waitFor({ timeout: waitMs });
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(screenshots, "9-phone-cluster.png"), fullPage: true });
  });

  it("wrote no error to the browser console", () => {
    expect(consoleErrors).toEqual([]);
  });
});
