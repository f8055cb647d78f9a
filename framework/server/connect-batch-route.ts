import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type { IncomingHttpHeaders } from "node:http";
import { BodyPool } from "./body-pool.js";
import type { BinaryBatchRequest, BinaryBatchResponse } from "./gateway-service.js";
import { executeBatchServerMethod } from "./gateway-wire.js";

/** The parts of a node:http or node:http2 compat request the route reads. */
export interface RouteRequest {
  readonly method?: string | undefined;
  /** "2.0" for HTTP/2. */
  readonly httpVersion?: string;
  readonly headers: IncomingHttpHeaders;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "end", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  resume(): unknown;
}

/** The parts of a node:http or node:http2 compat response the route writes. */
export interface RouteResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  /** HTTP/2 only (the gRPC form's grpc-status). */
  addTrailers?(trailers: Record<string, string>): unknown;
  end(body: Uint8Array): unknown;
}

/** What a raw unary handler is told of the call besides its body. */
export interface RawUnaryCall {
  /** The call's timeout (connect-timeout-ms or grpc-timeout), when it has one. */
  readonly timeoutMs: number | undefined;
  /**
   * The call's deadline on the route's clock (`now`, default performance.now):
   * when its headers arrived plus `timeoutMs`; undefined without a timeout.
   * Counted from the headers, not from the handler's start: an overloaded
   * process reads a body and reaches the handler turns later, and the
   * client's deadline has run on meanwhile.
   */
  readonly deadlineMs: number | undefined;
  /** The request's headers (lower-case names, as node gives them). */
  readonly headers: IncomingHttpHeaders;
}

/**
 * A unary method served from its request body's bytes (a plain Uint8Array,
 * not a Buffer: slice() copies, as on the body connect hands a handler) to
 * its answer's bytes. A throw is the call's error: a ConnectError as it is, anything
 * else as `errorOf` makes it one.
 */
export type RawUnaryHandler = (body: Uint8Array, call: RawUnaryCall) => Promise<Uint8Array>;

/** The binary forms of a unary call a raw route serves (`grpc` and `grpcWeb` only when asked). */
type Form = "connect" | "grpc" | "grpcWeb";

/** gRPC's and gRPC-Web's 5-byte message prefix: flags (1 = compressed, 0x80 = gRPC-Web trailer), length. */
const envelopeBytes = 5;

/**
 * A unary method served from the request body's bytes to the answer's, in
 * the Connect protocol's proto form (what connect-es clients send with the
 * binary format) and, with `grpc`, in gRPC's and gRPC-Web's proto forms —
 * without connect's per-call machinery: connect's universal handler gives
 * every call two linked abort controllers (each aborted at its end, with a
 * DOMException and an abort event), a URL parse, a Headers conversion and
 * async iterables over the body — ~1 ms of a node's CPU per 256-put call in
 * the profiles (issue #4), 0.1-0.3 us per event of the event store leader's.
 *
 * The answers are connect's: the handler's bytes, or its error — a
 * ConnectError as it is (code, message, details, metadata), anything else
 * as `errorOf` makes it one — as a Connect error (JSON body, HTTP status by
 * code) or a gRPC status (grpc-status, grpc-message, grpc-status-details-bin:
 * trailers-only in gRPC, the trailer frame in gRPC-Web). A body past
 * `readMaxBytes` is ResourceExhausted, a gRPC body that is not one whole
 * uncompressed message InvalidArgument / Unimplemented / Internal, worded as
 * connect words them.
 *
 * `serve` returns false, touching nothing, for any other form of the call
 * (JSON, a compressed body, a GET, a timeout or protocol version header it
 * does not take as is, gRPC over HTTP/1.1): the caller hands those to connect.
 */
export function createConnectUnaryRoute(
  handle: RawUnaryHandler,
  readMaxBytes: number,
  errorOf: (reason: unknown) => ConnectError = (reason) => ConnectError.from(reason),
  options: {
    readonly grpc?: boolean;
    readonly now?: () => number;
    /**
     * Asked once the call's headers are read, before its body: an error
     * returned (not thrown) is the call's answer at once and the body is
     * discarded unread. An overloaded node refusing a call after reading,
     * decoding and checking its body spent most of its CPU on refusals
     * (the event store's leader at 500,000 events/s offered).
     */
    readonly refuseEarly?: (call: RawUnaryCall) => unknown;
    /**
     * Bodies of several chunks are joined into reused memory (BodyPool)
     * instead of a fresh buffer per call, given back when the handler's
     * promise settles. Only for a handler that keeps no view of the body
     * (nor of anything decoded as a view of it) past that: the next call's
     * bytes overwrite it. Default false.
     */
    readonly reuseBodies?: boolean;
  } = {},
): { serve(request: RouteRequest, response: RouteResponse): boolean } {
  const grpc = options.grpc === true;
  const now = options.now ?? (() => performance.now());
  // Kept for reuse: at most 16 MiB or two maximal bodies (in use: as many as calls are open).
  const bodies = options.reuseBodies === true
    ? new BodyPool(readMaxBytes + envelopeBytes, Math.max(maxRetainedBodyBytes, 2 * (readMaxBytes + envelopeBytes)))
    : undefined;
  const connectErrorOf = (reason: unknown): ConnectError => (reason instanceof ConnectError ? reason : errorOf(reason));
  const fail = (response: RouteResponse, form: Form, reason: unknown): void => {
    const error = connectErrorOf(reason);
    if (form === "connect") {
      const headers: Record<string, string> = { "content-type": "application/json" };
      error.metadata.forEach((value, key) => {
        headers[key] = value;
      });
      send(response, codeToHttpStatus(error.code), headers, errorToJsonBytes(error, undefined));
      return;
    }
    const status = setTrailerStatus(new Headers(), error);
    if (form === "grpc") {
      // Trailers-only: the status in the response's headers, no body.
      const headers: Record<string, string> = { "content-type": "application/grpc+proto" };
      status.forEach((value, key) => {
        headers[key] = value;
      });
      send(response, 200, headers, new Uint8Array(0));
      return;
    }
    send(response, 200, { "content-type": "application/grpc-web+proto" }, grpcWebTrailer(status));
  };
  const answer = (response: RouteResponse, form: Form, body: Uint8Array): void => {
    if (form === "connect") {
      send(response, 200, { "content-type": "application/proto", "content-length": body.byteLength }, body);
      return;
    }
    const framed = new Uint8Array(envelopeBytes + body.byteLength + (form === "grpcWeb" ? grpcWebOkTrailer.byteLength : 0));
    writeEnvelopeHeader(framed, 0, 0, body.byteLength);
    framed.set(body, envelopeBytes);
    if (form === "grpc") {
      send(response, 200, { "content-type": "application/grpc+proto" }, framed, { "grpc-status": "0" });
      return;
    }
    framed.set(grpcWebOkTrailer, envelopeBytes + body.byteLength);
    send(response, 200, { "content-type": "application/grpc-web+proto" }, framed);
  };
  /** The one message of a gRPC or gRPC-Web request body (a view), or the ConnectError connect answers it with. */
  const unwrap = (body: Uint8Array): Uint8Array | ConnectError => {
    if (body.byteLength === 0) return new ConnectError("protocol error: missing input message for unary method", Code.Unimplemented);
    if (body.byteLength < envelopeBytes) return new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    const flags = body[0]!;
    const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1);
    if (length > readMaxBytes) return tooLarge(length, readMaxBytes);
    if (body.byteLength < envelopeBytes + length) return new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    if (body.byteLength > envelopeBytes + length) {
      return new ConnectError("protocol error: received extra input message for unary method", Code.Unimplemented);
    }
    if ((flags & 1) === 1) return new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
    return body.subarray(envelopeBytes);
  };
  return {
    serve(request, response) {
      if (request.method !== "POST") return false;
      const headers = request.headers;
      let form: Form;
      let timeoutMs: number | undefined;
      switch (headers["content-type"]) {
        case "application/proto": {
          const encoding = headers["content-encoding"];
          if (encoding !== undefined && encoding !== "identity") return false;
          const version = headers["connect-protocol-version"];
          if (version !== undefined && version !== "1") return false;
          const timeoutHeader = headers["connect-timeout-ms"];
          if (timeoutHeader !== undefined && !/^\d{1,10}$/.test(timeoutHeader as string)) return false;
          form = "connect";
          timeoutMs = timeoutHeader === undefined ? undefined : Number(timeoutHeader);
          break;
        }
        case "application/grpc":
        case "application/grpc+proto":
        case "application/grpc-web":
        case "application/grpc-web+proto": {
          if (!grpc) return false;
          form = headers["content-type"].startsWith("application/grpc-web") ? "grpcWeb" : "grpc";
          // gRPC needs HTTP/2's trailers: over HTTP/1.1 connect answers it.
          if (form === "grpc" && request.httpVersion !== "2.0") return false;
          const encoding = headers["grpc-encoding"];
          if (encoding !== undefined && encoding !== "identity") return false;
          const timeoutHeader = headers["grpc-timeout"];
          if (timeoutHeader !== undefined) {
            const timeout = parseTimeout(timeoutHeader as string, Number.MAX_SAFE_INTEGER);
            if (timeout.error !== undefined) return false;
            timeoutMs = timeout.timeoutMs;
          }
          break;
        }
        default:
          return false;
      }
      const call: RawUnaryCall = { timeoutMs, deadlineMs: timeoutMs === undefined ? undefined : now() + timeoutMs, headers };
      const bodyLimit = form === "connect" ? readMaxBytes : readMaxBytes + envelopeBytes;
      const early = options.refuseEarly?.(call);
      if (early !== undefined) {
        request.resume(); // the body is not read
        fail(response, form, early);
        return true;
      }

      const declared = Number(headers["content-length"] ?? 0);
      if (declared > bodyLimit) {
        request.resume(); // the body is not read
        fail(response, form, tooLarge(declared - (form === "connect" ? 0 : envelopeBytes), readMaxBytes));
        return true;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      request.on("data", (chunk) => {
        if (refused) return;
        size += chunk.byteLength;
        if (size > bodyLimit) {
          refused = true;
          chunks.length = 0;
          fail(response, form, tooLarge(size - (form === "connect" ? 0 : envelopeBytes), readMaxBytes));
          return;
        }
        chunks.push(chunk);
      });
      request.on("error", () => {
        refused = true; // the stream broke: nobody is left to answer
      });
      request.on("end", () => {
        if (refused) return;
        // One chunk is handed on as it is; several are joined (into the pool's memory when it is reused).
        const pooled = bodies !== undefined && chunks.length > 1 ? bodies.gather(chunks, size) : undefined;
        const joined = pooled !== undefined ? pooled.bytes : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        chunks.length = 0;
        // A plain Uint8Array view, as connect hands it: a Buffer's slice() is a view, not a copy.
        let body = new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
        if (form !== "connect") {
          const message = unwrap(body);
          if (message instanceof ConnectError) {
            pooled?.release();
            fail(response, form, message);
            return;
          }
          body = message;
        }
        let answered: Promise<Uint8Array>;
        try {
          answered = handle(body, call);
        } catch (error) {
          pooled?.release();
          fail(response, form, error);
          return;
        }
        answered.then(
          (result) => {
            pooled?.release();
            answer(response, form, result);
          },
          (error: unknown) => {
            pooled?.release();
            fail(response, form, error);
          },
        );
      });
      return true;
    },
  };
}

/** How many bytes of request bodies a route with `reuseBodies` keeps for reuse at least (and two maximal bodies). */
const maxRetainedBodyBytes = 16 << 20;

function writeEnvelopeHeader(target: Uint8Array, at: number, flags: number, length: number): void {
  target[at] = flags;
  new DataView(target.buffer, target.byteOffset + at + 1, 4).setUint32(0, length);
}

/** A gRPC-Web trailer frame holding `status`. */
function grpcWebTrailer(status: Headers): Uint8Array {
  const trailer = trailerSerialize(status);
  const frame = new Uint8Array(envelopeBytes + trailer.byteLength);
  writeEnvelopeHeader(frame, 0, 0x80, trailer.byteLength);
  frame.set(trailer, envelopeBytes);
  return frame;
}

const grpcWebOkTrailer = grpcWebTrailer(new Headers({ "grpc-status": "0" }));

/**
 * ExecuteBatch in the Connect protocol's unary proto form (what the client
 * library and the cluster bench send), served by createConnectUnaryRoute:
 * the executor's outcomes, its refusals as Connect errors, ResourceExhausted
 * past `readMaxBytes`, Internal "parse binary: …" for a body protobuf cannot
 * read, as connect answers them.
 */
export function createConnectBatchRoute(
  execute: (request: BinaryBatchRequest, callTimeoutMs: number | undefined) => Promise<BinaryBatchResponse>,
  readMaxBytes: number,
): { serve(request: RouteRequest, response: RouteResponse): boolean } {
  const input = executeBatchServerMethod.input;
  const output = executeBatchServerMethod.output;
  return createConnectUnaryRoute(async (body, call) => {
    let message: BinaryBatchRequest;
    try {
      message = fromBinary(input, body);
    } catch (error) {
      throw new ConnectError(`parse binary: ${error instanceof Error ? error.message : String(error)}`, Code.Internal);
    }
    const result = await execute(message, call.timeoutMs);
    try {
      return toBinary(output, result);
    } catch (error) {
      throw new ConnectError(`serialize binary: ${String(error)}`, Code.Internal);
    }
  }, readMaxBytes);
}

function tooLarge(bytes: number, readMaxBytes: number): ConnectError {
  return new ConnectError(`message size ${bytes} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
}

/** Writes the answer unless the call is gone (the client reset its stream). */
function send(response: RouteResponse, status: number, headers: Record<string, string | number>, body: Uint8Array,
  trailers?: Record<string, string>): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, headers);
  if (trailers !== undefined) response.addTrailers?.(trailers);
  response.end(body);
}
