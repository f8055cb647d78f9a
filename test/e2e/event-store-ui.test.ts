// The event store view in headless chromium against three event store node
// processes (examples/event-store/node/node-main.ts): a stream created through
// the form, events inserted by a client arriving in the view (count, ingest
// rate, newest events), an aggregate and a windowed OHLC query with its
// candlestick chart, and no console errors.
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

const entry = join(projectRoot, "examples/event-store/node/node-main.ts");
const waitMs = 20_000;
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
describe.skipIf(!existsSync(entry))(
  "event store view (chromium, 3 event store node processes)",
  () => {
    let cluster: ProcessCluster;
    let browser: Browser;
    let page: Page;
    let consoleErrors: string[];
    let screenshots: string;

    beforeAll(async () => {
      cluster = await ProcessCluster.create({ nodes: 3, groups: "1-3", entry });
      [browser, screenshots] = await Promise.all([
        launchChromium(),
        screenshotFolder("event-store-ui"),
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

    it("creates a stream through the form, behind the confirmation", async () => {
      await page.goto(`${cluster.node(1).url}/ui/#events`);
      await page.getByRole("button", { name: "Create stream…" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Stream name").fill(stream);
      await dialog.getByLabel(/^Fields/).fill("price:double:aggregated, volume:int64:aggregated");
      await dialog.getByRole("button", { name: "Create" }).click();
      await dialog
        .getByRole("status")
        .filter({ hasText: `stream ${stream} created` })
        .waitFor({ timeout: waitMs });
      await page.screenshot({ path: join(screenshots, "1-stream-created.png") });
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden", timeout: waitMs });
      expect(new URL(page.url()).hash).toBe(`#events/${stream}`);
      await page
        .locator(`tr[data-stream="${stream}"]`)
        .getByText("price:double:aggregated, volume:int64:aggregated")
        .waitFor({ timeout: waitMs });
    });

    it("shows inserted events arriving: count, ingest rate, newest events", async () => {
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
      await page.screenshot({ path: join(screenshots, "2-events-arrived.png"), fullPage: true });
    });

    it("runs an aggregate and a one-minute OHLC query, with the candles charted", async () => {
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
      await page.screenshot({ path: join(screenshots, "3-candles.png"), fullPage: true });
    });

    it("wrote no error to the browser console", () => {
      expect(consoleErrors).toEqual([]);
    });
  },
);
