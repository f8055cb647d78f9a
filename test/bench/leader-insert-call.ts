/**
 * The benches' insert call, aimed at the bench stream's current leader.
 *
 * The event store benches post Insert by hand (createInsertCall, as EventStore.insert does since
 * session 9) straight to the stream's leader: no protobuf-es serializer copy of each request and none
 * of Connect's per-call machinery. The cluster manager moves leaders (~15 s after start, a leader
 * transfer per group), so a bench asks again before each phase.
 */
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createStaticClusterManager, createUniformStaticTable } from "../../framework/cluster/index.js";
import { NodeService } from "../../gen/raftkit/v1/node_pb.js";
import { createInsertCall } from "../../examples/event-store/client/insert-call.js";
import type { InsertCall } from "../../examples/event-store/client/insert-call.js";
import type { LocalNode } from "../../examples/event-store/start/local-cluster.js";

/** Raft role number of a leader in NodeService.status (raftkit.v1 GroupStatus.role). */
const ROLE_LEADER = 4;

export interface LeaderInsertCall {
  /** The raft group (partition) holding the stream. */
  readonly groupId: number;
  /** The leader found by the last `find` ("" before the first, or if none was found yet). */
  readonly leaderUrl: string;
  /** The call to that leader (to the first node's URL before any leader was found). */
  readonly call: InsertCall;
  /** Asks every node for the group's role and re-aims `call` if the leader moved. */
  find(): Promise<void>;
  close(): void;
}

/** `stream`'s group from the cluster's uniform static table of partitions 1–4 (local-cluster's default). */
export async function createLeaderInsertCall(nodes: readonly LocalNode[], stream: string): Promise<LeaderInsertCall> {
  const manager = createStaticClusterManager(createUniformStaticTable({
    nodes: new Map(nodes.map((node) => [node.nodeId, `127.0.0.1:${node.port}`])), partitionIds: [1, 2, 3, 4], stateMachineType: "eventstore",
  }));
  const groupId = (await manager.partitionForKey("eventstore", stream)).partitionId;
  let leaderUrl = "";
  let call = createInsertCall(nodes[0]!.url);
  return {
    groupId,
    get leaderUrl() { return leaderUrl; },
    get call() { return call; },
    async find(): Promise<void> {
      let found = "";
      for (const node of nodes) {
        const status = await createClient(NodeService, createConnectTransport({ baseUrl: node.url, httpVersion: "2" })).status({ groupIds: [BigInt(groupId)] });
        if (status.groups[0]?.role === ROLE_LEADER) found = node.url;
      }
      if (found !== "" && found !== leaderUrl) {
        leaderUrl = found;
        call.close();
        call = createInsertCall(leaderUrl);
      }
    },
    close: () => call.close(),
  };
}
