/**
 * The cluster manager in real node processes (issue #9): five `raftkit
 * start` processes with peers run the meta group on n1-n3 and a controller
 * on its leader. 50 partitions with replication factor 3 are created through
 * ClusterService; a write to each is acknowledged. n5 is SIGKILLed: within
 * the bound every partition has 3 replicas on live nodes again and every
 * acknowledged write is on each of them. n5 restarts: load evens out
 * (moves rate-limited), leaders spread. n4 is drained: its replicas and
 * leaderships leave, it stops, every partition still takes writes. A sixth
 * node joins through the address of one member and receives partitions.
 */
import { createClient } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterPartition } from "../../../gen/raftkit/v1/cluster_pb.js";
import { ClusterNodeState, ClusterService } from "../../../gen/raftkit/v1/cluster_pb.js";
import { ReadConsistency } from "../../../gen/raftkit/v1/gateway_pb.js";
import { freshPutProblem, leadersOf, runPool, testTimingFlags } from "../cluster/cluster-checks.js";
import { GatewayClient } from "../cluster/gateway-client.js";
import { joinerProcess } from "../cluster/joiner.js";
import { NodeProcess, ProcessCluster, runCli, waitUntil } from "../cluster/node-processes.js";

const partitionCount = 50;
const maxConcurrentMoves = 10;
/** Bound on re-replication after the kill: dead after 2 s, then ~30 replicas moved ≤ 10 at a time. */
const repairBoundMs = 60_000;
const clusterFlags = [
  ...testTimingFlags,
  "--heartbeat-ms", "250",
  "--suspect-after-ms", "1000",
  "--dead-after-ms", "2000",
  "--controller-round-ms", "200",
  "--max-concurrent-moves", String(maxConcurrentMoves),
  "--max-new-moves-per-round", "5",
  "--max-balance-moves", "8",
  // Shorter than the defaults (10 s, 30 s) for this cluster's fast timings: leaders spread
  // 2 s after the last change; a node gets a group it left back after 10 s (200 ticks).
  "--leader-settle-ms", "2000",
  "--rejoin-after-ms", "10000",
];

let cluster: ProcessCluster;
let joiner: NodeProcess | undefined;
let gateway: GatewayClient;
let management: Client<typeof ClusterService>;
const acknowledged = new Map<number, string>();

/** The controller's complaints (failed steps and rounds) of every node, for a failure message. */
function controllerTrouble(): string {
  const lines = cluster.nodes.flatMap((node) => node.output.split("\n")
    .filter((line) => /failed|rebalance step/.test(line)).slice(-15).map((line) => `n${node.nodeId} ${line.slice(0, 400)}`));
  return lines.join("\n");
}

async function waitOrExplain(what: string, condition: () => Promise<boolean>, limitMs: number): Promise<void> {
  try {
    await waitUntil(what, condition, limitMs);
  } catch (error) {
    const table = await partitions().catch(() => []);
    const summary = table.map((p) => `${p.partitionId}:[${p.replicas}]/[${p.learners}]`).join(" ");
    throw new Error(`${String(error)}\ntable: ${summary}\n${controllerTrouble()}`);
  }
}

function managementOf(url: string): Client<typeof ClusterService> {
  return createClient(ClusterService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
}

async function partitions(): Promise<ClusterPartition[]> {
  return (await management.listPartitions({}, { timeoutMs: 20_000 })).partitions;
}

async function nodeState(nodeId: number): Promise<ClusterNodeState | undefined> {
  const { nodes } = await management.listNodes({}, { timeoutMs: 20_000 });
  return nodes.find((node) => Number(node.nodeId) === nodeId)?.state;
}

/** Every partition has exactly 3 voters, all on `live`, and no learner. */
function settledOn(table: readonly ClusterPartition[], live: readonly number[]): boolean {
  return table.length === partitionCount && table.every((p) =>
    p.learners.length === 0 && p.replicas.length === 3 && p.replicas.every((id) => live.includes(Number(id))));
}

function replicasPerNode(table: readonly ClusterPartition[], nodeIds: readonly number[]): number[] {
  return nodeIds.map((id) => table.filter((p) => p.replicas.some((r) => Number(r) === id)).length);
}

beforeAll(async () => {
  cluster = await ProcessCluster.create({ nodes: 5, flags: clusterFlags });
  await cluster.startAll(90_000);
  gateway = new GatewayClient(new Map(cluster.nodes.map((node) => [node.nodeId, node.url])));
  management = managementOf(cluster.node(2).url);
}, 120_000);

afterAll(async () => {
  await joiner?.stop("SIGKILL");
  await cluster?.close();
});

describe("cluster manager in node processes", () => {
  it("registers every node and places 50 partitions (rf 3) evenly", async () => {
    await waitUntil("5 alive nodes in the registry", async () => {
      const { nodes } = await management.listNodes({}, { timeoutMs: 5_000 });
      return nodes.filter((node) => node.state === ClusterNodeState.ALIVE).length === 5;
    }, 30_000);
    const keys = Array.from({ length: partitionCount }, (_, index) => `p${index}`);
    await runPool(keys, 8, async (key) => {
      const request = { stateMachineType: "kv", key, replicationFactor: 3 };
      // A call that timed out may have created it: the retry answers with the same partition
      // (created false) and starts any replica still missing.
      await waitUntil(`partition ${key} created`, async () => {
        const { partition } = await management.createPartition(request, { timeoutMs: 30_000 });
        return partition?.key === key;
      }, 60_000);
    });
    const table = await partitions();
    expect(new Set(table.map((p) => p.key))).toEqual(new Set(keys));
    // Placement is least-loaded first; the controller may already be evening out moves
    // (a group briefly has 4 voters), so the spread is checked once the table settles.
    await waitOrExplain("an even placement", async () => {
      const current = await partitions();
      const perNode = replicasPerNode(current, [1, 2, 3, 4, 5]);
      return settledOn(current, [1, 2, 3, 4, 5]) && Math.max(...perNode) - Math.min(...perNode) <= 2;
    }, 60_000);
    await runPool(table.map((p) => Number(p.partitionId)), 16, async (partitionId) => {
      const result = await gateway.put(partitionId, "before-kill", `acked-${partitionId}`, { deadlineMs: 30_000 });
      expect(freshPutProblem(result, `acked-${partitionId}`)).toBeUndefined();
      acknowledged.set(partitionId, `acked-${partitionId}`);
    });
    expect(acknowledged.size).toBe(partitionCount);
  }, 240_000); // above its inner waits (30 + 60 + 60 s and the puts' 30 s)

  it("SIGKILL n5: every partition is back to 3 live replicas within the bound, writes kept", async () => {
    const lost = (await partitions()).filter((p) => p.replicas.some((r) => Number(r) === 5)).length;
    expect(lost).toBeGreaterThan(0);
    const killedAt = Date.now();
    await cluster.node(5).stop("SIGKILL");
    let mostMoves = 0;
    await waitOrExplain("3 live replicas for every partition", async () => {
      const table = await partitions();
      mostMoves = Math.max(mostMoves, table.filter((p) => p.learners.length > 0).length);
      return settledOn(table, [1, 2, 3, 4]);
    }, repairBoundMs);
    const repairMs = Date.now() - killedAt;
    console.log(`re-replicated ${lost} lost replicas in ${repairMs} ms (bound ${repairBoundMs} ms)`);
    expect(await nodeState(5)).toBe(ClusterNodeState.DEAD);
    expect(mostMoves).toBeLessThanOrEqual(maxConcurrentMoves);
    const checks = (await partitions()).flatMap((p) =>
      p.replicas.map((nodeId) => ({ partitionId: Number(p.partitionId), nodeId: Number(nodeId) })));
    await runPool(checks, 16, async ({ partitionId, nodeId }) => {
      const expected = acknowledged.get(partitionId);
      await waitUntil(`partition ${partitionId}'s write on n${nodeId}`, async () => {
        const options = { nodeId, consistency: ReadConsistency.STALE, deadlineMs: 5_000 };
        return (await gateway.get(partitionId, "before-kill", options)) === expected;
      }, 20_000);
    });
  }, 180_000);

  it("n5 restarts: alive again, load evens out gradually, leaders spread", async () => {
    await cluster.node(5).start(60_000);
    let mostMoves = 0;
    await waitOrExplain("load even across 5 nodes", async () => {
      const table = await partitions();
      mostMoves = Math.max(mostMoves, table.filter((p) => p.learners.length > 0).length);
      const perNode = replicasPerNode(table, [1, 2, 3, 4, 5]);
      return settledOn(table, [1, 2, 3, 4, 5]) && Math.max(...perNode) - Math.min(...perNode) <= 2;
    }, 150_000); // moves back are rate-limited; at load 24-29 one was still in flight at 90 s
    expect(await nodeState(5)).toBe(ClusterNodeState.ALIVE);
    expect(mostMoves).toBeLessThanOrEqual(maxConcurrentMoves);
    const share = Math.ceil(partitionCount / 5);
    await waitUntil("no node leads more than twice its share", async () => {
      const leaders = await leadersOf(gateway, [1, 2, 3, 4, 5]);
      const counts = [1, 2, 3, 4, 5].map((id) => [...leaders.values()].filter((l) => l === id).length);
      return Math.max(...counts) <= 2 * share;
    }, 30_000);
  }, 270_000);

  it("drains n4: its replicas and leaderships leave, it stops, every partition keeps quorum", async () => {
    const { node } = await management.drainNode({ nodeId: 4n }, { timeoutMs: 10_000 });
    expect(node?.state).toBe(ClusterNodeState.DRAINING);
    await waitOrExplain("n4 holds no replica and no leadership", async () => {
      const table = await partitions();
      const leaders = await leadersOf(gateway, [4]);
      return settledOn(table, [1, 2, 3, 5]) && leaders.size === 0;
    }, 90_000);
    await cluster.node(4).stop("SIGTERM");
    const ids = (await partitions()).map((p) => Number(p.partitionId));
    await runPool(ids, 16, async (partitionId) => {
      const result = await gateway.put(partitionId, "after-drain", "ok", { deadlineMs: 30_000 });
      expect(freshPutProblem(result, "ok")).toBeUndefined();
    });
    // Holding nothing, it can be removed for good; a node with replicas cannot.
    const refused = await management.removeNode({ nodeId: 1n }, { timeoutMs: 20_000 }).catch((e) => e);
    expect(String(refused)).toMatch(/failed_precondition/);
    const removed = await management.removeNode({ nodeId: 4n }, { timeoutMs: 20_000 });
    expect(removed.node?.state).toBe(ClusterNodeState.REMOVED);
  }, 240_000);

  it("a new node joins through the address of any member and receives partitions", async () => {
    const memberPort = cluster.node(3).port;
    const node6 = await joinerProcess({ nodeId: 6, memberPort, directory: cluster.directory, flags: clusterFlags });
    joiner = node6;
    await node6.start(60_000);
    const port = node6.port;
    await waitOrExplain("n6 alive with replicas", async () => {
      const table = await partitions();
      const held = table.filter((p) => p.replicas.some((r) => Number(r) === 6)).length;
      return (await nodeState(6)) === ClusterNodeState.ALIVE && held > 0;
    }, 90_000);
    // The operator's view: nodes and partitions as tables, from any member. Asked again while
    // n6 is not alive there: with the test's 2 s dead timeout, a run at load 24 saw n6 alive,
    // then marked dead (heartbeats starved; it was running and leading) by the time the CLI
    // process had started, and back alive a round later.
    let status = { code: null as number | null, stdout: "" };
    await waitOrExplain("cluster status lists n6 alive", async () => {
      status = await runCli(["cluster", "status", "--node", `127.0.0.1:${port}`]);
      return status.code === 0 && /^n6 +127\.0\.0\.1:[0-9]+ +alive/m.test(status.stdout);
    }, 90_000);
    const { stdout } = status;
    expect(stdout).toMatch(/^n4 +127\.0\.0\.1:[0-9]+ +removed +0 +0 +0$/m);
    expect(stdout.split("\n").filter((line) => / kv +p[0-9]+ /.test(line))).toHaveLength(partitionCount);
  }, 240_000);
});
