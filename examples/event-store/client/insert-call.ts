import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import * as http2 from "node:http2";
import * as net from "node:net";
import { withoutStackTrace } from "../../../framework/server/index.js";
import { OverloadedSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import { EventStoreService, InsertResponseSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import type { InsertResponse } from "../gen/eventstore/v1/eventstore_pb.js";
import { insertDeadlineHeader, insertStreamHeader } from "../service/insert-wire.js";
import type { WireEvents } from "../service/insert-wire.js";
import { encodeInsertCommand } from "../service/insert-wire-encode.js";
import { utf8Bytes, varintBytes, WireWriter } from "../service/wire-writer.js";

/**
 * EventStoreService.Insert as one HTTP/2 POST in the Connect protocol's
 * unary proto form, the request's bytes written by the hand encoder
 * (insert-wire-encode.ts) and posted as they are. Through a connect-es
 * client the same call cost the client a protobuf-es serialization (the
 * events carried as an unknown field, copied once more into a fresh buffer
 * by its writer's `finish`) and connect's per-call machinery (abort
 * signals, header objects, async iterables over a one-message body, an
 * envelope): ~1/3 of the bench client's CPU in session 8's profile.
 *
 * Speaks what any Connect server answers (the node's raw Insert route, or
 * connect's own handler): 200 with an InsertResponse, or a Connect error as
 * JSON with its code, message and details (NotLeader, Overloaded). A broken
 * connection or stream is Unavailable (outcome unknown: client ids make a
 * retry safe), the call's own timeout DeadlineExceeded, an aborted signal
 * Canceled — the codes a connect-es client gives them.
 */
export interface InsertCall {
  /** The URL's Insert: events encoded and posted; answers or throws a ConnectError. */
  insert(stream: string, events: WireEvents, options?: InsertCallOptions): Promise<InsertResponse>;
  /** Closes the connection (calls in flight fail Unavailable; calls not sent yet, Canceled). */
  close(): void;
}

export interface InsertCallOptions {
  readonly async?: boolean;
  /** This call's deadline, sent as connect-timeout-ms too (what is left of it when the call is sent; default: none). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Further request headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
}

const insertPath = `/${EventStoreService.typeName}/${EventStoreService.method.insert.name}`;

/**
 * How many request bytes one connection holds that its socket has not taken
 * yet; further calls wait (in order) before they open their stream.
 *
 * Why: node counts the bytes queued on a session for sending (request
 * bodies waiting for the peer's flow-control window or the socket) toward
 * the session's `maxSessionMemory` (default 10 MB), and while a session is
 * over it node refuses the header blocks it receives - including the
 * answers to requests the server has already carried out: the client
 * resets those streams with ENHANCE_YOUR_CALM itself (100 refusals in a
 * row end the session with INTERNAL_ERROR) and the caller sees an unknown
 * outcome for events that were stored. An overloaded leader (reading its
 * streams slowly) made a producer queue that much. So the client bounds
 * what it queues and gives the session room above that bound.
 *
 * The bound is also how much a caller's deadline can run out on after its
 * request has left this queue (an unknown outcome) rather than while it
 * waits here (a call that was never sent): the default is one request of
 * the nodes' default size limit (--max-proposal-bytes 8 MiB + 64 KiB), a
 * few seconds of a slow leader's inserts, not tens (32 MiB let a producer
 * offering 400,000 events/s run 10 s deadlines out on sent inserts).
 */
export const defaultMaxUnsentBytes = (8 << 20) + 64 * 1024;

/**
 * How many request bytes one connection has sent (or is sending) whose
 * stream has not ended yet - the answer not received, or the call given up
 * on while its stream runs to its end; further calls wait (in order) unsent.
 *
 * Why: the unsent bound alone let a producer offering 3x what the leader
 * sustains keep ~40,000 inserts of 256 events open on one connection (1.27 M
 * events/s offered, session 12): the leader read, decoded and queued bodies
 * it then refused, its RSS reached 1.2 GiB, the client's session ran over
 * its memory and refused answers (ENHANCE_YOUR_CALM, then the session ended
 * with INTERNAL_ERROR), and 38,550 inserts ran their 10 s deadline out after
 * being sent - unknown outcomes, 1.45 M events stored that no caller saw
 * acknowledged - while 6,582 events/s were acknowledged. Bounded, the excess
 * waits in the client, where a deadline that runs out is a known outcome
 * (not sent). The default: two maximal requests, ~0.6 s of the leader's
 * sustainable rate in inserts of 256 events on this box (~1,000 of them),
 * about what the stream's own queue holds (maxPendingEvents).
 */
export const defaultMaxUnansweredBytes = 2 * defaultMaxUnsentBytes;

/**
 * How many request bytes may wait in the client, unsent, behind the two
 * bounds above; a call beyond is refused at once, unsent: ResourceExhausted
 * with an Overloaded detail (back-pressure, as the leader's own refusal:
 * EventStore.insert backs off and retries it). Why: waiting without a bound,
 * every call of a producer offering 3x what the leader sustains waited out
 * most of its deadline in a queue of ~20,000 (FIFO, so the ones sent were
 * the oldest), reached the leader with too little of it left to be
 * admitted, and expired unsent: a queue that only adds latency. Default:
 * as much as may be unanswered (~0.6 s of the sustainable rate here).
 */
export const defaultMaxWaitingBytes = defaultMaxUnansweredBytes;

export interface InsertCallLimits {
  /**
   * Request bytes not yet written to the connection's socket above which
   * further calls wait before they are sent (default defaultMaxUnsentBytes).
   * A single insert larger than this is refused (InvalidArgument): keep it
   * at least the nodes' request limit (--max-proposal-bytes + 64 KiB).
   */
  readonly maxUnsentBytes?: number;
  /**
   * Request bytes of calls sent on the connection whose streams have not
   * ended (defaultMaxUnansweredBytes) above which further calls wait before
   * they are sent. One call is always let through when none is open.
   */
  readonly maxUnansweredBytes?: number;
  /** Request bytes that may wait unsent behind those bounds (defaultMaxWaitingBytes); a call beyond is refused, unsent. */
  readonly maxWaitingBytes?: number;
}

/**
 * The session's maxSessionMemory (node's unit: 1,000,000 bytes) for a
 * client that queues at most `maxUnsentBytes`: twice that, plus 32 MB for
 * the streams awaiting answers and their header blocks (node counts each
 * open stream object too). Node multiplies the value into 32 bits.
 */
export function sessionMemoryMegabytes(maxUnsentBytes: number): number {
  return Math.min(4000, Math.max(10, Math.ceil((2 * maxUnsentBytes) / 1e6) + 32));
}

interface Waiting {
  readonly bytes: number;
  readonly send: () => void;
  /** The client closed before the call was sent. */
  readonly drop: () => void;
}

/**
 * An InsertCall to one node ("http://host:port"; h2c with prior knowledge,
 * or https). One HTTP/2 connection, opened at the first call and again
 * after it breaks; it does not keep the process alive while no call is in
 * flight.
 */
export function createInsertCall(baseUrl: string, limits: InsertCallLimits = {}): InsertCall {
  const url = new URL(baseUrl);
  const origin = url.origin;
  const maxUnsentBytes = limits.maxUnsentBytes ?? defaultMaxUnsentBytes;
  if (!Number.isSafeInteger(maxUnsentBytes) || maxUnsentBytes <= 0) {
    throw new RangeError(`maxUnsentBytes must be a positive integer, got ${maxUnsentBytes}`);
  }
  const maxUnansweredBytes = limits.maxUnansweredBytes ?? Math.max(defaultMaxUnansweredBytes, maxUnsentBytes);
  if (!Number.isSafeInteger(maxUnansweredBytes) || maxUnansweredBytes <= 0) {
    throw new RangeError(`maxUnansweredBytes must be a positive integer, got ${maxUnansweredBytes}`);
  }
  const maxWaitingBytes = limits.maxWaitingBytes ?? defaultMaxWaitingBytes;
  if (!Number.isSafeInteger(maxWaitingBytes) || maxWaitingBytes < 0) {
    throw new RangeError(`maxWaitingBytes must be a non-negative integer, got ${maxWaitingBytes}`);
  }
  const sessionOptions: http2.ClientSessionOptions = { maxSessionMemory: sessionMemoryMegabytes(maxUnsentBytes) };
  let session: http2.ClientHttp2Session | undefined;
  let inFlight = 0;
  /** Request bytes of sent calls that the socket has not taken yet (or whose call has not settled). */
  let unsentBytes = 0;
  /** Request bytes of sent calls whose streams have not closed (answered or not, given up on or not). */
  let unansweredBytes = 0;
  let waiting: Waiting[] = [];
  /** Request bytes of the waiting calls. */
  let waitingBytes = 0;

  const connected = (): http2.ClientHttp2Session => {
    if (session !== undefined && !session.closed && !session.destroyed) return session;
    // h2c: a socket without Nagle's delay on a request's last segment (the node's listener sets
    // the same on its side); https: node's own TLS connection.
    const opened = url.protocol === "http:"
      ? http2.connect(origin, {
        ...sessionOptions,
        createConnection: () => net.connect({ host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: Number(url.port || 80), noDelay: true }),
      })
      : http2.connect(origin, sessionOptions);
    const drop = (): void => {
      if (session === opened) session = undefined;
    };
    opened.on("error", drop); // each stream of it fails too, and says so to its caller
    opened.on("goaway", drop);
    opened.on("close", drop);
    session = opened;
    return opened;
  };
  const settled = (opened: http2.ClientHttp2Session): void => {
    inFlight -= 1;
    if (inFlight === 0 && !opened.destroyed) opened.unref();
  };
  const fits = (bytes: number): boolean => (unsentBytes === 0 || unsentBytes + bytes <= maxUnsentBytes) &&
    (unansweredBytes === 0 || unansweredBytes + bytes <= maxUnansweredBytes);
  /** Sends waiting calls, oldest first, while they fit. */
  const sendWaiting = (): void => {
    while (waiting.length > 0 && fits(waiting[0]!.bytes)) {
      const next = waiting.shift()!;
      waitingBytes -= next.bytes;
      next.send();
    }
  };

  return {
    insert(stream, events, options = {}) {
      const pieces = insertRequestChunks(stream, events, options.async === true);
      let bodyBytes = 0;
      for (const piece of pieces) bodyBytes += piece.byteLength;
      return new Promise<InsertResponse>((resolve, reject) => {
        if (options.signal?.aborted === true) {
          reject(abortError(options.signal));
          return;
        }
        if (bodyBytes > maxUnsentBytes) {
          reject(new ConnectError(`insert to ${origin}: the request has ${bodyBytes} bytes, more than this client's `
            + `maxUnsentBytes (${maxUnsentBytes}); not sent`, Code.InvalidArgument));
          return;
        }
        let opened: http2.ClientHttp2Session | undefined;
        let request: http2.ClientHttp2Stream | undefined;
        let done = false;
        let counted = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const entry: Waiting = {
          bytes: bodyBytes,
          send: () => send(),
          drop: () => fail(new ConnectError(`insert to ${origin}: the client was closed before the call was sent`, Code.Canceled)),
        };
        const release = (): void => {
          if (!counted) return;
          counted = false;
          unsentBytes -= bodyBytes;
          sendWaiting();
        };
        const finish = (outcome: () => void): void => {
          if (done) return;
          done = true;
          if (timer !== undefined) clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
          if (request === undefined && waiting.includes(entry)) {
            waiting = waiting.filter((other) => other !== entry);
            waitingBytes -= entry.bytes;
            sendWaiting(); // the next one may fit now
          }
          if (opened !== undefined) settled(opened);
          outcome();
          release();
        };
        // A call given up on (deadline, abort) does not reset its stream: the stream runs to its end and
        // its answer is dropped. nghttp2 (1.61 in node 20) ends a server's session with GOAWAY
        // INTERNAL_ERROR once a client has reset ~1,000 streams in a burst (its rapid-reset limit, not
        // configurable from node): an overloaded leader running many callers' deadlines out then failed
        // every other call in flight on the connection too - unknown outcomes for inserts it had stored.
        // The server ends the stream itself (its own deadlines answer every insert).
        const fail = (error: ConnectError): void => finish(() => reject(error));
        const onAbort = (): void => fail(abortError(options.signal));
        options.signal?.addEventListener("abort", onAbort);
        const timeoutMs = options.timeoutMs;
        const startedAt = performance.now();
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => fail(new ConnectError(`the call took longer than ${timeoutMs} ms`
            + (request === undefined ? " (not sent: it waited for the connection's earlier requests to be written)" : ""),
          Code.DeadlineExceeded)), timeoutMs);
        }

        const send = (): void => {
          if (done) return;
          const headers: http2.OutgoingHttpHeaders = {
            ...options.headers,
            ":method": "POST",
            ":path": insertPath,
            "content-type": "application/proto",
            "connect-protocol-version": "1",
            "content-length": bodyBytes,
            // The stream, for a leader to refuse an insert it would refuse anyway before reading the body.
            [insertStreamHeader]: encodeURIComponent(stream),
          };
          // What is left of the deadline: the call may have waited for earlier requests to be written.
          if (timeoutMs !== undefined) {
            const leftMs = Math.max(1, Math.ceil(timeoutMs - (performance.now() - startedAt)));
            headers["connect-timeout-ms"] = String(leftMs);
            // The same deadline by the wall clock: a leader that parses these headers late can tell.
            headers[insertDeadlineHeader] = String(Date.now() + leftMs);
          }
          let target: http2.ClientHttp2Session;
          try {
            target = connected();
          } catch (error) {
            fail(new ConnectError(`insert to ${origin}: ${error instanceof Error ? error.message : String(error)}`,
              Code.Unavailable, undefined, undefined, error));
            return;
          }
          let sent: http2.ClientHttp2Stream;
          try {
            target.ref();
            sent = target.request(headers);
          } catch (error) {
            // Not sent (e.g. a header name node refuses; node then drops the session): nothing keeps the process alive.
            if (inFlight === 0 && !target.destroyed) target.unref();
            fail(ConnectError.from(error, Code.InvalidArgument));
            return;
          }
          opened = target;
          request = sent;
          inFlight += 1;
          counted = true;
          unsentBytes += bodyBytes;
          unansweredBytes += bodyBytes;
          let open = true;
          // Counted until the stream closes, not until the caller is answered: a call given up on
          // (deadline, abort) still holds the server's attention until its stream ends.
          const closed = (): void => {
            if (!open) return;
            open = false;
            unansweredBytes -= bodyBytes;
            sendWaiting();
          };

          let status = 0;
          let contentType: string | undefined;
          let answerHeaders: http2.IncomingHttpHeaders = {};
          const chunks: Buffer[] = [];
          sent.on("response", (received) => {
            answerHeaders = received;
            status = Number(received[":status"]);
            contentType = received["content-type"];
          });
          sent.on("data", (chunk: Buffer) => {
            if (!done) chunks.push(chunk); // after a deadline or abort: read and dropped
          });
          sent.on("error", (error) => fail(new ConnectError(`insert to ${origin}: ${error.message}`, Code.Unavailable,
            undefined, undefined, error)));
          sent.on("close", () => {
            if (!done) fail(new ConnectError(`insert to ${origin}: the stream closed without an answer`, Code.Unavailable));
            closed();
          });
          sent.on("end", () => {
            // No answer's headers: the stream was closed under the call (e.g. the server's session
            // ended with GOAWAY NO_ERROR) - the request may or may not have been carried out.
            if (status === 0) {
              fail(new ConnectError(`insert to ${origin}: the stream ended without an answer (HTTP/2 code ${sent.rstCode ?? "none"})`,
                Code.Unavailable));
              return;
            }
            finish(() => {
              const answer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
              try {
                resolve(answerOf(status, contentType, answerHeaders, answer));
              } catch (error) {
                reject(ConnectError.from(error));
              }
            });
          });
          // Every byte of the body handed to the socket: no longer queued on the session.
          sent.on("finish", release);
          // The small headers and the caller's arrays, as views (written before the call settles).
          const last = pieces.length - 1;
          for (let index = 0; index < last; index++) sent.write(pieces[index]!);
          sent.end(pieces[last]);
        };
        if (waiting.length === 0 && fits(bodyBytes)) send();
        else if (waitingBytes + bodyBytes > maxWaitingBytes) {
          fail(withoutStackTrace(() => new ConnectError(`insert to ${origin}: not sent, this connection has ` +
            `${unansweredBytes} bytes of requests unanswered and ${waitingBytes} waiting to be sent (limits ` +
            `${maxUnansweredBytes} and ${maxWaitingBytes}): the node answers slower than they are offered, back off`,
          Code.ResourceExhausted, undefined, [{ desc: OverloadedSchema, value: create(OverloadedSchema, {}) }])));
        } else {
          waiting.push(entry);
          waitingBytes += bodyBytes;
        }
      });
    },
    close() {
      const dropped = waiting;
      waiting = [];
      waitingBytes = 0;
      for (const entry of dropped) entry.drop();
      session?.close();
      session = undefined;
    },
  };
}

/** A Float64Array's bytes (little-endian, as protobuf's doubles: the hand codec assumes such a host too). */
const bytesOf = (values: Float64Array): Uint8Array => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
const delimited = (payload: number): number => varintBytes(payload) + payload;

/**
 * The InsertRequest's bytes as encodeInsertCommand writes them, in pieces:
 * small headers, and every double column (timestamps included) as a view
 * of the caller's Float64Array - no request-sized buffer allocated or
 * filled (a fresh zeroed ~262 KB per 4096-event request was the largest
 * garbage of a producer). Columns of other types (bools, strings) are
 * encoded whole by encodeInsertCommand. The views must not change until
 * the call settles.
 */
export function insertRequestChunks(stream: string, events: WireEvents, async: boolean): Uint8Array[] {
  if (events.columns.some((column) => column.values.case !== "doubles" && column.values.case !== undefined)) {
    return [encodeInsertCommand({ stream, events, async })];
  }
  const streamBytes = utf8Bytes(stream);
  const idBytes = events.ids.map(utf8Bytes);
  const timestampBytes = 8 * events.timestamps.length;
  let payload = timestampBytes === 0 ? 0 : 1 + delimited(timestampBytes);
  const columns = events.columns.map((column) => {
    const nameBytes = utf8Bytes(column.name);
    const valueBytes = column.values.case === "doubles" ? 8 * column.values.values.length : 0;
    const values = valueBytes === 0 ? 0 : 1 + delimited(valueBytes);
    const columnPayload = (nameBytes === 0 ? 0 : 1 + delimited(nameBytes)) + (column.values.case === undefined ? 0 : 1 + delimited(values));
    payload += 1 + delimited(columnPayload);
    return { column, nameBytes, valueBytes, values, columnPayload };
  });
  let idsBytes = 0;
  for (const bytes of idBytes) idsBytes += 1 + delimited(bytes);
  payload += idsBytes;
  // Every byte but the doubles' payloads, in order; cut where a view goes in between.
  let headerBytes = (streamBytes === 0 ? 0 : 1 + delimited(streamBytes)) + 1 + varintBytes(payload) + idsBytes + (async ? 2 : 0);
  if (timestampBytes > 0) headerBytes += 1 + varintBytes(timestampBytes);
  for (const layout of columns) {
    headerBytes += 1 + varintBytes(layout.columnPayload) + (layout.nameBytes === 0 ? 0 : 1 + delimited(layout.nameBytes));
    if (layout.column.values.case === undefined) continue;
    headerBytes += 1 + varintBytes(layout.values) + (layout.valueBytes === 0 ? 0 : 1 + varintBytes(layout.valueBytes));
  }
  const writer = new WireWriter(headerBytes);
  const chunks: Uint8Array[] = [];
  let cut = 0;
  const view = (values: Float64Array): void => {
    chunks.push(writer.bytes.subarray(cut, writer.at), bytesOf(values));
    cut = writer.at;
  };
  if (streamBytes > 0) {
    writer.uint32(0x0a);
    writer.uint32(streamBytes);
    writer.utf8(stream, streamBytes);
  }
  writer.uint32(0x12);
  writer.uint32(payload);
  if (timestampBytes > 0) {
    writer.uint32(0x0a);
    writer.uint32(timestampBytes);
    view(events.timestamps);
  }
  for (const { column, nameBytes, valueBytes, values, columnPayload } of columns) {
    writer.uint32(0x12);
    writer.uint32(columnPayload);
    if (nameBytes > 0) {
      writer.uint32(0x0a);
      writer.uint32(nameBytes);
      writer.utf8(column.name, nameBytes);
    }
    if (column.values.case !== "doubles") continue;
    writer.uint32(0x12); // Column.doubles
    writer.uint32(values);
    if (valueBytes === 0) continue;
    writer.uint32(0x0a);
    writer.uint32(valueBytes);
    view(column.values.values);
  }
  events.ids.forEach((id, index) => {
    writer.uint32(0x1a);
    writer.uint32(idBytes[index]!);
    writer.utf8(id, idBytes[index]!);
  });
  if (async) {
    writer.uint32(0x18);
    writer.uint32(1);
  }
  writer.finish();
  if (cut < writer.at) chunks.push(writer.bytes.subarray(cut, writer.at));
  return chunks.filter((chunk) => chunk.byteLength > 0);
}

/** An aborted signal's error: DeadlineExceeded for AbortSignal.timeout's, Canceled for any other. */
function abortError(signal: AbortSignal | undefined): ConnectError {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === "TimeoutError") {
    return new ConnectError(`the call timed out: ${reason.message}`, Code.DeadlineExceeded, undefined, undefined, reason);
  }
  return new ConnectError("the call was aborted", Code.Canceled, undefined, undefined, reason);
}

/** The answer's InsertResponse, or the Connect error it carries (thrown). */
function answerOf(status: number, contentType: string | undefined, headers: http2.IncomingHttpHeaders,
  body: Uint8Array): InsertResponse {
  if (status === 200 && contentType === "application/proto") {
    try {
      return fromBinary(InsertResponseSchema, body);
    } catch (error) {
      throw new ConnectError(`parse binary: ${error instanceof Error ? error.message : String(error)}`, Code.Internal);
    }
  }
  const metadata = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    metadata.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const fallback = new ConnectError(`HTTP ${status}`, status === 200 ? Code.Internal : codeFromHttpStatus(status), metadata);
  if (contentType === undefined || !contentType.startsWith("application/json")) throw fallback;
  throw errorFromJsonBytes(body, metadata, fallback);
}
