import { SingleBar, Presets } from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import type { EventRow } from "../client/index.js";
import { EventStore } from "../client/index.js";
import { fileBytes, readEventFile } from "./file-import.js";

/**
 * The event store's command line:
 *   event-store-cli [--nodes urls] create <stream> price:double:agg size:int64:agg venue:string
 *   event-store-cli insert <stream> <file.csv|file.ndjson>     (progress bar)
 *   event-store-cli query|aggregate|windows|info|tail <stream> …
 */
const integer = (value: string): number => {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new InvalidArgumentError(`'${value}' is not an integer`);
  return number;
};
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, (_, item: unknown) => (typeof item === "bigint" ? Number(item) : item))}\n`);
};

const program = new Command("event-store-cli")
  .option("--nodes <urls>", "node URLs, comma-separated", "http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003");
const connect = () => EventStore.connect((program.opts()["nodes"] as string).split(","));

program.command("create <stream> <fields...>").description("create a stream; fields as name:type[:agg]")
  .action(async (stream: string, specs: string[]) => {
    const fields = specs.map((spec) => {
      const [name, type, agg] = spec.split(":");
      if (name === undefined || !["int64", "double", "bool", "string"].includes(type ?? "")) {
        throw new InvalidArgumentError(`field '${spec}': expected name:int64|double|bool|string[:agg]`);
      }
      return { name, type: type as "int64" | "double" | "bool" | "string", aggregated: agg === "agg" };
    });
    print({ created: await (await connect()).createStream(stream, fields) });
  });

program.command("insert <stream> <file>").description("insert a CSV or NDJSON file (10,000 events per request)")
  .option("--async", "answer once buffered")
  .action(async (stream: string, file: string, options: { async?: boolean }) => {
    const store = await connect();
    const fields = (await store.info(stream)).fields;
    const bar = new SingleBar({ format: "{bar} {percentage}% | {events} events | {eta_formatted} left" }, Presets.shades_classic);
    bar.start(fileBytes(file), 0, { events: 0 });
    let batch: EventRow[] = [];
    let events = 0;
    let duplicates = 0;
    const send = async (bytesRead: number): Promise<void> => {
      const result = await store.insert(stream, batch, { async: options.async === true });
      events += result.accepted;
      duplicates += result.duplicates;
      batch = [];
      bar.update(bytesRead, { events });
    };
    let last = 0;
    for await (const { row, bytesRead } of readEventFile(file, fields)) {
      batch.push(row);
      last = bytesRead;
      if (batch.length >= 10_000) await send(bytesRead);
    }
    if (batch.length > 0) await send(last);
    bar.update(fileBytes(file));
    bar.stop();
    print({ inserted: events, duplicates });
  });

program.command("query <stream>").description("events in [from, to) as NDJSON")
  .option("--from <us>", "from (µs, inclusive)", integer).option("--to <us>", "to (µs, exclusive)", integer)
  .option("--limit <n>", "events at most", integer, 100).option("--descending", "newest first")
  .action(async (stream: string, options: { from?: number; to?: number; limit: number; descending?: boolean }) => {
    for (const row of await (await connect()).query(stream, { ...options, descending: options.descending === true })) print(row);
  });

program.command("aggregate <stream>").description("count, first/last, per field sum/min/max/avg/first/last")
  .option("--from <us>", "from (µs)", integer).option("--to <us>", "to (µs)", integer)
  .action(async (stream: string, options: { from?: number; to?: number }) => print(await (await connect()).aggregate(stream, options)));

program.command("windows <stream>").description("tumbling windows (OHLC candles)")
  .requiredOption("--width <us>", "window width in µs", integer)
  .option("--from <us>", "from (µs)", integer).option("--to <us>", "to (µs)", integer)
  .action(async (stream: string, options: { width: number; from?: number; to?: number }) => {
    for (const window of (await (await connect()).windows(stream, options)).windows) print(window);
  });

program.command("info <stream>").description("schema, settings, counts")
  .action(async (stream: string) => print(await (await connect()).info(stream)));

program.command("tail <stream>").description("print new events as they arrive (Ctrl-C stops)")
  .action(async (stream: string) => {
    const store = await connect();
    const newest = (await store.aggregate(stream)).lastTimestamp;
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    for await (const rows of store.tail(stream, { after: newest === undefined ? -1 : Number(newest), signal: stop.signal })) {
      for (const row of rows) print(row);
    }
  });

try {
  await program.parseAsync();
  process.exit(0);
} catch (error) {
  process.stderr.write(`event-store-cli: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
