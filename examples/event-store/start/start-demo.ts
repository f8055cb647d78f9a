import { EventStore } from "../client/index.js";
import { startLocalCluster } from "./local-cluster.js";
import { createMarketData, tradeFields } from "./market-data.js";

/**
 * `npm start`: three event store nodes on 127.0.0.1 (data and logs under
 * ./data), the demo stream "trades", a live synthetic market-data feed
 * (sync inserts), and where to look. Ctrl-C stops the feed and all three
 * nodes cleanly.
 */
const basePort = Number(process.env["EVENTSTORE_BASE_PORT"] ?? 7000);
const eventsPerSecond = Number(process.env["EVENTSTORE_DEMO_RATE"] ?? 20_000);
const write = (text: string): boolean => process.stdout.write(`${text}\n`);

write(`starting 3 nodes on 127.0.0.1:${basePort + 1}-${basePort + 3} (data and logs in ./data) …`);
const cluster = await startLocalCluster({ dataDirectory: "data", basePort, groups: "1-4" });
const store = await EventStore.connect(cluster.urls);
await store.createStream("trades", tradeFields.map((field) => ({ ...field })), { flushDelayMs: 5 });
const [first] = cluster.urls;
const minute = 60_000_000;
write(`
raftkit event store: 3 nodes running, stream "trades" fed with ~${eventsPerSecond} synthetic trades/s.

  management UI   ${first}/ui
  one-minute candles (OHLC of price) via curl:
    curl -s --http1.1 -H 'content-type: application/json' -d '{"stream":"trades","width":"${minute}"}' ${first}/eventstore.v1.EventStoreService/AggregateWindows
  totals:
    curl -s --http1.1 -H 'content-type: application/json' -d '{"stream":"trades"}' ${first}/eventstore.v1.EventStoreService/Aggregate
  the CLI:
    npx tsx examples/event-store/cli/event-store-cli.ts --nodes ${cluster.urls.join(",")} tail trades

Ctrl-C stops the feed and the three nodes.
`);

const feed = createMarketData(Date.now() & 0xffff);
let stopping = false;
let inserted = 0;
let lastReport = performance.now();
let reportedAt = 0;
const tickMs = 100;
const feedLoop = (async () => {
  while (!stopping) {
    const started = performance.now();
    const now = Date.now() * 1000;
    const count = Math.max(1, Math.round((eventsPerSecond * tickMs) / 1000));
    try {
      const result = await store.insert("trades", feed(now - tickMs * 1000, now, count));
      inserted += result.accepted;
    } catch (error) {
      if (!stopping) write(`insert failed (the feed goes on): ${error instanceof Error ? error.message : String(error)}`);
    }
    if (performance.now() - lastReport >= 5000) {
      const seconds = (performance.now() - lastReport) / 1000;
      write(`fed ${inserted} trades so far (${Math.round((inserted - reportedAt) / seconds)}/s)`);
      lastReport = performance.now();
      reportedAt = inserted;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, tickMs - (performance.now() - started))));
  }
})();

// `on`, not `once`: Ctrl-C reaches this process twice (from the terminal and relayed by
// tsx's wrapper), and a second signal without a handler would end it mid-stop, leaving
// the nodes running. Later signals are ignored; cluster.stop() SIGKILLs after 15 s.
await new Promise<void>((resolve) => {
  process.on("SIGINT", () => resolve());
  process.on("SIGTERM", () => resolve());
});
stopping = true;
write("\nstopping the feed and the nodes …");
await feedLoop;
store.close();
await cluster.stop();
write(`stopped (${inserted} trades stored; data kept in ./data — delete it to start afresh).`);
process.exit(0);
