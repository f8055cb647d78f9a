import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReadConsistency } from "../../../gen/raftkit/v1/gateway_pb.js";
import { leadersOf, runPool, testTimingFlags, waitForConvergence, waitForLeaders } from "./cluster-checks.js";
import { GatewayClient } from "./gateway-client.js";
import { ProcessCluster } from "./node-processes.js";

const groups = Array.from({ length: 100 }, (_, i) => i + 1);
let cluster: ProcessCluster;
let client: GatewayClient;

beforeAll(async () => {
  cluster = await ProcessCluster.create({ nodes: 3, groups: "1-100", flags: testTimingFlags });
  await cluster.startAll();
  client = new GatewayClient(new Map(cluster.nodes.map((node) => [node.nodeId, node.url])));
}, 120_000);

afterAll(async () => {
  await cluster?.close();
});

/** Puts unique keys and records those acknowledged; failures are outcomes unknown, not recorded. */
class Writer {
  readonly acknowledged = new Map<string, { groupId: number; key: string; value: string }>();
  failures = 0;

  async put(groupId: number, key: string, deadlineMs = 20_000): Promise<boolean> {
    const value = `${key}@${groupId}`;
    try {
      const result = await client.put(groupId, key, value, { deadlineMs });
      expect(result.status).toBe("absent");
      this.acknowledged.set(`${groupId}/${key}`, { groupId, key, value });
      return true;
    } catch {
      this.failures++;
      return false;
    }
  }
}

async function expectAllPresent(writer: Writer, nodeIds: readonly number[]): Promise<void> {
  const missing: string[] = [];
  const checks = [...writer.acknowledged.values()].flatMap((write) => nodeIds.map((nodeId) => ({ ...write, nodeId })));
  await runPool(checks, 32, async ({ groupId, key, value, nodeId }) => {
    const found = await client.get(groupId, key, { nodeId, consistency: ReadConsistency.STALE, deadlineMs: 10_000 });
    if (found !== value) missing.push(`n${nodeId} group ${groupId} ${key}: ${String(found)}`);
  });
  expect(missing.slice(0, 10)).toEqual([]);
}

describe("3 node processes, 100 groups", () => {
  it("survives SIGKILL of the busiest leader; the restarted node catches up and all replicas converge", async () => {
    await waitForLeaders(client, [1, 2, 3], groups);
    const writer = new Writer();
    const firstWrites = groups.flatMap((groupId) => [0, 1, 2].map((i) => ({ groupId, key: `before-${i}` })));
    await runPool(firstWrites, 32, async ({ groupId, key }) => {
      expect(await writer.put(groupId, key)).toBe(true);
    });

    const leaders = await leadersOf(client, [1, 2, 3]);
    const counts = [1, 2, 3].map((nodeId) => [...leaders.values()].filter((leader) => leader === nodeId).length);
    const victimId = counts.indexOf(Math.max(...counts)) + 1;
    const survivors = [1, 2, 3].filter((nodeId) => nodeId !== victimId);

    // Writes keep coming while the leader dies; whatever is acknowledged must survive.
    let writing = true;
    let sequence = 0;
    const background = runPool(Array.from({ length: 16 }, (_, lane) => lane), 16, async (lane) => {
      while (writing) await writer.put(1 + ((lane * 7 + sequence) % groups.length), `during-${sequence++}`, 5_000);
    });
    await new Promise((done) => setTimeout(done, 300));
    expect(await cluster.node(victimId).stop("SIGKILL")).toBeNull();

    const newLeaders = await waitForLeaders(client, survivors, groups);
    expect([...newLeaders.values()].every((leader) => leader !== victimId)).toBe(true);
    for (const groupId of groups) expect(await writer.put(groupId, "after-kill")).toBe(true);
    writing = false;
    await background;
    expect(writer.acknowledged.size).toBeGreaterThan(firstWrites.length + groups.length);

    await waitForConvergence(client, survivors, groups);
    await expectAllPresent(writer, survivors);

    await cluster.node(victimId).start();
    for (const groupId of groups) expect(await writer.put(groupId, "after-restart")).toBe(true);
    await waitForConvergence(client, [1, 2, 3], groups, 90_000);
    await expectAllPresent(writer, [victimId]);
    const reopened = cluster.node(victimId).logLines().filter((line) => line.msg === "node started").at(-1);
    expect(reopened?.reopened).toBe(groups.length);
  }, 170_000);
});
