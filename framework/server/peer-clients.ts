/**
 * Connect clients of other nodes (their ClusterAgentService and
 * NodeService), one HTTP/2 session per address, reused across calls and
 * closed with the node. Every call carries a deadline.
 */
import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ClusterAgentService } from "../../gen/raftkit/v1/cluster_agent_pb.js";
import { NodeService } from "../../gen/raftkit/v1/node_pb.js";
import { addressToUrl } from "./node-config.js";

export interface PeerClient {
  readonly agent: Client<typeof ClusterAgentService>;
  readonly node: Client<typeof NodeService>;
}

/**
 * The calls the cluster manager's loops make to other nodes: what the
 * controller environment and the node agent need of a PeerClient. The
 * cluster simulator implements these over its simulated network.
 */
export interface PeerCallClient {
  readonly agent: Pick<
    Client<typeof ClusterAgentService>,
    "heartbeat" | "observe" | "startReplica" | "changeMembership" | "stopReplica"
  >;
  readonly node: Pick<Client<typeof NodeService>, "transferLeadership">;
}

export interface PeerCalls {
  /** Calls to the node at "host:port". */
  of(address: string): PeerCallClient;
}

export interface PeerClients extends PeerCalls {
  /** Clients of the node at "host:port". */
  of(address: string): PeerClient;
  close(): void;
}

/** Sessions kept at once; the least recently created goes first (addresses of removed nodes). */
const maxSessions = 64;

export function createPeerClients(): PeerClients {
  const peers = new Map<string, PeerClient & { readonly sessions: Http2SessionManager }>();
  return {
    of(address) {
      let peer = peers.get(address);
      if (peer !== undefined) return peer;
      if (peers.size >= maxSessions) {
        const [oldest] = peers;
        oldest?.[1].sessions.abort();
        if (oldest !== undefined) peers.delete(oldest[0]);
      }
      const baseUrl = addressToUrl(address);
      const sessions = new Http2SessionManager(baseUrl);
      const transport = createConnectTransport({
        baseUrl,
        httpVersion: "2",
        sessionManager: sessions,
      });
      peer = {
        agent: createClient(ClusterAgentService, transport),
        node: createClient(NodeService, transport),
        sessions,
      };
      peers.set(address, peer);
      return peer;
    },
    close() {
      for (const peer of peers.values()) peer.sessions.abort();
      peers.clear();
    },
  };
}
