// The page's ClusterService round (askManagerInTurn) over in-memory Connect
// routers (createRouterTransport: the real protocol stack, no network): the
// page's node first, the others while it fails, `unimplemented` from the page's
// node meaning "not served" (the others are not asked), every node's error named.
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EventStoreService } from "../../framework/ui/app/gen/eventstore/v1/eventstore_pb.js";
import {
  ClusterNodeSchema,
  ClusterNodeState,
  ClusterPartitionSchema,
  ClusterService,
} from "../../framework/ui/app/gen/raftkit/v1/cluster_pb.js";
import { NodeService } from "../../framework/ui/app/gen/raftkit/v1/node_pb.js";
import { askManagerInTurn } from "../../framework/ui/app/src/manager-poller.js";
import type { ManagerReading } from "../../framework/ui/app/src/manager-table.js";
import type { NodeClients } from "../../framework/ui/app/src/node-clients.js";

type ClusterBehaviour = Partial<ServiceImpl<typeof ClusterService>> | undefined;

/** A node whose ClusterService behaves as given (undefined: the service is not served). */
function nodeClients(nodeId: number, cluster: ClusterBehaviour, asked: number[]): NodeClients {
  const transport = createRouterTransport((router) => {
    if (cluster === undefined) return;
    router.service(ClusterService, {
      ...cluster,
      listNodes: async (request, context) => {
        asked.push(nodeId);
        if (cluster.listNodes === undefined) throw new ConnectError("no", Code.Internal);
        return cluster.listNodes(request, context);
      },
    });
  });
  return {
    nodeId,
    address: `127.0.0.1:700${nodeId}`,
    node: createClient(NodeService, transport),
    cluster: createClient(ClusterService, transport),
    eventStore: createClient(EventStoreService, transport),
  };
}

const answering: ClusterBehaviour = {
  listNodes: () => ({
    nodes: [
      create(ClusterNodeSchema, { nodeId: 2n, address: "b:2", state: ClusterNodeState.DRAINING }),
      create(ClusterNodeSchema, { nodeId: 1n, address: "a:1", state: ClusterNodeState.ALIVE }),
    ],
  }),
  listPartitions: () => ({
    partitions: [create(ClusterPartitionSchema, { partitionId: 4n, replicas: [2n, 1n] })],
  }),
};

const failing: ClusterBehaviour = {
  listNodes: () => {
    throw new ConnectError("meta group has no leader", Code.Unavailable);
  },
  listPartitions: () => ({ partitions: [] }),
};

const empty: ManagerReading = {
  table: undefined,
  answeredAtMs: undefined,
  error: undefined,
  notServed: false,
};

describe("the page's ClusterService round", () => {
  it("takes the page's own node's answer and asks no other", async () => {
    const asked: number[] = [];
    const reading = await askManagerInTurn(
      [nodeClients(1, answering, asked), nodeClients(2, answering, asked)],
      1000,
      empty,
    );
    expect(asked).toEqual([1]);
    expect(reading.error).toBeUndefined();
    expect(reading.table?.viaNodeId).toBe(1);
    expect(reading.table?.nodes.map((node) => [node.nodeId, node.state])).toEqual([
      [1, "alive"],
      [2, "draining"],
    ]);
    expect(reading.table?.partitions[0]?.replicas).toEqual([1, 2]);
  });

  it("asks the others while the page's node fails; keeps the last table if all fail", async () => {
    const asked: number[] = [];
    const reading = await askManagerInTurn(
      [nodeClients(1, failing, asked), nodeClients(2, answering, asked)],
      1000,
      empty,
    );
    expect(asked).toEqual([1, 2]);
    expect(reading.table?.viaNodeId).toBe(2);
    const allFailing = await askManagerInTurn(
      [nodeClients(1, failing, asked), nodeClients(3, failing, asked)],
      1000,
      reading,
    );
    expect(allFailing.table).toBe(reading.table);
    expect(allFailing.answeredAtMs).toBe(reading.answeredAtMs);
    expect(allFailing.error).toBe(
      "n1: [unavailable] meta group has no leader; n3: [unavailable] meta group has no leader",
    );
    expect(allFailing.notServed).toBe(false);
  });

  it("reads unimplemented from the page's node as not served; asks no other", async () => {
    const asked: number[] = [];
    const reading = await askManagerInTurn(
      [nodeClients(1, undefined, asked), nodeClients(2, answering, asked)],
      1000,
      empty,
    );
    expect(asked).toEqual([]);
    expect(reading.notServed).toBe(true);
    expect(reading.table).toBeUndefined();
    expect(reading.error).toMatch(/^n1: \[unimplemented\] /);
  });
});
