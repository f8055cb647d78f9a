import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { NodeService } from "../../../gen/raftkit/v1/node_pb.js";
import type { LocalCluster } from "../../../examples/event-store/start/local-cluster.js";

export const run = promisify(execFile);

export function temporaryDirectory(): string {
  return mkdtempSync(join(tmpdir(), "es-service-"));
}

/** Leader node id and term of every group, as node `url` sees them (0: unknown). */
export async function groupLeaders(url: string): Promise<Map<number, { leader: number; term: number }>> {
  const client = createClient(NodeService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
  const status = await client.status({}, { timeoutMs: 3000 });
  return new Map(status.groups.map((group) => [Number(group.groupId), { leader: Number(group.leaderNodeId), term: Number(group.term) }]));
}

/** The node leading `groupId`, asked of every running node until one knows. */
export async function leaderOf(cluster: LocalCluster, groupId: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    for (const node of cluster.nodes) {
      if (node.process === undefined) continue;
      const leader = (await groupLeaders(node.url).catch(() => new Map<number, { leader: number; term: number }>())).get(groupId)?.leader ?? 0;
      if (leader !== 0 && cluster.nodes.find((candidate) => candidate.nodeId === leader)?.process !== undefined) return leader;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no leader of group ${groupId} known`);
}

/** Resident memory of a process, from /proc (bytes). */
export function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]) * 1024;
}

/**
 * One curl call; retried (≤ 3 s) while the answer is NotLeader without a known
 * leader (an election in progress): a curl user would retry the same way.
 */
export async function curlJson(url: string, body: unknown, http: "--http1.1" | "--http2-prior-knowledge"): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    const { stdout } = await run("curl", ["-s", http, "-H", "content-type: application/json",
      "-d", JSON.stringify(body), url]);
    const answer: unknown = JSON.parse(stdout);
    const notLeader = typeof answer === "object" && answer !== null && "code" in answer &&
      answer.code === "failed_precondition" && stdout.includes("not_leader");
    if (!notLeader || attempt >= 30) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
