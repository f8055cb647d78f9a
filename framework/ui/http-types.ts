import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { Code } from "@connectrpc/connect";

/** A handler for the requests no Connect service matched (startNode's `extras.fallback`). */
export type FallbackHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
/** An HTTP/1.1 or h2c request, as the node's port hands it over. */
export type UiRequest = Parameters<FallbackHandler>[0];
/** Its response (write/writeHead made compatible across http and http2 by connect-node). */
export type UiResponse = Parameters<FallbackHandler>[1];

/** HTTP status of a Connect error code (Connect protocol, "Error codes"). */
const httpStatusOfCode: ReadonlyMap<Code, number> = new Map([
  [Code.InvalidArgument, 400],
  [Code.NotFound, 404],
  [Code.PermissionDenied, 403],
  [Code.ResourceExhausted, 429],
  [Code.Unimplemented, 501],
  [Code.Unavailable, 503],
  [Code.DeadlineExceeded, 504],
]);

/** Connect's wire name of a code: DeadlineExceeded → "deadline_exceeded". */
function wireName(code: Code): string {
  return Code[code].replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();
}

/**
 * Answers an RPC with an error in the caller's protocol: gRPC-Web (content
 * type application/grpc-web*) gets a trailers-only answer — HTTP 200 with
 * grpc-status and grpc-message headers, as a gRPC-Web server does, so a
 * browser logs no failed request — anything else a Connect unary error.
 */
export function sendRpcError(
  request: UiRequest,
  response: UiResponse,
  code: Code,
  message: string,
): void {
  const contentType = request.headers["content-type"] ?? "";
  if (!contentType.startsWith("application/grpc-web"))
    return sendConnectError(response, code, message);
  response.writeHead(200, {
    "content-type": contentType.startsWith("application/grpc-web-text")
      ? "application/grpc-web-text+proto"
      : "application/grpc-web+proto",
    "grpc-status": String(code),
    // gRPC: percent-encoded UTF-8 (decodeURIComponent on the client side reads it back).
    "grpc-message": encodeURIComponent(message),
    "content-length": 0,
  });
  response.end();
}

/**
 * Answers with a Connect unary error ({"code","message"} as JSON), which a
 * browser's Connect client turns into a ConnectError with that code.
 */
export function sendConnectError(response: UiResponse, code: Code, message: string): void {
  const body = JSON.stringify({ code: wireName(code), message });
  response.writeHead(httpStatusOfCode.get(code) ?? 500, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

/** Answers with a short plain-text body (pages and assets, not RPCs). */
export function sendText(response: UiResponse, status: number, text: string): void {
  response.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}
