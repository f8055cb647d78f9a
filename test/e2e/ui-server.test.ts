// The node side of the UI over real sockets: the fallback of a Connect node
// adapter on the dual-protocol port (as startNode mounts it), serving pages,
// assets and nodes.json, and relaying calls to a peer (here a plain HTTP
// server that records what arrives).
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DualProtocolListener } from "../../framework/server/index.js";
import { listenDualProtocol } from "../../framework/server/index.js";
import { createUiHandler } from "../../framework/ui/index.js";

interface Recorded {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

async function startUi(
  assetsDirectory: string,
  peers: ReadonlyMap<number, string>,
): Promise<DualProtocolListener> {
  const fallback = createUiHandler({ nodeId: 1, peers, assetsDirectory, relayTimeoutMs: 2000 });
  return listenDualProtocol(
    "127.0.0.1",
    0,
    connectNodeAdapter({ routes: () => undefined, fallback }),
  );
}

describe("UI handler on the node's port", () => {
  let directory: string;
  let ui: DualProtocolListener;
  let unbuiltUi: DualProtocolListener;
  let peer: http.Server;
  const recorded: Recorded[] = [];
  let base: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), "raftkit-ui-"));
    await mkdir(join(directory, "dist", "assets"), { recursive: true });
    await writeFile(join(directory, "dist", "index.html"), "<!doctype html><title>raftkit</title>");
    await writeFile(join(directory, "dist", "assets", "index-Ab12.js"), "console.log(1)");
    await writeFile(join(directory, "secret.txt"), "not for the browser");
    peer = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        recorded.push({ method: request.method, url: request.url, headers: request.headers, body });
        response.writeHead(200, {
          "content-type": "application/json",
          "x-peer": "n2",
          connection: "keep-alive",
        });
        response.end('{"node":{"nodeId":"2"}}');
      });
    });
    await new Promise<void>((done) => peer.listen(0, "127.0.0.1", done));
    const peerPort = portOf(peer);
    // n3 is a peer nobody listens on (bound and closed right away).
    const closed = http.createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const closedPort = portOf(closed);
    await new Promise((done) => closed.close(done));
    const peers = new Map([
      [2, `127.0.0.1:${peerPort}`],
      [3, `127.0.0.1:${closedPort}`],
    ]);
    ui = await startUi(join(directory, "dist"), peers);
    unbuiltUi = await startUi(join(directory, "nothing-built"), peers);
    base = `http://127.0.0.1:${ui.port}`;
  });

  afterAll(async () => {
    await ui?.closeConnections();
    await unbuiltUi?.closeConnections();
    await new Promise((done) => peer?.close(done));
    await rm(directory, { recursive: true, force: true });
  });

  it("redirects / and /ui to /ui/ and serves the page uncached", async () => {
    for (const path of ["/", "/ui"]) {
      const response = await fetch(`${base}${path}`, { redirect: "manual" });
      expect(response.status).toBe(308);
      expect(response.headers.get("location")).toBe("/ui/");
    }
    const page = await fetch(`${base}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    expect(await page.text()).toContain("<title>raftkit</title>");
  });

  it("serves hashed assets for good and nothing outside assets/", async () => {
    const asset = await fetch(`${base}/ui/assets/index-Ab12.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(await asset.text()).toBe("console.log(1)");
    for (const path of [
      "/ui/assets/..%2F..%2Fsecret.txt",
      "/ui/assets/missing.js",
      "/ui/assets/index-Ab12.exe",
      "/ui/other",
    ]) {
      const response = await fetch(`${base}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
    }
  });

  it("answers an RPC no service matched with unimplemented, other POSTs not_found", async () => {
    const post = async (path: string, contentType: string) => {
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": contentType },
        body: "{}",
      });
      return {
        status: response.status,
        grpcStatus: response.headers.get("grpc-status"),
        grpcMessage: decodeURIComponent(response.headers.get("grpc-message") ?? ""),
        body: await response.text(),
      };
    };
    const connect = await post("/raftkit.v1.ClusterService/ListNodes", "application/json");
    expect(connect.status).toBe(501);
    expect(JSON.parse(connect.body)).toEqual({
      code: "unimplemented",
      message:
        "this node serves no raftkit.v1.ClusterService/ListNodes " +
        "(no such service or method here)",
    });
    // gRPC-Web (the page): trailers-only, HTTP 200, grpc-status 12 (UNIMPLEMENTED).
    const grpcWeb = await post(
      "/eventstore.v1.EventStoreService/ListStreams",
      "application/grpc-web+proto",
    );
    expect(grpcWeb).toMatchObject({ status: 200, grpcStatus: "12", body: "" });
    expect(grpcWeb.grpcMessage).toContain("eventstore.v1.EventStoreService/ListStreams");
    const elsewhere = await post("/ui/other", "application/json");
    expect(elsewhere.status).toBe(404);
    expect(JSON.parse(elsewhere.body)).toMatchObject({ code: "not_found" });
  });

  it("answers 503 naming the build command when the UI is not built", async () => {
    const response = await fetch(`http://127.0.0.1:${unbuiltUi.port}/ui/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("npm run build:ui");
  });

  it("tells the page its nodes, over HTTP/1.1 and h2c alike", async () => {
    const response = await fetch(`${base}/ui/nodes.json`);
    const topology: unknown = await response.json();
    expect(topology).toEqual({
      nodeId: 1,
      nodes: [
        { nodeId: 1, address: null },
        { nodeId: 2, address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
        { nodeId: 3, address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
      ],
      metaGroupId: 2_147_483_000,
    });
    const overH2 = await getOverH2(`${base}`, "/ui/nodes.json");
    expect(overH2.status).toBe(200);
    expect(JSON.parse(overH2.body)).toEqual(topology);
  });

  it("relays a call to a peer: path, body, call headers sent on, hop-by-hop dropped", async () => {
    const response = await fetch(`${base}/ui/relay/2/raftkit.v1.NodeService/Status`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "connect-protocol-version": "1",
        cookie: "not-forwarded",
      },
      body: "{}",
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-peer")).toBe("n2");
    expect(await response.json()).toEqual({ node: { nodeId: "2" } });
    const call = recorded.at(-1);
    expect(call?.method).toBe("POST");
    expect(call?.url).toBe("/raftkit.v1.NodeService/Status");
    expect(call?.body).toBe("{}");
    expect(call?.headers["connect-protocol-version"]).toBe("1");
    expect(call?.headers["content-type"]).toBe("application/json");
    expect(call?.headers.cookie).toBeUndefined();
  });

  it("refuses what it does not relay, each with a Connect error naming why", async () => {
    const cases: Array<{
      path: string;
      init?: RequestInit;
      status: number;
      code: string;
      names: string;
    }> = [
      {
        path: "/ui/relay/9/raftkit.v1.NodeService/Status",
        status: 404,
        code: "not_found",
        names: "n9 is not a peer",
      },
      {
        path: "/ui/relay/2/raftkit.v1.TransportService/Stream",
        status: 403,
        code: "permission_denied",
        names: "not relayed",
      },
      {
        path: "/ui/relay/2/raftkit.v1.NodeService/Status",
        init: { method: "PUT" },
        status: 501,
        code: "unimplemented",
        names: "allowed POST",
      },
      {
        path: "/ui/relay/2/bad path",
        status: 404,
        code: "not_found",
        names: "expected /ui/relay/",
      },
      {
        path: "/ui/relay/2/raftkit.v1.NodeService/Status",
        init: { body: "x".repeat(1024 * 1024 + 1) },
        status: 429,
        code: "resource_exhausted",
        names: "larger than 1048576 bytes",
      },
      {
        path: "/ui/relay/3/raftkit.v1.NodeService/Status",
        status: 503,
        code: "unavailable",
        names: "ECONNREFUSED",
      },
    ];
    for (const { path, init, status, code, names } of cases) {
      const response = await fetch(`${base}${path}`, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
        ...init,
      });
      const body = connectErrorBody(await response.json());
      expect({ path, status: response.status, code: body.code }).toEqual({ path, status, code });
      expect(body.message).toContain(names);
    }
  });

  it("answers gRPC-Web callers trailers-only: HTTP 200 with grpc-status", async () => {
    const response = await fetch(`${base}/ui/relay/3/raftkit.v1.NodeService/Status`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: new Uint8Array([0, 0, 0, 0, 0]),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/grpc-web+proto");
    expect(response.headers.get("grpc-status")).toBe("14");
    expect(decodeURIComponent(response.headers.get("grpc-message") ?? "")).toMatch(
      /^n3 at 127\.0\.0\.1:\d+: .*ECONNREFUSED/,
    );
  });
});

function getOverH2(origin: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin);
    session.on("error", reject);
    const stream = session.request({ ":path": path, ":method": "GET" });
    let status = 0;
    let body = "";
    stream.on("response", (headers) => (status = Number(headers[":status"])));
    stream.on("data", (chunk: Buffer) => (body += chunk.toString()));
    stream.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    stream.on("error", reject);
  });
}

function portOf(server: http.Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  return address.port;
}

/** A Connect error body: {"code": string, "message": string}. */
function connectErrorBody(value: unknown): { code: string; message: string } {
  if (typeof value !== "object" || value === null)
    throw new Error(`not a Connect error: ${String(value)}`);
  const code = "code" in value ? value.code : undefined;
  const message = "message" in value ? value.message : undefined;
  if (typeof code !== "string" || typeof message !== "string") {
    throw new Error(`not a Connect error: ${JSON.stringify(value)}`);
  }
  return { code, message };
}
