import { Code } from "@connectrpc/connect";
import { metaGroupId } from "../cluster/index.js";
import type { FallbackHandler, UiRequest, UiResponse } from "./http-types.js";
import { sendRpcError, sendText } from "./http-types.js";
import { createPeerRelay } from "./peer-relay.js";
import { createStaticAssets, defaultAssetsDirectory } from "./static-assets.js";

/** Services a page may call on peers through the relay, unless the caller names others. */
export const defaultRelayedServices: readonly string[] = [
  "raftkit.v1.NodeService",
  "raftkit.v1.ClusterService",
  "eventstore.v1.EventStoreService",
];

export interface UiHandlerOptions {
  /** This node's id. */
  readonly nodeId: number;
  /** Every other node: id → "host:port" (the node's --peers). */
  readonly peers: ReadonlyMap<number, string>;
  /** Built assets (default framework/ui/dist, written by `npm run build:ui`). */
  readonly assetsDirectory?: string;
  readonly relayedServices?: readonly string[];
  readonly relayTimeoutMs?: number;
  /** Called with errors no response could carry (e.g. an unreadable asset). */
  readonly onError?: (message: string, error: unknown) => void;
}

/** `/<package.Service>/<Method>`: the path of an RPC in Connect, gRPC and gRPC-Web. */
const procedurePattern = /^\/[A-Za-z_][\w.]*\.[A-Za-z_]\w*\/[A-Za-z_]\w*$/;

/** What `/ui/nodes.json` tells the page: the nodes it can show and reach through the relay. */
export interface UiTopology {
  readonly nodeId: number;
  readonly nodes: ReadonlyArray<{ readonly nodeId: number; readonly address: string | null }>;
  /** The cluster manager's meta group (a raft group the partition table does not list). */
  readonly metaGroupId: number;
}

/**
 * The node's fallback for requests no Connect service matched (startNode's
 * `extras.fallback`): `/` and `/ui` redirect to `/ui/`, which serves the page;
 * `/ui/assets/*` its files; `/ui/nodes.json` the cluster's nodes; and
 * `/ui/relay/<nodeId>/…` forwards the page's calls to peers. Anything else: 404.
 */
export function createUiHandler(options: UiHandlerOptions): FallbackHandler {
  if (!(Number.isSafeInteger(options.nodeId) && options.nodeId > 0)) {
    throw new RangeError(`ui nodeId: ${options.nodeId}, allowed an integer ≥ 1`);
  }
  const assets = createStaticAssets(options.assetsDirectory ?? defaultAssetsDirectory);
  const relay = createPeerRelay({
    peers: options.peers,
    services: new Set(options.relayedServices ?? defaultRelayedServices),
    timeoutMs: options.relayTimeoutMs ?? 5000,
    maxRequestBytes: 1024 * 1024,
  });
  const topology = JSON.stringify(topologyOf(options));
  const onError = options.onError ?? (() => undefined);
  return (request, response) => {
    const path = pathOf(request.url);
    if (path.startsWith("/ui/relay/")) return relay.relay(path, request, response);
    const method = request.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") {
      // A procedure no service of this node matched: `unimplemented`, as gRPC and Connect
      // answer an unknown method (clients such as the page tell "not served here" by it).
      if (method === "POST" && procedurePattern.test(path)) {
        const procedure = path.slice(1);
        const message = `this node serves no ${procedure} (no such service or method here)`;
        return sendRpcError(request, response, Code.Unimplemented, message);
      }
      return sendRpcError(
        request,
        response,
        Code.NotFound,
        `no service or page at ${method} ${path}`,
      );
    }
    serveGet(path, method === "HEAD", response, { assets, topology }).catch((error: unknown) => {
      onError(`serving ${path} failed`, error);
      if (!response.headersSent)
        sendText(response, 500, `serving ${path} failed: ${String(error)}\n`);
      else response.destroy();
    });
  };
}

interface GetParts {
  readonly assets: ReturnType<typeof createStaticAssets>;
  readonly topology: string;
}

async function serveGet(
  path: string,
  headOnly: boolean,
  response: UiResponse,
  parts: GetParts,
): Promise<void> {
  if (path === "/" || path === "/ui") {
    response.writeHead(308, { location: "/ui/", "content-length": 0 });
    response.end();
    return;
  }
  if (path === "/ui/") return parts.assets.servePage(response, headOnly);
  if (path === "/ui/nodes.json") {
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(parts.topology),
      "cache-control": "no-cache",
    });
    if (headOnly) response.end();
    else response.end(parts.topology);
    return;
  }
  if (path.startsWith("/ui/assets/"))
    return parts.assets.serveAsset(path.slice("/ui/assets/".length), response, headOnly);
  sendText(response, 404, `nothing at ${path} (the management UI is at /ui/)\n`);
}

function topologyOf(options: UiHandlerOptions): UiTopology {
  const nodes = [
    { nodeId: options.nodeId, address: null },
    ...[...options.peers].map(([nodeId, address]) => ({ nodeId, address })),
  ].sort((a, b) => a.nodeId - b.nodeId);
  return { nodeId: options.nodeId, nodes, metaGroupId };
}

/** The path of a request target, without query (a missing or odd target reads as "/"). */
function pathOf(url: string | undefined): string {
  if (url === undefined || !url.startsWith("/")) return "/";
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}
