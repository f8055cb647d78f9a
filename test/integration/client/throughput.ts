/**
 * Client throughput on 3 node processes (counterkv, 4 groups): the same
 * commands sent one unary Execute call each (baseline) and batched into
 * ExecuteBatch calls (the client's default), in the same run.
 *
 *   npx tsx test/integration/client/throughput.ts [commands=20000] [callers=256]
 */
import { join } from "node:path";
import { createRaftkitClient } from "../../../framework/client/index.js";
import type { BatchingLimits } from "../../../framework/client/index.js";
import { testTimingFlags, waitForLeaders } from "../cluster/cluster-checks.js";
import { GatewayClient } from "../cluster/gateway-client.js";
import { ProcessCluster, projectRoot } from "../cluster/node-processes.js";
import { Put, counterKvType } from "../../unit/statemachine/counter-kv-state-machine.js";

const commands = Number(process.argv[2] ?? 20_000);
const callers = Number(process.argv[3] ?? 256);
const groups = [1, 2, 3, 4];

async function measure(cluster: ProcessCluster, label: string, batching: Partial<BatchingLimits>): Promise<number> {
  const client = createRaftkitClient({ nodes: cluster.nodes.map((node) => node.url), batching, defaultDeadlineMs: 60_000 });
  // Warm up: connections, leader cache.
  for (const group of groups) await client.command(Put, group, { key: "warm", value: label });
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < commands) {
        const i = next++;
        const sent = performance.now();
        await client.command(Put, groups[i % groups.length]!, { key: `${label}-${i}`, value: "v" });
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await client.close();
  latencies.sort((a, b) => a - b);
  const rate = commands / seconds;
  const p = (q: number) => latencies[Math.floor(q * (latencies.length - 1))]!.toFixed(1);
  console.log(`${label}: ${commands} puts in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} puts/s, latency p50 ${p(0.5)} ms p99 ${p(0.99)} ms`);
  return rate;
}

const cluster = await ProcessCluster.create({
  nodes: 3,
  groups: "1-4",
  entry: join(projectRoot, "test/integration/client/counter-node.ts"),
  flags: [...testTimingFlags, "--state-machine", counterKvType],
});
try {
  await cluster.startAll();
  await waitForLeaders(new GatewayClient(new Map(cluster.nodes.map((node) => [node.nodeId, node.url]))), [1, 2, 3], groups);
  console.log(`${commands} Put commands, ${callers} concurrent callers, 4 groups, 3 node processes`);
  const unary = await measure(cluster, "unary", { maxBatchRequests: 1, maxInFlightCalls: callers });
  const batched = await measure(cluster, "batched", {});
  const unaryAgain = await measure(cluster, "unary-again", { maxBatchRequests: 1, maxInFlightCalls: callers });
  console.log(`ratio batched / unary (mean of both unary runs): ${(batched / ((unary + unaryAgain) / 2)).toFixed(2)}`);
} finally {
  await cluster.close();
}
