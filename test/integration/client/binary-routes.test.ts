/**
 * NodeExtras.binaryRoutes: a method's binary forms (Connect proto, gRPC)
 * reach the hand codec's route, its JSON form the generic service — the
 * split the gateway's ExecuteBatch uses, opened to the services of an
 * example (issue #8: the event store's inserts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { NodeService, StatusResponseSchema } from "../../../gen/raftkit/v1/node_pb.js";
import { ServerError } from "../../../framework/server/errors.js";
import { builtinStateMachineTypes, startNode } from "../../../framework/server/index.js";
import type { NodeConfig } from "../../../framework/server/node-config.js";
import type { RunningNode } from "../../../framework/server/index.js";
import { createSilentLogger } from "../../../framework/transport/index.js";

const statusPath = "/raftkit.v1.NodeService/Status";
const directories: string[] = [];
const nodes: RunningNode[] = [];

afterEach(async () => {
  for (const node of nodes.splice(0)) await node.stop();
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true, force: true });
});

async function configOf(): Promise<NodeConfig> {
  const directory = await mkdtemp(join(tmpdir(), "raftkit-binary-routes-"));
  directories.push(directory);
  return {
    nodeId: 1, listenHost: "127.0.0.1", listenPort: 0, peers: new Map(), dataDirectory: directory, clusterId: 1,
    groups: [], stateMachine: "kv", host: { tickIntervalMs: 20, electionTicks: 10, heartbeatTicks: 1 }, transport: {},
    shutdownGraceMs: 1_000,
  };
}

describe("NodeExtras.binaryRoutes", () => {
  it("sends a method's binary requests to its route and its JSON requests to the generic service", async () => {
    const node = await startNode(await configOf(), createSilentLogger(), builtinStateMachineTypes, {
      binaryRoutes: [{
        path: statusPath,
        // Answers a node id no real node has, so the test can tell which handler answered.
        routes: (router) => router.rpc(NodeService.method.status, () => create(StatusResponseSchema, { node: { nodeId: 4242n } })),
      }],
    });
    nodes.push(node);
    const baseUrl = `http://127.0.0.1:${node.port}`;
    const connectBinary = createClient(NodeService, createConnectTransport({ baseUrl, httpVersion: "2" }));
    const grpc = createClient(NodeService, createGrpcTransport({ baseUrl }));
    const connectJson = createClient(NodeService, createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false }));
    expect((await connectBinary.status({})).node?.nodeId).toBe(4242n);
    expect((await grpc.status({})).node?.nodeId).toBe(4242n);
    expect((await connectJson.status({})).node?.nodeId).toBe(1n);
  }, 60_000);

  it("refuses a second route for a path that already has one, naming the path", async () => {
    const config = await configOf();
    const started = startNode(config, createSilentLogger(), builtinStateMachineTypes, {
      binaryRoutes: [{ path: "/raftkit.v1.GatewayService/ExecuteBatch", routes: () => {} }],
    });
    await expect(started).rejects.toThrow(ServerError);
    await expect(started).rejects.toThrow(/two binary routes for \/raftkit\.v1\.GatewayService\/ExecuteBatch/);
  }, 60_000);
});
