// The management UI in headless chromium against three real node processes
// (event store nodes, examples/event-store/node/node-main.ts, when that entry
// is in the tree; else `raftkit start` with kv groups): nodes and leaders
// shown, with the source of the node states (the cluster manager's
// ClusterService where the nodes serve it, else the page's own polls); every
// action reached by Tab; a leadership transfer by keyboard through the
// confirmation dialog; a drain by keyboard (Escape cancels, Enter confirms);
// a stream created through the form and one created by a client listed by
// ListStreams, inserted events arriving, an aggregate and a one-minute OHLC
// query with its candlesticks; a SIGKILLed node marked dead while leaders
// move and the stream still answers; a phone-sized viewport; no console
// errors throughout. Screenshots: .vitest/e2e/management-ui/.
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
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
  FieldSpecSchema,
  FieldType,
} from "../../framework/ui/app/gen/eventstore/v1/eventstore_pb.js";
import {
  ClusterNodeState,
  ClusterService,
} from "../../framework/ui/app/gen/raftkit/v1/cluster_pb.js";
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
/**
 * Bound on one call the test makes itself. Not retried on a timeout (an insert retried after
 * its deadline could apply twice), so generous: a loaded 2-core CI box takes seconds.
 */
const callMs = 20_000;
/**
 * Bound on a test, a hang detector: above the sum of the waits inside it (each up to `waitMs`
 * or `callMs`), so a hang is reported by the wait that names what it waited for. vitest's
 * default 60 s sits below three such waits.
 */
const testMs = (waits: number): number => (waits + 1) * waitMs;
/** Bound on the page showing its source of node states (see the first test). */
const sourceMs = 60_000;

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
      // The cluster manager's failure detector at its defaults (3 s / 10 s), said here so the
      // kill step's bounds can be read against them: with 2 s / 5 s a live node starved of
      // CPU on a loaded box (load 31 on 2 cores) was declared dead mid-test, and the
      // controller moved its leaderships away under the Tab and drain steps. Heartbeats stay
      // at 500 ms. Leader spreading off (slack 6 of 6
      // partitions): the controller would otherwise move leaders right after boot (the transfer
      // step read a leader that changed before its dialog opened) and undo the step's own
      // transfer in its next round (n3 above its share of 2). Drain and dead nodes still move
      // leaderships away.
      flags: ["--suspect-after-ms", "3000", "--dead-after-ms", "10000", "--leader-slack", "6"],
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
    // Each node's start is bounded by 60 s (three tsx processes booting at load 20-30 on 2
    // cores, beside chromium): the hook's bound is above it, so a hung start names the node.
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
  });

  const leadersShown = (): Promise<number[]> =>
    page.$$eval("tr[data-group]", (rows) =>
      rows.map((row) => Number(row.getAttribute("data-leader"))),
    );

  /** Every partition of `groups` shown with a leader among `allowed` (other groups, e.g. the
   * meta group, may be listed too). */
  const waitForLeaders = async (allowed: readonly number[], timeout = waitMs): Promise<void> => {
    try {
      await page.waitForFunction(
        ({ groupIds, allowedLeaders }) =>
          groupIds.every((groupId) => {
            const row = document.querySelector(`tr[data-group="${groupId}"]`);
            return (
              row !== null && allowedLeaders.includes(Number(row.getAttribute("data-leader")))
            );
          }),
        { groupIds: groups, allowedLeaders: [...allowed] },
        { timeout },
      );
    } catch (error) {
      throw new Error(
        `partitions ${groups.join(",")} not all led by n${allowed.join("/n")} within ` +
          `${timeout} ms; the page shows ${await pageState()}`,
        { cause: error },
      );
    }
  };

  /** What the page shows of leaders and node states (for a failure's message) and a screenshot. */
  const pageState = async (): Promise<string> => {
    await page.screenshot({ path: join(screenshots, "failed.png"), fullPage: true });
    const rows = await page.$$eval("tr[data-group]", (shown) =>
      shown.map((row) => `${row.getAttribute("data-group")}:n${row.getAttribute("data-leader")}`),
    );
    const nodes = await page.$$eval("[data-testid^='health-n']", (shown) =>
      shown.map((cell) => `${cell.getAttribute("data-testid")}=${cell.textContent ?? ""}`),
    );
    const source = await page
      .getByTestId("state-source")
      .innerText({ timeout: 1000 })
      .catch(String);
    return `group:leader ${rows.join(" ")}; ${nodes.join(" ")}; ${source}`;
  };

  const leaderOf = async (groupId: number): Promise<number> =>
    Number(await page.locator(`tr[data-group="${groupId}"]`).getAttribute("data-leader"));

  /**
   * Whether the nodes serve the cluster manager's API, asked directly (not through the page):
   * the page must then show the meta group's states, else its own polls.
   */
  const managerServed = async (): Promise<boolean> => {
    const client = createClient(
      ClusterService,
      createConnectTransport({ baseUrl: cluster.node(1).url, httpVersion: "1.1" }),
    );
    try {
      await client.listNodes({}, { timeoutMs: callMs });
      return true;
    } catch (error) {
      if (ConnectError.from(error).code === Code.Unimplemented) return false;
      throw error;
    }
  };
  let withManager = false;

  /** Node `nodeId`'s state in the meta group's table, asked of n1 directly (not the page). */
  const managerStateOf = async (nodeId: number): Promise<ClusterNodeState | undefined> => {
    const client = createClient(
      ClusterService,
      createConnectTransport({ baseUrl: cluster.node(1).url, httpVersion: "1.1" }),
    );
    const { nodes } = await client.listNodes({}, { timeoutMs: callMs });
    return nodes.find((node) => Number(node.nodeId) === nodeId)?.state;
  };

  /**
   * n2 is not draining: shown alive, or suspect, within the wait's bound. Waited for, not read
   * at one instant: a loaded box makes the page's verdict dead for a while — the page calls a
   * node suspect when its Status poll misses its 900 ms bound and dead after 3 s of that (with
   * the manager's table whenever that table is over 3 s old, the poll of it failing too), and
   * the meta group after 10 s without heartbeats. At load 23 on 2 cores the page showed n2
   * dead right after Escape (session 5). A drain does not end by itself, so a node shown alive
   * or suspect was not drained; the server's own table is asked too.
   */
  const expectNotDraining = async (nodeId: number): Promise<void> => {
    await page
      .getByTestId(`health-n${nodeId}`)
      .filter({ hasText: /^(alive|suspect)$/ })
      .waitFor({ timeout: waitMs })
      .catch(async (error: unknown) => {
        const shown = await pageState();
        const what = `n${nodeId} not shown alive or suspect within ${waitMs} ms`;
        throw new Error(`${what}; the page shows ${shown}`, { cause: error });
      });
    if (withManager) {
      const state = await managerStateOf(nodeId);
      expect(state).toBeDefined();
      expect(state).not.toBe(ClusterNodeState.DRAINING);
    }
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
    const leaders = await Promise.all(groups.map(leaderOf));
    const leaderships = await Promise.all(
      [1, 2, 3].map((nodeId) => page.getByTestId(`leaderships-n${nodeId}`).innerText()),
    );
    // The shown leaderships count every listed group (the meta group too, where there is one).
    const listed = await leadersShown();
    expect(leaderships.map(Number).reduce((sum, count) => sum + count, 0)).toBe(
      listed.filter((leader) => leader !== 0).length,
    );
    expect(leaders.every((leader) => [1, 2, 3].includes(leader))).toBe(true);
    withManager = await managerServed();
    const expectedSource = withManager
      ? /^node states: the cluster manager's meta group, ClusterService on n1$/
      : new RegExp(
          "^node states: this page's own Status polls — the nodes do not serve the cluster " +
            "manager's API \\(n1: \\[unimplemented\\]",
        );
    // The source and its text read at one instant (the page's own node is asked first; another
    // answers only while it fails). The page uses the manager's table while its ListNodes and
    // ListPartitions answer within 900 ms (or answered less than 3 s ago): at load 24-30 on 2
    // cores the page went back and forth between the two sources for over 20 s, every node's
    // calls missing that bound (session 5) — so one condition, and a bound, not a timing check.
    await page
      .waitForFunction(
        ({ kind, pattern }) => {
          const element = document.querySelector('[data-testid="state-source"]');
          return (
            element instanceof HTMLElement &&
            element.getAttribute("data-source") === kind &&
            new RegExp(pattern).test(element.innerText)
          );
        },
        { kind: withManager ? "manager" : "polls", pattern: expectedSource.source },
        { timeout: sourceMs },
      )
      .catch(async (error: unknown) => {
        throw new Error(`the page's state source not shown within ${sourceMs} ms; ` +
          `the page shows ${await pageState()}`, { cause: error });
      });
    await page.screenshot({ path: join(screenshots, "01-cluster.png"), fullPage: true });
  }, testMs(4) + sourceMs);

  it("reaches every action and link by Tab, in page order", async () => {
    /** One walk from the top of the page: the name of each element Tab reaches, once each. */
    const walk = async (): Promise<string[]> => {
      await page.locator("body").focus();
      const reached: string[] = [];
      // Bounded: the page has 2 links, 3 drain buttons, the filter and 6 transfer buttons.
      for (let press = 0; press < 30; press += 1) {
        await page.keyboard.press("Tab");
        const name = await page.evaluate(() => {
          const element = document.activeElement;
          if (element === null || element === document.body) return "";
          return (
            element.getAttribute("aria-label") ??
            (element.id === "" ? (element.textContent ?? "") : `#${element.id}`)
          );
        });
        if (reached.includes(name)) break; // wrapped around to the start
        reached.push(name);
      }
      // Tab order is a cycle, and a walk after another one begins where that one ended (focusing
      // the body does not move Chromium's starting point): read it from the first link on.
      const first = reached.indexOf("Cluster");
      return first < 0 ? reached : [...reached.slice(first), ...reached.slice(0, first)];
    };
    const expected = [
      "Cluster",
      "Event store",
      ...[1, 2, 3].map((nodeId) => `drain node n${nodeId}`),
      "#partition-filter",
      ...groups.map((groupId) => `transfer leadership of partition ${groupId}`),
    ];
    // A partition's transfer button is there while the page knows its leader, and a leader's
    // Status poll missing its 900 ms bound hides it until the next poll: at load 30 on 2 cores
    // partition 2's button was gone during one walk begun right after every leader was shown.
    // So the walk is repeated until it meets every action (within a bound); the order is
    // checked on that complete walk.
    const deadline = Date.now() + waitMs;
    let reached: string[] = [];
    for (;;) {
      await waitForLeaders([1, 2, 3]);
      reached = await walk();
      if (expected.every((name) => reached.includes(name)) || Date.now() > deadline) break;
    }
    // In this order, with nothing of these skipped (other groups' buttons may sit between).
    const positions = expected.map((name) => reached.indexOf(name));
    expect(positions.every((position) => position >= 0), reached.join(" | ")).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    // Focus is visible: the focused element draws an outline.
    const outline = await page.evaluate(() => {
      const element = document.activeElement;
      return element === null ? "none" : getComputedStyle(element).outlineStyle;
    });
    expect(outline).not.toBe("none");
    await page.screenshot({ path: join(screenshots, "02-focus.png") });
    // Walks for up to `waitMs`, each after a leader wait of up to `waitMs`.
  }, testMs(3));

  it("transfers a partition's leadership by keyboard, through the dialog", async () => {
    // Leaders as the page shows them once settled: every partition led, the same over 1 s
    // (a group still electing, or a leader moving, would make the chosen transfer stale).
    const settledLeaders = async (): Promise<number[]> => {
      const deadline = Date.now() + waitMs;
      let previous = "";
      for (;;) {
        const leaders = await Promise.all(groups.map(leaderOf));
        const reading = leaders.join(",");
        if (leaders.every((leader) => leader > 0) && reading === previous) return leaders;
        if (Date.now() > deadline) throw new Error(`leaders did not settle: ${reading}`);
        previous = reading;
        await page.waitForTimeout(1000);
      }
    };
    const leaders = await settledLeaders();
    // To n3 (the node the kill step stops later), unless n3 already leads every partition.
    const target = leaders.some((leader) => leader !== 3) ? 3 : 1;
    const groupId = groups[leaders.findIndex((leader) => leader !== target)]!;
    expect(groupId).toBeDefined();
    // exact: a name is matched as a substring otherwise, and "… partition 2" is also the
    // start of the meta group's "… partition 2147483000".
    // Focus and Enter in one action: the button is re-rendered while its leader's poll fails,
    // and a focus taken before that was lost before Enter once at load 24 (no dialog opened).
    await page
      .getByRole("button", { name: `transfer leadership of partition ${groupId}`, exact: true })
      .press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.waitFor({ timeout: waitMs });
    await page.getByLabel("New leader").selectOption(String(target));
    await dialog.getByRole("button", { name: "Transfer" }).focus();
    await page.keyboard.press("Enter");
    await dialog
      .getByRole("status")
      .filter({ hasText: `to n${target}` })
      .waitFor({ timeout: waitMs });
    await page.screenshot({ path: join(screenshots, "03-transfer-confirmed.png") });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden", timeout: waitMs });
    await page
      .getByTestId(`leader-${groupId}`)
      .filter({ hasText: new RegExp(`^n${target}$`) })
      .waitFor({ timeout: waitMs });
    await page.screenshot({ path: join(screenshots, "04-transferred.png"), fullPage: true });
  }, testMs(5));

  it("drains a node by keyboard: Escape cancels, Enter confirms; it shows draining", async () => {
    const button = page.getByRole("button", { name: "drain node n2" });
    await button.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.waitFor({ timeout: waitMs });
    await expect(dialog.getByRole("heading").innerText()).resolves.toBe("Drain node n2");
    // The modal takes focus, on Cancel first (the safe choice for Enter).
    const focused = (): Promise<string> =>
      page.evaluate(() => document.activeElement?.textContent ?? "");
    await expect(focused()).resolves.toBe("Cancel");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden", timeout: waitMs });
    // Escape asked nothing of the server: n2 keeps its state.
    await expectNotDraining(2);
    await button.focus();
    await page.keyboard.press("Enter");
    await dialog.waitFor({ timeout: waitMs });
    await page.keyboard.press("Tab");
    await expect(focused()).resolves.toBe("Drain");
    await page.keyboard.press("Enter");
    // The server's answer, whatever it is (a failure names what the page showed).
    const outcome = dialog.getByRole("status");
    await outcome.waitFor({ timeout: waitMs });
    const answer = await outcome.innerText();
    if (withManager) {
      // Answered by the node whose ClusterService the page reads: its own (n1), or another
      // while n1 misses the page's 900 ms poll bound (a loaded CI box does now and then).
      expect(answer).toMatch(/^n2 is draining \(answered by n[123]\)/);
    } else {
      // Nodes without the cluster manager's API: the server's error, as it said it.
      expect(answer).toMatch(/^\[unimplemented\] /);
      await expect(outcome.getAttribute("class")).resolves.toContain("error-text");
    }
    await page.screenshot({ path: join(screenshots, "05-drain-confirmed.png") });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden", timeout: waitMs });
    if (withManager) {
      // "draining" is the manager's word: shown while the page uses the manager's table, which
      // it sets aside for its own polls while ListNodes misses its 900 ms bound for 3 s — at
      // load 17 on 2 cores for over 20 s once (session 5). A bound, not a timing check.
      await page
        .getByTestId("health-n2")
        .filter({ hasText: "draining" })
        .waitFor({ timeout: sourceMs })
        .catch(async (error: unknown) => {
          throw new Error(`n2 not shown draining within ${sourceMs} ms; ` +
            `the page shows ${await pageState()}`, { cause: error });
        });
      await expect(button.isDisabled()).resolves.toBe(true);
    } else {
      await expectNotDraining(2);
    }
    await page.screenshot({ path: join(screenshots, "06-draining.png"), fullPage: true });
  }, testMs(6) + sourceMs);

  it("shows the drained node's leaderships leaving", async (context) => {
    if (!withManager) context.skip("the nodes do not serve ClusterService: nothing drains");
    const client = createClient(
      ClusterService,
      createConnectTransport({ baseUrl: cluster.node(1).url, httpVersion: "1.1" }),
    );
    const listed = (await client.listPartitions({}, { timeoutMs: callMs })).partitions
      .map((partition) => Number(partition.partitionId))
      .filter((partitionId) => groups.includes(partitionId));
    // Static partitions (--groups) are adopted into the meta table at boot: the controller
    // moves their leaderships like those of created partitions.
    expect(listed).toEqual(groups);
    // Waited for together: the rows and n2's leadership count come from polls that land
    // apart, and the count also holds the meta group, whose leadership the drain hands
    // off on its own schedule (CI once sampled the count at 1 while the rows were done).
    await page.waitForFunction(
      (partitionIds) =>
        document.querySelector('[data-testid="leaderships-n2"]')?.textContent?.trim() === "0" &&
        partitionIds.every((groupId) => {
          const leader = document
            .querySelector(`tr[data-group="${groupId}"]`)
            ?.getAttribute("data-leader");
          return leader !== undefined && leader !== null && !["0", "2"].includes(leader);
        }),
      listed,
      { timeout: sourceMs },
    );
    await page.screenshot({ path: join(screenshots, "06-drained.png"), fullPage: true });
  }, testMs(2) + sourceMs);

  /** Moves `groupId`'s leadership to `target` through the page's dialog (by pointer). */
  const transferByDialog = async (groupId: number, target: number): Promise<void> => {
    await page
      .getByRole("button", { name: `transfer leadership of partition ${groupId}`, exact: true })
      .click({ timeout: waitMs });
    const dialog = page.getByRole("dialog");
    await dialog.waitFor({ timeout: waitMs });
    await page.getByLabel("New leader").selectOption(String(target));
    await dialog.getByRole("button", { name: "Transfer" }).click({ timeout: waitMs });
    await dialog
      .getByRole("status")
      .filter({ hasText: `to n${target}` })
      .waitFor({ timeout: waitMs });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden", timeout: waitMs });
    await page
      .getByTestId(`leader-${groupId}`)
      .filter({ hasText: new RegExp(`^n${target}$`) })
      .waitFor({ timeout: waitMs });
  };

  /** Inserts through the stream's partition leader (tries each node, waits out elections). */
  const onLeader = async <Result>(
    what: string,
    work: (client: Client<typeof EventStoreService>) => Promise<Result>,
  ): Promise<Result> => {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const node = cluster.nodes[attempt % cluster.nodes.length]!;
      const client = createClient(
        EventStoreService,
        createConnectTransport({ baseUrl: node.url, httpVersion: "1.1" }),
      );
      try {
        return await work(client);
      } catch (error) {
        const code = ConnectError.from(error).code;
        if (code !== Code.FailedPrecondition && code !== Code.Unavailable) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`no node accepted ${what}`);
  };

  const insert = async (events: Events): Promise<void> => {
    const response = await onLeader("the insert", (client) =>
      client.insert({ stream, events }, { timeoutMs: callMs }),
    );
    expect(response.accepted).toBe(events.timestamps.length);
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
      await page.screenshot({ path: join(screenshots, "07-stream-created.png") });
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden", timeout: waitMs });
      expect(new URL(page.url()).hash).toBe(`#events/${stream}`);
      await page
        .locator(`tr[data-stream="${stream}"]`)
        .getByText("price:double:aggregated, volume:int64:aggregated")
        .waitFor({ timeout: waitMs });
    },
    testMs(3),
  );

  it.skipIf(!withEventStore)(
    "lists every stream from ListStreams, also one this browser never saw",
    async () => {
      const created = await onLeader("the stream", (client) =>
        client.createStream(
          {
            stream: "quotes",
            fields: [create(FieldSpecSchema, { name: "bid", type: FieldType.DOUBLE })],
          },
          { timeoutMs: callMs },
        ),
      );
      expect(created.created).toBe(true);
      await page
        .locator('tr[data-stream="quotes"]')
        .getByText("bid:double")
        .waitFor({ timeout: waitMs });
      const source = page.getByTestId("stream-source");
      await expect(source.getAttribute("data-source")).resolves.toBe("list-streams");
      const names = await page.$$eval("tr[data-stream]", (rows) =>
        rows.map((row) => row.getAttribute("data-stream")),
      );
      expect(names).toEqual(["quotes", stream]);
      await page.screenshot({ path: join(screenshots, "08-streams-listed.png") });
    },
    testMs(2),
  );

  it.skipIf(!withEventStore)(
    "shows inserted events arriving: count, ingest rate, newest events",
    async () => {
      // The rate "now" is that of the last two count samples: above zero from the poll that
      // sees a batch's count until the next poll, about a second later. Watched in the page on
      // every frame from before the first insert: a step slowed by a loaded box (waiting for
      // the count) cannot miss it, as a wait started after the last batch did at load 25.
      const rateShown = page.waitForFunction(
        () =>
          /^[1-9]\d*\.\d events\/s now$/.test(
            document.querySelector('[data-testid="ingest-rate"]')?.textContent ?? "",
          ),
        undefined,
        { polling: "raf", timeout: 4 * waitMs },
      );
      rateShown.catch(() => undefined); // awaited below; keeps a rejection while inserting handled
      for (let batch = 0; batch < 3; batch += 1) {
        await insert(ticks(batch * 30, 30));
        await page
          .getByTestId(`count-${stream}`)
          .filter({ hasText: String((batch + 1) * 30) })
          .waitFor({ timeout: waitMs });
      }
      await rateShown;
      const newest = page.getByRole("table", { name: "latest events" }).locator("tbody tr");
      await expect.poll(() => newest.count(), { timeout: waitMs }).toBe(20);
      // The newest events are polled on their own (every second): the last batch shows there
      // at most a poll after the count does.
      await expect
        .poll(() => newest.first().locator("td").first().innerText(), { timeout: waitMs })
        .toBe("2026-01-01 00:02:58.000000");
      await page.screenshot({ path: join(screenshots, "09-events-arrived.png"), fullPage: true });
    },
    // Three inserts and five waits of up to 20 s each: above vitest's default 60 s.
    120_000,
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
      await page.screenshot({ path: join(screenshots, "10-candles.png"), fullPage: true });
    },
    testMs(3),
  );

  it("marks a SIGKILLed node dead and shows its leaderships moving to the others", async () => {
    await page.getByRole("link", { name: "Cluster" }).click();
    await waitForLeaders([1, 2, 3]);
    // n3 leads a partition whose leadership must move: the transfer step gave it one, but an
    // election on a loaded box (a starved leader missing its heartbeats) may have moved it
    // since, and nothing moves it back (leader spreading is off) — then it gets one here.
    const leaders = await Promise.all(groups.map(leaderOf));
    if (!leaders.includes(3)) await transferByDialog(groups[0]!, 3);
    await cluster.node(3).stop("SIGKILL");
    const health = page.getByTestId("health-n3");
    // The meta group's failure detector says suspect, then dead after its own timeout; the
    // page's polls say suspect, then dead after 3 s.
    await health.filter({ hasText: /^(suspect|dead)$/ }).waitFor({ timeout: waitMs });
    // With the cluster manager: dead by the meta group's own verdict (the page may show its own
    // polls for a while if n3 led the meta group, until the others elect a new meta leader).
    const deadMs = withManager ? 45_000 : waitMs;
    await page
      .waitForFunction(
        (source) =>
          document.querySelector('[data-testid="state-source"]')?.getAttribute("data-source") ===
            source && document.querySelector('[data-testid="health-n3"]')?.textContent === "dead",
        withManager ? "manager" : "polls",
        { timeout: deadMs },
      )
      .catch(async (error: unknown) => {
        const shown = await pageState();
        throw new Error(`n3 not shown dead within ${deadMs} ms; the page shows ${shown}`, {
          cause: error,
        });
      });
    await waitForLeaders([1, 2]);
    // n3's leadership count holds every listed group (the meta group too, whose row may land a
    // poll after the partitions'): waited for, not sampled.
    await page
      .getByTestId("leaderships-n3")
      .filter({ hasText: /^0$/ })
      .waitFor({ timeout: waitMs })
      .catch(async (error: unknown) => {
        throw new Error(`n3 still shown leading; the page shows ${await pageState()}`, {
          cause: error,
        });
      });
    await expect(page.locator('tr[data-node="3"] .error-text').innerText()).resolves.toMatch(
      /n3 at 127\.0\.0\.1/,
    );
    await page.screenshot({ path: join(screenshots, "11-node-killed.png"), fullPage: true });
    // Its waits add up to 205 s at most (leaders, a transfer's four, suspect, dead 45 s,
    // leaders, count): above them.
  }, 240_000);

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
    await page.screenshot({ path: join(screenshots, "12-stream-after-kill.png"), fullPage: true });
  });

  it("fits a phone: the page does not scroll sideways, wide tables scroll inside", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = (): Promise<number> =>
      page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (withEventStore) {
      expect(await overflow()).toBeLessThanOrEqual(0);
      await page.screenshot({ path: join(screenshots, "13-phone-events.png"), fullPage: true });
    }
    await page.getByRole("link", { name: "Cluster" }).click();
    await page.getByTestId("health-n1").waitFor({ timeout: waitMs });
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(screenshots, "14-phone-cluster.png"), fullPage: true });
    // The confirmation fits the phone's width too (its buttons reachable without scrolling).
    await page.getByRole("button", { name: "drain node n1" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor({ timeout: waitMs });
    for (const element of [dialog, dialog.getByRole("button", { name: "Drain" })]) {
      const box = await element.boundingBox();
      expect(box).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    }
    await page.screenshot({ path: join(screenshots, "15-phone-dialog.png") });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden", timeout: waitMs });
  });

  it("wrote no error to the browser console", () => {
    expect(consoleErrors).toEqual([]);
  });
});
