/**
 * Child process of insert-call-session-memory.test.ts: 1,100 Insert calls on
 * one createInsertCall connection run their deadlines out against a server
 * that reads and never answers them, while a "victim" call on the same
 * connection waits for its answer. Prints one JSON line: how many expired
 * and what the victim got. Run alone (its own event loop): inside the test
 * runner's worker the burst of resets did not reach the server's limit.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import * as http2 from "node:http2";
import { createInsertCall } from "../../../examples/event-store/client/insert-call.js";
import { InsertResponseSchema } from "../../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import type { WireEvents } from "../../../examples/event-store/service/insert-wire.js";

const events = (): WireEvents => ({
  timestamps: new Float64Array([1, 2]),
  columns: [{ name: "v", values: { case: "doubles", values: new Float64Array(2).fill(1.5) } }],
  ids: [],
} as WireEvents);

const server = http2.createServer();
let victimStream: http2.ServerHttp2Stream | undefined;
let others = 0;
server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  if (headers["x-victim"] === "1") {
    victimStream = stream;
    stream.pause();
    return;
  }
  others += 1;
  stream.resume(); // read, never answered
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const address = server.address();
if (address === null || typeof address === "string") throw new Error("no TCP address");
const call = createInsertCall(`http://127.0.0.1:${address.port}`);
const victim = call.insert("s", events(), { headers: { "x-victim": "1" } }).then(
  (response) => `answered ${response.accepted}`,
  (error: unknown) => (error instanceof Error ? error.message : String(error)),
);
while (victimStream === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
const outcomes = await Promise.all(Array.from({ length: 1_100 }, () =>
  call.insert("s", events(), { timeoutMs: 20 }).then(() => "answered", (error: unknown) =>
    (error instanceof Error && error.message.includes("took longer") ? "expired" : String(error)))));
const deadline = Date.now() + 30_000;
while (others < 1_100 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
await new Promise((resolve) => setTimeout(resolve, 200)); // a GOAWAY, if any, arrives meanwhile
if (!victimStream.destroyed) {
  victimStream.respond({ ":status": 200, "content-type": "application/proto" });
  victimStream.end(toBinary(InsertResponseSchema, create(InsertResponseSchema, { accepted: 7 })));
}
const victimOutcome = await victim;
console.log(JSON.stringify({ expired: outcomes.filter((outcome) => outcome === "expired").length, others, victim: victimOutcome }));
call.close();
process.exit(0);
