import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { GroupRole, NodeService } from "../../gen/raftkit/v1/node_pb.js";
import type { StatusResponse } from "../../gen/raftkit/v1/node_pb.js";
import { UsageError } from "./usage-error.js";

const roleNames: Record<GroupRole, string> = {
  [GroupRole.UNSPECIFIED]: "?",
  [GroupRole.FOLLOWER]: "follower",
  [GroupRole.CANDIDATE]: "candidate",
  [GroupRole.PRE_CANDIDATE]: "pre-candidate",
  [GroupRole.LEADER]: "leader",
};

/** Asks one node for its status (NodeService.Status, Connect protocol over HTTP/1.1). */
export async function fetchNodeStatus(url: string, timeoutMs: number): Promise<StatusResponse> {
  if (!/^https?:\/\/[^/]+\/?$/.test(url)) {
    throw new UsageError(`--node: "${url}", allowed a base URL such as http://127.0.0.1:7001 or host:port`);
  }
  const transport = createConnectTransport({ baseUrl: url, httpVersion: "1.1" });
  return createClient(NodeService, transport).status({}, { timeoutMs });
}

/** The status as a table: one line per group, then a node summary. */
export function formatStatus(status: StatusResponse): string {
  const header = ["group", "role", "leader", "term", "commit", "applied", "last", "snapshot"];
  const rows = status.groups.map((group) => [
    String(group.groupId),
    roleNames[group.role],
    group.leaderNodeId === 0n ? "-" : `n${group.leaderNodeId}`,
    String(group.term),
    String(group.commitIndex),
    String(group.appliedIndex),
    String(group.lastIndex),
    String(group.snapshotIndex),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
  const node = status.node;
  const summary = node === undefined ? "" :
    `node n${node.nodeId}: ${node.groupCount} groups, ${node.quiescedGroupCount} quiesced, ` +
    `leader of ${status.groups.filter((group) => group.role === GroupRole.LEADER).length}, ` +
    `pid ${node.pid}, rss ${(Number(node.rssBytes) / 1048576).toFixed(1)} MiB`;
  return [line(header), ...rows.map(line), summary].join("\n") + "\n";
}
