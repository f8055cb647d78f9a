import { Code } from "@connectrpc/connect";
import * as http from "node:http";
import type { UiRequest, UiResponse } from "./http-types.js";
import { sendRpcError } from "./http-types.js";

/**
 * The browser reaches every node of the cluster through the node that served
 * the page: a page may only call its own origin (the node's Connect services
 * send no CORS headers), so `/ui/relay/<nodeId>/<service>/<method>` forwards
 * one unary Connect or gRPC-Web call, over HTTP/1.1, to that peer's port.
 * Only configured peers and only the listed services are reachable: this is
 * no open proxy.
 */
export interface PeerRelayOptions {
  /** Peers by node id: "host:port". */
  readonly peers: ReadonlyMap<number, string>;
  /** Fully qualified service names the relay forwards to (e.g. "raftkit.v1.NodeService"). */
  readonly services: ReadonlySet<string>;
  /** Bound on one forwarded call; the browser's own deadline may be shorter. */
  readonly timeoutMs: number;
  /** Largest request body forwarded. */
  readonly maxRequestBytes: number;
}

/** Request headers a unary Connect / gRPC-Web call needs at the peer. */
const forwardedRequestHeaders = [
  "content-type",
  "connect-protocol-version",
  "connect-timeout-ms",
  "grpc-timeout",
  "x-grpc-web",
  "x-user-agent",
  "accept-encoding",
  "content-encoding",
];

/** Hop-by-hop headers (RFC 9110 §7.6.1) stay on their hop; HTTP/2 responses refuse them. */
const hopByHopHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

const relayPathPattern = /^\/ui\/relay\/(\d{1,9})\/([A-Za-z_][\w.]{0,200})\/([A-Za-z_]\w{0,100})$/;

export interface PeerRelay {
  /** Handles `/ui/relay/…`; each refusal is an RPC error (gRPC-Web or Connect) naming why. */
  relay(path: string, request: UiRequest, response: UiResponse): void;
}

export function createPeerRelay(options: PeerRelayOptions): PeerRelay {
  if (!(Number.isSafeInteger(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new RangeError(`relay timeoutMs: ${options.timeoutMs}, allowed an integer ≥ 1`);
  }
  if (!(Number.isSafeInteger(options.maxRequestBytes) && options.maxRequestBytes > 0)) {
    throw new RangeError(
      `relay maxRequestBytes: ${options.maxRequestBytes}, allowed an integer ≥ 1`,
    );
  }
  return {
    relay(path, request, response) {
      const match = relayPathPattern.exec(path);
      if (match === null) {
        return sendRpcError(
          request,
          response,
          Code.NotFound,
          `relay path ${JSON.stringify(path)}: ` +
            "expected /ui/relay/<nodeId>/<package.Service>/<Method>",
        );
      }
      const [, nodeText, service, method] = match;
      const nodeId = Number(nodeText);
      const address = options.peers.get(nodeId);
      if (address === undefined) {
        const known = [...options.peers.keys()].map((id) => `n${id}`).join(", ") || "none";
        return sendRpcError(
          request,
          response,
          Code.NotFound,
          `relay: n${nodeId} is not a peer of this node (peers: ${known})`,
        );
      }
      if (service === undefined || !options.services.has(service)) {
        return sendRpcError(
          request,
          response,
          Code.PermissionDenied,
          `relay: service ${JSON.stringify(service)} is not relayed ` +
            `(relayed: ${[...options.services].join(", ")})`,
        );
      }
      if (request.method !== "POST") {
        return sendRpcError(
          request,
          response,
          Code.Unimplemented,
          `relay: method ${request.method ?? "?"}, allowed POST`,
        );
      }
      void forward({ nodeId, address, path: `/${service}/${method}` }, request, response, options);
    },
  };
}

interface Target {
  readonly nodeId: number;
  readonly address: string;
  readonly path: string;
}

async function forward(
  target: Target,
  request: UiRequest,
  response: UiResponse,
  options: PeerRelayOptions,
): Promise<void> {
  const body = await readBody(request, options.maxRequestBytes);
  if (body === undefined) {
    return sendRpcError(
      request,
      response,
      Code.ResourceExhausted,
      `relay: request body larger than ${options.maxRequestBytes} bytes`,
    );
  }
  const headers: http.OutgoingHttpHeaders = { "content-length": body.length };
  for (const name of forwardedRequestHeaders) {
    const value = request.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  const [hostname, port] = splitAddress(target.address);
  const outgoing = http.request({
    hostname,
    port,
    path: target.path,
    method: "POST",
    headers,
    timeout: options.timeoutMs,
    agent: false,
  });
  const fail = (code: Code, message: string): void => {
    outgoing.destroy();
    if (!response.headersSent)
      sendRpcError(request, response, code, `n${target.nodeId} at ${target.address}: ${message}`);
    else response.destroy();
  };
  outgoing.on("timeout", () =>
    fail(Code.DeadlineExceeded, `no answer within ${options.timeoutMs} ms`),
  );
  outgoing.on("error", (error) => fail(Code.Unavailable, error.message));
  outgoing.on("response", (upstream) => relayResponse(upstream, response));
  // A browser that went away: the peer's answer has nowhere to go.
  response.on("close", () => outgoing.destroy());
  outgoing.end(body);
}

/** Copies status, headers and body (with back-pressure) of the peer's answer to the browser. */
function relayResponse(upstream: http.IncomingMessage, response: UiResponse): void {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !hopByHopHeaders.has(name)) headers[name] = value;
  }
  response.writeHead(upstream.statusCode ?? 502, headers);
  upstream.on("data", (chunk: Buffer) => {
    if (!response.write(chunk)) {
      upstream.pause();
      response.once("drain", () => upstream.resume());
    }
  });
  upstream.on("end", () => response.end());
  upstream.on("error", () => response.destroy());
}

/** The whole body, or undefined once it passes `limit` bytes. */
async function readBody(request: UiRequest, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += bytes.length;
    if (length > limit) return undefined;
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, length);
}

/** "host:port" or "[v6]:port" → [host, port]. Peer addresses were checked at start-up. */
function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return [host, Number(address.slice(colon + 1))];
}
