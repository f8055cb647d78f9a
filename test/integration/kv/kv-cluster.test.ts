/**
 * examples/kv on 3 real node processes (examples/kv/kv-node.ts, the
 * generated DI glue): through the generated typed client (routing keys over
 * the same static table the nodes use), and through curl JSON against the
 * gateway's typed form — what the example's README tutorial does.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterManager } from "../../../framework/cluster/index.js";
import {
  createStaticClusterManager,
  createUniformStaticTable,
} from "../../../framework/cluster/index.js";
import type { RaftkitClient } from "../../../framework/client/index.js";
import { createRaftkitClient } from "../../../framework/client/index.js";
import { KvServiceClient } from "../../../examples/kv/gen/kv/v1/kv_raftkit_client.js";
import { kvStateMachineName } from "../../../examples/kv/kv-node-options.js";
import { ProcessCluster, projectRoot, waitUntil } from "../cluster/node-processes.js";
import { isNotLeaderAnswer } from "../client/not-leader.js";

const run = promisify(execFile);
const partitions = [1, 2, 3, 4];
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
/** Bound on finding a partition's leader by hand (a hang detector, not a timing check). */
const curlBoundMs = 30_000;

let cluster: ProcessCluster;
let manager: ClusterManager;
let raftkit: RaftkitClient;
let kv: KvServiceClient;

beforeAll(async () => {
  cluster = await ProcessCluster.create({
    nodes: 3,
    entry: join(projectRoot, "examples/kv/kv-node.ts"),
    flags: ["--partitions", "1-4"],
  });
  await cluster.startAll();
  const nodes = new Map(cluster.nodes.map((node) => [node.nodeId, `127.0.0.1:${node.port}`]));
  manager = createStaticClusterManager(createUniformStaticTable({
    nodes, partitionIds: partitions, stateMachineType: kvStateMachineName,
  }));
  raftkit = createRaftkitClient({ nodes: cluster.nodes.map((node) => node.url), cluster: manager });
  kv = new KvServiceClient(raftkit);
  // Three tsx processes booting took 12 s at load 15 on 2 cores; each node's own start bound is
  // 60 s, so the hook's bound is above it (a hung start names the node, not the hook).
}, 120_000);

afterAll(async () => {
  await raftkit?.close();
  await cluster?.close();
});

/**
 * POSTs a typed gateway request to the nodes in turn until the partition's leader answers: the
 * others refuse with NotLeader (nothing applied), and on a loaded box the partition may be
 * between leaders for a while (the nodes' 1 s election timeout), so the rounds go on within a
 * bound (a hang detector). Any other answer than NotLeader is returned or fails the call.
 */
async function curlExecute(partition: number, type: string, json: unknown): Promise<unknown> {
  const body = JSON.stringify({ groupId: String(partition), type, json });
  const answers: string[] = [];
  const deadline = Date.now() + curlBoundMs;
  for (let attempt = 0; ; attempt++) {
    const node = cluster.nodes[attempt % cluster.nodes.length]!;
    const { stdout } = await run("curl", ["-sS", "--max-time", "20", "-X", "POST",
      `${node.url}/raftkit.v1.GatewayService/Execute`,
      "-H", "Content-Type: application/json", "-d", body]);
    const answer: unknown = JSON.parse(stdout);
    if (typeof answer === "object" && answer !== null && "json" in answer) return answer.json;
    answers.push(`${node.url}: ${stdout}`);
    if (!isNotLeaderAnswer(stdout) || Date.now() > deadline) {
      throw new Error(`no node answered ${type} on partition ${partition}:\n${answers.join("\n")}`);
    }
    if (attempt % cluster.nodes.length === cluster.nodes.length - 1) await sleep(100);
  }
}

describe("examples/kv on 3 node processes", () => {
  it("put, linearizable get, compare-and-set and delete through the generated client", async () => {
    await waitUntil("a first put to succeed (leaders elected)", async () => {
      await kv.putByKey({ key: "warm-up", value: bytes("x") }, { deadlineMs: 2_000 });
      return true;
    });
    const keys = Array.from({ length: 24 }, (_, index) => `key-${index}`);
    for (const key of keys) {
      expect(await kv.putByKey({ key, value: bytes(`v-${key}`) })).toEqual({ version: 1n });
    }
    const used = new Set(await Promise.all(keys.map(async (key) =>
      (await manager.partitionForKey(kvStateMachineName, key)).partitionId)));
    expect(used.size).toBeGreaterThan(1); // the keys really spread over partitions
    for (const key of keys) {
      expect(await kv.getByKey({ key }))
        .toEqual({ found: true, value: bytes(`v-${key}`), version: 1n });
    }
    expect(await kv.compareAndSetByKey({ key: "key-0", expectedVersion: 7n, value: bytes("no") }))
      .toEqual({ swapped: false, version: 1n });
    expect(await kv.compareAndSetByKey({ key: "key-0", expectedVersion: 1n, value: bytes("yes") }))
      .toEqual({ swapped: true, version: 2n });
    expect(await kv.get("key-0", { key: "key-0" }))
      .toEqual({ found: true, value: bytes("yes"), version: 2n });
    expect(await kv.deleteByKey({ key: "key-1" })).toEqual({ existed: true });
    expect((await kv.getByKey({ key: "key-1" })).found).toBe(false);
    // The first put waits up to 30 s for elections, then 52 calls: 46 s at load 29 on 2 cores
    // (session 5), so the bound (a hang detector) is well above that.
  }, 180_000);

  it("curl JSON against the gateway reads and writes the same data", async () => {
    const partition = (await manager.partitionForKey(kvStateMachineName, "from-curl")).partitionId;
    const put = await curlExecute(partition, "kv.v1.KvService/Put",
      { key: "from-curl", value: Buffer.from("hello").toString("base64") });
    expect(put).toEqual({ version: "1" });
    expect(await kv.getByKey({ key: "from-curl" }))
      .toEqual({ found: true, value: bytes("hello"), version: 1n });
    await kv.putByKey({ key: "from-client", value: bytes("world") });
    const clientPartition =
      (await manager.partitionForKey(kvStateMachineName, "from-client")).partitionId;
    const got = await curlExecute(clientPartition, "kv.v1.KvService/Get", { key: "from-client" });
    const world = Buffer.from("world").toString("base64");
    expect(got).toEqual({ found: true, value: world, version: "1" });
    // Two leader searches of up to 30 s each and two client calls: above vitest's default 60 s.
  }, 90_000);
});
