/// <reference lib="dom" />
// Connect clients for every node, from the browser. The page's own node is
// called directly; the others through its relay (/ui/relay/<nodeId>), since a
// page may only call its own origin.
import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { EventStoreService } from "../gen/eventstore/v1/eventstore_pb.js";
import { ClusterService } from "../gen/raftkit/v1/cluster_pb.js";
import { NodeService } from "../gen/raftkit/v1/node_pb.js";

/** What /ui/nodes.json answers (framework/ui/ui-handler.ts, UiTopology). */
export interface Topology {
  readonly nodeId: number;
  readonly nodes: ReadonlyArray<{ readonly nodeId: number; readonly address: string | null }>;
  /** The cluster manager's meta group: a raft group the partition table does not list. */
  readonly metaGroupId: number;
}

export interface NodeClients {
  readonly nodeId: number;
  /** "host:port" as the page knows it (its own node: the page's host). */
  readonly address: string;
  readonly node: Client<typeof NodeService>;
  /** The cluster manager's API, where the node serves it (else calls fail with unimplemented). */
  readonly cluster: Client<typeof ClusterService>;
  /** The event store's service, where the node serves it (else calls fail with unimplemented). */
  readonly eventStore: Client<typeof EventStoreService>;
}

export async function fetchTopology(): Promise<Topology> {
  const response = await fetch("/ui/nodes.json", { cache: "no-store" });
  if (!response.ok)
    throw new Error(`GET /ui/nodes.json: HTTP ${response.status} ${await response.text()}`);
  const body: unknown = await response.json();
  if (!isTopology(body))
    throw new Error(`GET /ui/nodes.json: unexpected answer ${JSON.stringify(body)}`);
  return body;
}

function isTopology(value: unknown): value is Topology {
  if (typeof value !== "object" || value === null) return false;
  if (!("nodeId" in value) || typeof value.nodeId !== "number") return false;
  if (!("metaGroupId" in value) || typeof value.metaGroupId !== "number") return false;
  return (
    "nodes" in value &&
    Array.isArray(value.nodes) &&
    value.nodes.every(
      (node: unknown) =>
        typeof node === "object" &&
        node !== null &&
        "nodeId" in node &&
        typeof node.nodeId === "number",
    )
  );
}

export function createNodeClients(topology: Topology): NodeClients[] {
  return topology.nodes.map(({ nodeId, address }) => {
    const self = nodeId === topology.nodeId;
    const baseUrl = self ? window.location.origin : `${window.location.origin}/ui/relay/${nodeId}`;
    // gRPC-Web: errors (a node down, a refused action) arrive as HTTP 200 with
    // grpc-status, so the browser's console stays free of failed requests.
    const transport = createGrpcWebTransport({ baseUrl });
    return {
      nodeId,
      address: address ?? window.location.host,
      node: createClient(NodeService, transport),
      cluster: createClient(ClusterService, transport),
      eventStore: createClient(EventStoreService, transport),
    };
  });
}
