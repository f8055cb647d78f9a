/**
 * createInsertCall against a real HTTP/2 server in this process whose
 * handler holds some requests unread (as an overloaded leader does): node
 * counts the request bytes a client session has queued for sending toward
 * its maxSessionMemory (default 10 MB) and, while over it, refuses the
 * header blocks it receives - the answers to requests the server has
 * carried out. Before the fix the client reset such a stream with
 * ENHANCE_YOUR_CALM and the caller saw Unavailable (unknown outcome) for
 * an insert that was done. The client now gives the session room and
 * bounds what it queues itself (maxUnsentBytes): calls beyond wait, in
 * order, unsent.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { createInsertCall, defaultMaxUnsentBytes, insertRequestChunks } from "../../../examples/event-store/client/insert-call.js";
import type { InsertCall } from "../../../examples/event-store/client/insert-call.js";
import { InsertResponseSchema } from "../../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import { OverloadedSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import type { WireEvents } from "../../../examples/event-store/service/insert-wire.js";

interface Received {
  readonly stream: http2.ServerHttp2Stream;
  readonly hold: boolean;
  /** Read at once, answered only on release (a leader that has the request and no answer yet). */
  readonly holdAnswer: boolean;
  /** Bytes of the body read so far. */
  bodyBytes: number;
  /** The request's connect-timeout-ms, if any. */
  readonly timeoutMs: number | undefined;
  /** The request's eventstore-stream header, if any. */
  readonly streamHeader: string | undefined;
  /** The request's eventstore-deadline-unix-ms header, if any. */
  readonly wallDeadline: string | undefined;
}

interface Server {
  readonly url: string;
  /** Every Insert stream the server has seen, in arrival order. */
  readonly received: Received[];
  /** Reads and answers every held request (and every later one at once). */
  release(): void;
  close(): Promise<void>;
}

const answer = (stream: http2.ServerHttp2Stream, accepted: number): void => {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ ":status": 200, "content-type": "application/proto" });
  stream.end(toBinary(InsertResponseSchema, create(InsertResponseSchema, { accepted })));
};

/** Reads the whole body, then answers with the body's size as `accepted` (proof the server read it all). */
const readAndAnswer = (stream: http2.ServerHttp2Stream): void => {
  let bytes = 0;
  stream.on("data", (chunk: Buffer) => {
    bytes += chunk.byteLength;
  });
  stream.on("end", () => answer(stream, bytes));
  stream.resume();
};

/** Node's default windows (64 KiB a stream): a held request's body stays queued in the client. */
async function startServer(): Promise<Server> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  const received: Received[] = [];
  let released = false;
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {}); // the client's resets are what the assertions look at
    const hold = headers["x-hold"] === "1" && !released;
    const holdAnswer = headers["x-hold-answer"] === "1" && !released;
    const timeout = headers["connect-timeout-ms"];
    const named = headers["eventstore-stream"];
    const entry: Received = { stream, hold, holdAnswer, bodyBytes: 0, timeoutMs: timeout === undefined ? undefined : Number(timeout),
      streamHeader: typeof named === "string" ? named : undefined,
      wallDeadline: typeof headers["eventstore-deadline-unix-ms"] === "string" ? headers["eventstore-deadline-unix-ms"] : undefined };
    received.push(entry);
    if (hold) stream.pause();
    else if (holdAnswer) {
      stream.on("data", (chunk: Buffer) => {
        entry.bodyBytes += chunk.byteLength;
      });
      stream.resume();
    } else readAndAnswer(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    received,
    release() {
      released = true;
      for (const entry of received) {
        if (entry.hold) readAndAnswer(entry.stream);
        else if (entry.holdAnswer) answer(entry.stream, entry.bodyBytes);
      }
    },
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One double column of `count` events: a request of ~16 bytes per event. */
const eventsOf = (count: number): WireEvents => ({
  timestamps: new Float64Array(count).map((_, index) => 1_700_000_000_000 + index),
  columns: [{ name: "v", values: { case: "doubles", values: new Float64Array(count).fill(1.5) } }],
  ids: [],
} as WireEvents);

const megabyteOfEvents = (): WireEvents => eventsOf(65_536); // 1 MiB of doubles + framing

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const held = { headers: { "x-hold": "1" } } as const;

let server: Server | undefined;
let call: InsertCall | undefined;

afterEach(async () => {
  call?.close();
  call = undefined;
  await server?.close();
  server = undefined;
});

describe("createInsertCall under a server that reads slowly", () => {
  it("gets the answer to a done insert while the connection queues more than node's default session memory", async () => {
    server = await startServer();
    call = createInsertCall(server.url, { maxUnsentBytes: 32 << 20, maxUnansweredBytes: 64 << 20 });
    const holding = Array.from({ length: 14 }, () => call!.insert("s", megabyteOfEvents(), held));
    const outcomes = holding.map((promise) => promise.then(() => "ok", (error: unknown) => ConnectError.from(error)));
    await until(() => server!.received.length === 14, "14 held requests at the server");

    // ~14 MB of request bodies wait in the client for flow-control windows; this answer
    // arrives meanwhile. Before the fix the client refused it (ENHANCE_YOUR_CALM).
    const quick = await call.insert("s", eventsOf(4)).catch((error: unknown) => ConnectError.from(error));
    expect(quick instanceof ConnectError ? quick.message : "answered").toBe("answered");
    const quickBytes = insertRequestChunks("s", eventsOf(4), false).reduce((sum, piece) => sum + piece.byteLength, 0);
    expect(quick).toMatchObject({ accepted: quickBytes }); // the server read the whole body

    server.release();
    const settled = await Promise.all(outcomes);
    expect(settled).toEqual(Array.from({ length: 14 }, () => "ok"));
    const answers = await Promise.all(holding);
    for (const response of answers) expect(response.accepted).toBeGreaterThan(1 << 20);
  });

  it("keeps at most maxUnsentBytes queued: later calls wait unsent, in order, and go once earlier bytes are written", async () => {
    server = await startServer();
    call = createInsertCall(server.url, { maxUnsentBytes: 4 << 20 });
    // 1 MiB + framing each: three fit in 4 MiB, the fourth would not.
    const first = Array.from({ length: 3 }, () => call!.insert("s", megabyteOfEvents(), held));
    const waitingWithDeadline = call.insert("s", megabyteOfEvents(), { ...held, timeoutMs: 300 });
    const later = Array.from({ length: 2 }, () => call!.insert("s", megabyteOfEvents()));
    await until(() => server!.received.length === 3, "the first three requests at the server");

    // The fourth never left the client: its deadline passes while it waits, and it says so.
    const expired = await waitingWithDeadline.then(() => undefined, (error: unknown) => ConnectError.from(error));
    expect(expired?.code).toBe(Code.DeadlineExceeded);
    expect(expired?.rawMessage).toContain("not sent");
    expect(server.received.length).toBe(3);

    server.release();
    const answers = await Promise.all([...first, ...later]);
    for (const response of answers) expect(response.accepted).toBeGreaterThan(1 << 20);
    // The expired call was never sent: three held and two later requests, nothing else.
    expect(server.received.map((entry) => entry.hold)).toEqual([true, true, true, false, false]);
  });

  it("by default queues about one maximal request, and a call that waited carries what is left of its deadline", async () => {
    server = await startServer();
    call = createInsertCall(server.url);
    const perCall = insertRequestChunks("s", megabyteOfEvents(), false).reduce((sum, piece) => sum + piece.byteLength, 0);
    const fitting = Math.floor(defaultMaxUnsentBytes / perCall);
    const first = Array.from({ length: fitting }, () => call!.insert("s", megabyteOfEvents(), held));
    const waited = call.insert("s", megabyteOfEvents(), { timeoutMs: 60_000 });
    await until(() => server!.received.length === fitting, `the first ${fitting} requests at the server`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the waiting call's deadline runs meanwhile
    expect(server.received.length).toBe(fitting);
    server.release();
    const answers = await Promise.all([...first, waited]);
    for (const response of answers) expect(response.accepted).toBe(perCall);
    const last = server.received[server.received.length - 1]!;
    expect(last.hold).toBe(false);
    expect(last.timeoutMs).toBeLessThan(60_000);
    expect(last.timeoutMs).toBeGreaterThan(0);
  });

  it("keeps at most maxUnansweredBytes sent and unanswered: later calls wait unsent, expire unsent, and go as answers come", async () => {
    // A leader that reads every body at once but answers late (its queue): before the bound the
    // client sent every call (only unsent bytes were bounded) and an overloaded leader held tens
    // of thousands of them, running their deadlines out after they were sent (unknown outcomes).
    server = await startServer();
    const perCall = insertRequestChunks("s", eventsOf(1000), false).reduce((sum, piece) => sum + piece.byteLength, 0);
    call = createInsertCall(server.url, { maxUnansweredBytes: 4 * perCall });
    const holdAnswer = { headers: { "x-hold-answer": "1" } } as const;
    const first = Array.from({ length: 4 }, () => call!.insert("s", eventsOf(1000), holdAnswer));
    const expiring = call.insert("s", eventsOf(1000), { ...holdAnswer, timeoutMs: 200 });
    const later = Array.from({ length: 3 }, () => call!.insert("s", eventsOf(1000)));
    await until(() => server!.received.length === 4 && server!.received.every((entry) => entry.bodyBytes === perCall),
      "four requests read whole at the server");
    const expired = await expiring.then(() => undefined, (error: unknown) => ConnectError.from(error));
    expect(expired?.code).toBe(Code.DeadlineExceeded);
    expect(expired?.rawMessage).toContain("not sent");
    expect(server.received.length).toBe(4); // written to the socket long ago, but not answered: nothing more sent

    server.release();
    const answers = await Promise.all([...first, ...later]);
    for (const response of answers) expect(response.accepted).toBe(perCall);
    expect(server.received.map((entry) => entry.holdAnswer)).toEqual([true, true, true, true, false, false, false]);
  });

  it("refuses at once, unsent, a call that would wait behind more than maxWaitingBytes: Overloaded, a known outcome", async () => {
    server = await startServer();
    const perCall = insertRequestChunks("s", eventsOf(1000), false).reduce((sum, piece) => sum + piece.byteLength, 0);
    call = createInsertCall(server.url, { maxUnansweredBytes: perCall, maxWaitingBytes: 2 * perCall });
    const holdAnswer = { headers: { "x-hold-answer": "1" } } as const;
    const sent = call.insert("s", eventsOf(1000), holdAnswer);
    const waiting = Array.from({ length: 2 }, () => call!.insert("s", eventsOf(1000)));
    const refused = await call.insert("s", eventsOf(1000)).then(() => undefined, (error: unknown) => ConnectError.from(error));
    expect(refused?.code).toBe(Code.ResourceExhausted);
    expect(refused?.findDetails(OverloadedSchema)).toHaveLength(1); // back-pressure: EventStore.insert retries it
    expect(refused?.rawMessage).toBe(`insert to ${server.url}: not sent, this connection has ${perCall} bytes of requests ` +
      `unanswered and ${2 * perCall} waiting to be sent (limits ${perCall} and ${2 * perCall}): the node answers slower ` +
      `than they are offered, back off`);
    await until(() => server!.received.length === 1 && server!.received[0]!.bodyBytes === perCall, "the first request read");
    server.release();
    for (const response of await Promise.all([sent, ...waiting])) expect(response.accepted).toBe(perCall);
    expect(server.received).toHaveLength(3);
  });

  it("counts a call given up on until its stream ends: the server's late answer frees its room", async () => {
    server = await startServer();
    const perCall = insertRequestChunks("s", eventsOf(1000), false).reduce((sum, piece) => sum + piece.byteLength, 0);
    call = createInsertCall(server.url, { maxUnansweredBytes: perCall });
    const holdAnswer = { headers: { "x-hold-answer": "1" } } as const;
    const givenUp = await call.insert("s", eventsOf(1000), { ...holdAnswer, timeoutMs: 100 })
      .then(() => undefined, (error: unknown) => ConnectError.from(error));
    expect(givenUp?.code).toBe(Code.DeadlineExceeded);
    expect(givenUp?.rawMessage).not.toContain("not sent");
    const next = call.insert("s", eventsOf(1000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.received.length).toBe(1); // the given-up call's stream is still open at the server
    server.release();
    expect((await next).accepted).toBe(perCall);
    expect(server.received.length).toBe(2);
  });

  it("does not reset the streams it gives up on: 1,100 deadlines in a row leave the connection's other calls alone", async () => {
    // In a process of its own (reset-burst-child.ts). Before the fix each expired call was reset
    // (RST_STREAM CANCEL) and nghttp2's rapid-reset limit (~1,000 in a burst) made the server end the
    // session with GOAWAY INTERNAL_ERROR: the victim failed "Session closed with error code 2".
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./reset-burst-child.ts", import.meta.url))],
      { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    clearTimeout(killer);
    expect(code, output).toBe(0);
    const result = JSON.parse(output.trim().split("\n").pop()!) as { expired: number; others: number; victim: string };
    expect(result).toEqual({ expired: 1_100, others: 1_100, victim: "answered 7" });
  });

  it("names the insert's stream in a header, URI-encoded, for a leader to refuse it before reading the body", async () => {
    server = await startServer();
    call = createInsertCall(server.url);
    for (const stream of ["bench", "prices/EUR ümlaut\n"]) {
      expect((await call.insert(stream, eventsOf(10))).accepted).toBeGreaterThan(0);
    }
    expect(server.received.map((entry) => entry.streamHeader)).toEqual(["bench", "prices%2FEUR%20%C3%BCmlaut%0A"]);
    expect(server.received.map((entry) => decodeURIComponent(entry.streamHeader!))).toEqual(["bench", "prices/EUR ümlaut\n"]);
    // No deadline, no wall-clock deadline; with one, the same deadline by the wall clock.
    expect(server.received.map((entry) => entry.wallDeadline)).toEqual([undefined, undefined]);
    const before = Date.now();
    await call.insert("bench", eventsOf(10), { timeoutMs: 20_000 });
    const sent = server.received[2]!;
    expect(Number(sent.wallDeadline)).toBeGreaterThanOrEqual(before + 20_000 - 1000);
    expect(Number(sent.wallDeadline)).toBeLessThanOrEqual(Date.now() + 20_000);
    expect(sent.timeoutMs).toBeLessThanOrEqual(20_000);
  });

  it("refuses an insert larger than maxUnsentBytes without sending it, and fails waiting calls Canceled on close", async () => {
    server = await startServer();
    call = createInsertCall(server.url, { maxUnsentBytes: 2 << 20 });
    const tooLarge = await call.insert("s", eventsOf(200_000)).catch((error: unknown) => ConnectError.from(error));
    expect(tooLarge).toBeInstanceOf(ConnectError);
    expect((tooLarge as ConnectError).code).toBe(Code.InvalidArgument);
    expect((tooLarge as ConnectError).rawMessage).toContain("maxUnsentBytes");

    const sent = call.insert("s", megabyteOfEvents(), held).catch((error: unknown) => ConnectError.from(error));
    const waiting = call.insert("s", megabyteOfEvents(), held).catch((error: unknown) => ConnectError.from(error));
    const waiting2 = call.insert("s", megabyteOfEvents(), held).catch((error: unknown) => ConnectError.from(error));
    await until(() => server!.received.length === 1, "the first request at the server");
    call.close();
    expect((await waiting2 as ConnectError).code).toBe(Code.Canceled);
    expect((await waiting as ConnectError).code).toBe(Code.Canceled);
    expect(server.received.length).toBe(1);
    await server.close(); // the one on the wire breaks with its connection
    server = undefined;
    const broken = await sent as ConnectError;
    expect(broken.code, broken.message).toBe(Code.Unavailable);
  });
});
