/**
 * `raftkit cluster status` over ClusterService (issue #9): the node
 * registry (state, replicas, leaderships per node) and the partition table
 * (replicas, leader, lag per replica) as two tables. Lag comes from each
 * partition's leader, so the leaders' nodes are asked for the partitions
 * they lead.
 */
import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type {
  ClusterNode,
  PartitionStatusEntry,
} from "../../gen/raftkit/v1/cluster_pb.js";
import { ClusterNodeState, ClusterService } from "../../gen/raftkit/v1/cluster_pb.js";

export interface ClusterView {
  readonly nodes: readonly ClusterNode[];
  /** One per partition, with the lag per replica where its leader answered. */
  readonly partitions: readonly PartitionStatusEntry[];
}

/** The partition's leader as the answering node knows it, else the table's hint (0: none). */
function leaderOf(entry: PartitionStatusEntry): bigint {
  return entry.leaderNodeId !== 0n ? entry.leaderNodeId : (entry.partition?.leaderHint ?? 0n);
}

const stateNames: Record<ClusterNodeState, string> = {
  [ClusterNodeState.UNSPECIFIED]: "?",
  [ClusterNodeState.ALIVE]: "alive",
  [ClusterNodeState.SUSPECT]: "suspect",
  [ClusterNodeState.DEAD]: "dead",
  [ClusterNodeState.DRAINING]: "draining",
  [ClusterNodeState.REMOVED]: "removed",
};

function clusterClient(url: string): Client<typeof ClusterService> {
  return createClient(ClusterService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
}

/** Asks the node at `url`, then each partition's leader for its lag. */
export async function fetchClusterView(url: string, timeoutMs: number): Promise<ClusterView> {
  const client = clusterClient(url);
  const { nodes } = await client.listNodes({}, { timeoutMs });
  const { partitions } = await client.partitionStatus({}, { timeoutMs });
  const byLeader = new Map<bigint, bigint[]>();
  for (const entry of partitions) {
    const leader = leaderOf(entry);
    if (entry.replicas.length > 0 || leader === 0n) continue;
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), entry.partition?.partitionId ?? 0n]);
  }
  const fromLeaders = new Map<bigint, PartitionStatusEntry>();
  await Promise.all([...byLeader].map(async ([leader, ids]) => {
    const address = nodes.find((node) => node.nodeId === leader)?.address;
    if (address === undefined) return;
    try {
      const leaderClient = clusterClient(`http://${address}`);
      const answer = await leaderClient.partitionStatus({ partitionIds: ids }, { timeoutMs });
      for (const entry of answer.partitions) {
        if (entry.replicas.length > 0) fromLeaders.set(entry.partition?.partitionId ?? 0n, entry);
      }
    } catch {
      // The leader did not answer: its partitions show without lag.
    }
  }));
  const merged = partitions.map((entry) =>
    fromLeaders.get(entry.partition?.partitionId ?? 0n) ?? entry);
  return { nodes, partitions: merged };
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, index) => cell.padEnd(widths[index]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const ids = (values: readonly bigint[]): string =>
  values.length === 0 ? "-" : values.map((id) => `n${id}`).join(",");

export function formatClusterView(view: ClusterView): string {
  const nodeRows = view.nodes.map((node) => {
    const id = node.nodeId;
    const holds = view.partitions.filter((entry) => entry.partition?.replicas.includes(id) === true);
    const learns = view.partitions.filter((entry) => entry.partition?.learners.includes(id) === true);
    const leads = view.partitions.filter((entry) => leaderOf(entry) === node.nodeId);
    const counts = [holds, learns, leads].map((list) => String(list.length));
    return [`n${node.nodeId}`, node.address, stateNames[node.state], ...counts];
  });
  const partitionRows = view.partitions.map((entry) => {
    const partition = entry.partition;
    const leader = leaderOf(entry);
    const lag = entry.replicas.length === 0
      ? "?"
      : entry.replicas
        .map((replica) => `n${replica.nodeId}${replica.learner ? "(l)" : ""}:${replica.lag}`)
        .join(" ");
    return [
      String(partition?.partitionId ?? "?"),
      partition?.stateMachineType ?? "?",
      partition?.key === "" ? "-" : (partition?.key ?? "-"),
      ids(partition?.replicas ?? []),
      ids(partition?.learners ?? []),
      leader === 0n ? "-" : `n${leader}`,
      String(partition?.epoch ?? 0n),
      lag,
    ];
  });
  return [
    table(["node", "address", "state", "replicas", "learners", "leads"], nodeRows),
    "",
    table(
      ["partition", "type", "key", "replicas", "learners", "leader", "epoch", "lag"],
      partitionRows,
    ),
    "",
  ].join("\n");
}
