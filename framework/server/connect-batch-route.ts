import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import type { IncomingHttpHeaders } from "node:http";
import type { BinaryBatchRequest, BinaryBatchResponse } from "./gateway-service.js";
import { executeBatchServerMethod } from "./gateway-wire.js";

/** The parts of a node:http or node:http2 compat request the route reads. */
export interface RouteRequest {
  readonly method?: string | undefined;
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
  end(body: Uint8Array): unknown;
}

/** What a raw unary handler is told of the call besides its body. */
export interface RawUnaryCall {
  /** The call's timeout (connect-timeout-ms), when it has one. */
  readonly timeoutMs: number | undefined;
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

/**
 * A unary method in the Connect protocol's proto form (what connect-es
 * clients send with the binary format), served without connect's per-call
 * machinery: connect's universal handler gives every call two linked abort
 * controllers (each aborted at its end, with a DOMException and an abort
 * event), a URL parse, a Headers conversion and async iterables over the
 * body — ~1 ms of a node's CPU per 256-put call in the profiles (issue #4).
 * The answer is connect's: status 200 with the handler's bytes, or a
 * Connect error (JSON body, HTTP status by code, the error's metadata as
 * headers) — the handler's own ConnectErrors, ResourceExhausted for a body
 * past `readMaxBytes` (as connect words it).
 *
 * `serve` returns false, touching nothing, for any other form of the call
 * (a compressed body, a GET, a timeout or protocol version header it does
 * not take as is, JSON): the caller hands those to connect.
 */
export function createConnectUnaryRoute(
  handle: RawUnaryHandler,
  readMaxBytes: number,
  errorOf: (reason: unknown) => ConnectError = (reason) => ConnectError.from(reason),
): { serve(request: RouteRequest, response: RouteResponse): boolean } {
  const fail = (response: RouteResponse, reason: unknown): void => {
    const error = reason instanceof ConnectError ? reason : errorOf(reason);
    const headers: Record<string, string> = { "content-type": "application/json" };
    error.metadata.forEach((value, key) => {
      headers[key] = value;
    });
    send(response, codeToHttpStatus(error.code), headers, errorToJsonBytes(error, undefined));
  };
  const answer = (response: RouteResponse, body: Uint8Array): void => {
    send(response, 200, { "content-type": "application/proto", "content-length": body.byteLength }, body);
  };
  return {
    serve(request, response) {
      const headers = request.headers;
      if (request.method !== "POST" || headers["content-type"] !== "application/proto") return false;
      const encoding = headers["content-encoding"];
      if (encoding !== undefined && encoding !== "identity") return false;
      const version = headers["connect-protocol-version"];
      if (version !== undefined && version !== "1") return false;
      const timeoutHeader = headers["connect-timeout-ms"];
      if (timeoutHeader !== undefined && !/^\d{1,10}$/.test(timeoutHeader as string)) return false;
      const call: RawUnaryCall = { timeoutMs: timeoutHeader === undefined ? undefined : Number(timeoutHeader), headers };

      const declared = Number(headers["content-length"] ?? 0);
      if (declared > readMaxBytes) {
        request.resume(); // the body is not read
        fail(response, tooLarge(declared, readMaxBytes));
        return true;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      request.on("data", (chunk) => {
        if (refused) return;
        size += chunk.byteLength;
        if (size > readMaxBytes) {
          refused = true;
          chunks.length = 0;
          fail(response, tooLarge(size, readMaxBytes));
          return;
        }
        chunks.push(chunk);
      });
      request.on("error", () => {
        refused = true; // the stream broke: nobody is left to answer
      });
      request.on("end", () => {
        if (refused) return;
        const joined = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        // A plain Uint8Array view, as connect hands it: a Buffer's slice() is a view, not a copy.
        const body = new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength);
        let answered: Promise<Uint8Array>;
        try {
          answered = handle(body, call);
        } catch (error) {
          fail(response, error);
          return;
        }
        answered.then(
          (result) => answer(response, result),
          (error: unknown) => fail(response, error),
        );
      });
      return true;
    },
  };
}

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
function send(response: RouteResponse, status: number, headers: Record<string, string | number>, body: Uint8Array): void {
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, headers);
  response.end(body);
}
