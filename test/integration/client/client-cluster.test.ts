/**
 * RaftkitClient and the typed gateway on 3 real node processes running the
 * hand-written counter/kv executable machine ("counterkv"): exactly-once
 * under retries and a leader SIGKILL (applies counted by the machine), reads
 * after acknowledged writes, a follower restored from a snapshot answering
 * like the leader, bad input answered with clear errors, curl and buf curl.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientErrorCode, createRaftkitClient, isClientError } from "../../../framework/client/index.js";
import type { RaftkitClient } from "../../../framework/client/index.js";
import {
  ExecutableKind,
  StateMachineErrorCode,
  buildCommand,
  defineExecutableMessage,
  readCommandResult,
  tsProtoCodec,
} from "../../../framework/statemachine/index.js";
import { ExecuteKind } from "../../../gen/raftkit/v1/gateway_pb.js";
import { testTimingFlags, waitForLeaders } from "../cluster/cluster-checks.js";
import { GatewayClient } from "../cluster/gateway-client.js";
import { ProcessCluster, projectRoot, waitUntil } from "../cluster/node-processes.js";
import { curlJson } from "../cluster/wire-checks.js";
import { isNotLeaderAnswer, isNotLeaderOutcome, isNotLeaderOutput } from "./not-leader.js";
import { NameRequest } from "../../unit/statemachine/counter-kv-messages.js";
import { Add, Effects, GetCounter, GetValue, Put, counterKvType } from "../../unit/statemachine/counter-kv-state-machine.js";

const groups = [1, 2, 3, 4];
let cluster: ProcessCluster;
let admin: GatewayClient;
let client: RaftkitClient;

beforeAll(async () => {
  cluster = await ProcessCluster.create({
    nodes: 3,
    groups: "1-4",
    entry: join(projectRoot, "test/integration/client/counter-node.ts"),
    flags: [
      ...testTimingFlags,
      "--state-machine", counterKvType,
      "--snapshot-entries", "20",
      "--compaction-overhead", "5",
      "--max-proposal-bytes", "65536",
    ],
  });
  await cluster.startAll();
  admin = new GatewayClient(new Map(cluster.nodes.map((node) => [node.nodeId, node.url])));
  await waitForLeaders(admin, [1, 2, 3], groups);
  client = createRaftkitClient({
    nodes: cluster.nodes.map((node) => node.url),
    partitionForKey: (type, key) => (type === counterKvType ? 1 + (key.length % groups.length) : Promise.reject(new Error(`no table for ${type}`))),
    backoff: { initialMs: 10, maxMs: 200 },
    defaultDeadlineMs: 20_000,
  });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await cluster?.close();
});

async function leaderOf(groupId: number): Promise<number> {
  const leaders = await waitForLeaders(admin, cluster.nodes.filter((node) => node.running).map((node) => node.nodeId), [groupId]);
  return leaders.get(groupId)!;
}

async function effects(groupId: number): Promise<number> {
  return (await client.query(Effects, groupId, { name: "" })).value;
}

/** Bound on reaching a partition's leader by hand (a hang detector, not a timing check). */
const leaderBoundMs = 30_000;

/**
 * Sends a request by hand to the leader of `groupId` as the nodes report it; when that node
 * refuses with NotLeader (`refused`: nothing was applied) the leader moved in between — a
 * starved leader misses its heartbeats on a loaded box (1 s election timeout) — and it goes
 * again to the leader reported then, within a bound. Any other answer is the caller's.
 */
async function onLeader<Answer>(
  groupId: number,
  send: (url: string) => Promise<Answer>,
  refused: (answer: Answer) => boolean,
): Promise<Answer> {
  const deadline = Date.now() + leaderBoundMs;
  for (;;) {
    const answer = await send(cluster.node(await leaderOf(groupId)).url);
    if (!refused(answer)) return answer;
    if (Date.now() > deadline) {
      throw new Error(`group ${groupId}: refused as NotLeader until the ${leaderBoundMs} ms bound`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure, the call succeeded");
}

describe("RaftkitClient on 3 node processes", () => {
  it("commands and linearizable reads: every acknowledged write is seen by the next read, from any entry node", async () => {
    // A client whose first guess is a follower: reads are redirected to the leader.
    const follower = (await leaderOf(1)) % 3;
    // The default 10 s deadline is for callers; a loaded CI box gets more.
    const other = createRaftkitClient({ nodes: [cluster.nodes[follower]!.url], defaultDeadlineMs: 30_000 });
    try {
      for (let i = 1; i <= 20; i++) {
        const written = await client.command(Add, 1, { name: "lin", delta: 1 });
        expect(written.value).toBe(i);
        expect((await other.query(GetCounter, 1, { name: "lin" })).value).toBe(i);
        expect((await client.query(GetCounter, 1, { name: "lin" }, { consistency: "lease" })).value).toBe(i);
      }
      const viaKey = await client.command(Put, "abc", { key: "k", value: "v" });
      expect(viaKey).toEqual({ found: false, value: "" });
      expect(await client.query(GetValue, 1 + (3 % groups.length), { name: "k" })).toEqual({ found: true, value: "v" });
    } finally {
      await other.close();
    }
  }, 60_000);

  it("a command retried with the same session stamp applies once (lost acknowledgement)", async () => {
    const before = await effects(2);
    const bytes = buildCommand(Add, { name: "dup", delta: 5 }, { clientId: 4242n, sequence: 1, respondedTo: 0 });
    // idempotent: the bytes carry a session stamp, so the test client may resend them after an
    // attempt it gave up on (its attempts stop at 3 s, which a loaded CI box can exceed): that
    // is the claim under test, and the applies are counted below.
    const stamped = { deadlineMs: 30_000, idempotent: true };
    const first = await admin.execute(2, ExecuteKind.COMMAND, bytes, stamped);
    const again = await admin.execute(2, ExecuteKind.COMMAND, bytes, stamped);
    expect(readCommandResult(Add, again)).toEqual(readCommandResult(Add, first));
    expect(readCommandResult(Add, first)).toEqual({ value: 5 });
    expect(await effects(2)).toBe(before + 1);
  }, 90_000);

  it("exactly once under concurrent client retries and a leader SIGKILL: applies = acknowledged commands", async () => {
    const groupId = 3;
    const before = await effects(groupId);
    const victim = await leaderOf(groupId);
    let acknowledged = 0;
    const failures: string[] = [];
    const writers = Array.from({ length: 8 }, async (_, writer) => {
      for (let i = 0; i < 25; i++) {
        try {
          await client.command(Add, groupId, { name: "once", delta: 1 }, { deadlineMs: 30_000 });
          acknowledged++;
        } catch (error) {
          failures.push(`writer ${writer}: ${String(error)}`);
        }
        if (writer === 0 && i === 8) await cluster.node(victim).stop("SIGKILL");
      }
    });
    await Promise.all(writers);
    expect(failures).toEqual([]);
    expect(acknowledged).toBe(200);
    expect((await client.query(GetCounter, groupId, { name: "once" })).value).toBe(200);
    expect(await effects(groupId)).toBe(before + 200);
    await cluster.node(victim).start();
    // A restart (its start bound 60 s) after 200 commands with 30 s deadlines, around a
    // failover: took 31 s at load 22 on 2 cores (session 5). A hang detector.
  }, 180_000);

  it("a follower restored from a snapshot answers stale reads like the leader", async () => {
    const groupId = 4;
    const leader = await leaderOf(groupId);
    const follower = leader === 3 ? 2 : 3;
    await cluster.node(follower).stop("SIGKILL");
    for (let i = 0; i < 60; i++) await client.command(Put, groupId, { key: `s${i % 7}`, value: `v${i}` });
    await client.command(Add, groupId, { name: "snap", delta: 7 });
    const leaderStatus = (await admin.status(leader, [groupId])).groups[0]!;
    expect(leaderStatus.snapshotIndex).toBeGreaterThan(20n);
    await cluster.node(follower).start();
    await waitUntil("the restarted follower to catch up", async () => {
      const status = (await admin.status(follower, [groupId])).groups[0]!;
      return status.appliedIndex >= leaderStatus.appliedIndex;
    }, 60_000);
    const restored = (await admin.status(follower, [groupId])).groups[0]!;
    expect(restored.snapshotIndex).toBeGreaterThan(0n);
    const onFollower = createRaftkitClient({ nodes: [cluster.node(follower).url] });
    try {
      for (const name of ["s0", "s3", "s6"]) {
        const stale = await onFollower.query(GetValue, groupId, { name }, { consistency: "stale" });
        expect(stale).toEqual(await client.query(GetValue, groupId, { name }));
      }
      expect(await onFollower.query(GetCounter, groupId, { name: "snap" }, { consistency: "stale" })).toEqual({ value: 7 });
      expect(await onFollower.query(Effects, groupId, { name: "" }, { consistency: "stale" })).toEqual({ value: await effects(groupId) });
    } finally {
      await onFollower.close();
    }
    // 61 commands, a restart (60 s bound) and the catch-up (60 s bound): took 55 s at load 22
    // on 2 cores against the former 90 s bound (session 5). A hang detector.
  }, 240_000);
});

describe("bad input: a clear error to the caller, the node unaffected", () => {
  const Unknown = defineExecutableMessage({
    typeName: "nope.v1.Nope/Nothing",
    kind: ExecutableKind.Command,
    request: tsProtoCodec(NameRequest),
    response: tsProtoCodec(NameRequest),
  });

  it("unknown message type, unknown partition, oversized request, undecodable payload", async () => {
    const unknownType = await caught(client.command(Unknown, 1, { name: "x" }));
    expect(isClientError(unknownType, ClientErrorCode.StateMachine)).toBe(true);
    expect(isClientError(unknownType) && unknownType.context.executionCode).toBe(StateMachineErrorCode.UnknownType);
    expect(String(unknownType)).toMatch(/no executor for message type "nope\.v1\.Nope\/Nothing"/);

    const unknownPartition = await caught(client.command(Add, 999, { name: "x", delta: 1 }));
    expect(isClientError(unknownPartition, ClientErrorCode.PartitionNotFound)).toBe(true);
    expect(String(unknownPartition)).toMatch(/partition 999 runs on none of 3 nodes/);

    const oversized = await caught(client.command(Put, 1, { key: "big", value: "x".repeat(200_000) }));
    expect(isClientError(oversized, ClientErrorCode.InvalidArgument)).toBe(true);
    expect(String(oversized)).toMatch(/size|large|bytes/i);

    const garbage = await caught(admin.execute(1, ExecuteKind.COMMAND, new Uint8Array([0xff, 0xff, 0xff]), { deadlineMs: 5_000 }));
    expect(String(garbage)).toMatch(/invalid_argument|invalid argument/i);
    expect(String(garbage)).toMatch(/envelope|decode/i);

    expect((await client.command(Add, 1, { name: "after-bad", delta: 2 })).value).toBe(2);
  }, 60_000);
});

describe("typed gateway from curl and buf curl", () => {
  const path = "/raftkit.v1.GatewayService/Execute";
  type Protocol = Parameters<typeof curlJson>[0];
  /** curl (Connect JSON) to group 2's leader, again to the new one after a NotLeader. */
  const curlLeader = (protocol: Protocol, body: unknown) =>
    onLeader(2, (node) => curlJson(protocol, node + path, body), (answer) => isNotLeaderAnswer(answer.body));

  it("Connect JSON over HTTP/2 (prior knowledge) and HTTP/1.1: commands, queries, JSON errors", async () => {
    const add = { groupId: "2", type: "counter.v1.CounterService/Add", json: { name: "curl", delta: 3 } };
    const h2 = await curlLeader("--http2-prior-knowledge", add);
    expect(h2.httpVersion).toBe("2");
    expect(JSON.parse(h2.body)).toEqual({ json: { value: "3" } });
    const h1 = await curlLeader("--http1.1", { ...add, json: { name: "curl", delta: 4 } });
    expect(h1.httpVersion).toBe("1.1");
    expect(JSON.parse(h1.body)).toEqual({ json: { value: "7" } });
    const read = await curlLeader("--http1.1", { groupId: "2", type: "counter.v1.CounterService/Get", json: { name: "curl" } });
    expect(JSON.parse(read.body)).toEqual({ json: { value: "7" } });

    const badJson = JSON.parse((await curlLeader("--http2-prior-knowledge", { ...add, json: { name: 5 } })).body);
    expect(badJson.code).toBe("invalid_argument");
    expect(badJson.message).toMatch(/JSON request of counter\.v1\.CounterService\/Add does not convert: field "name"/);
    expect(JSON.stringify(badJson.details)).toMatch(/raftkit\.v1\.ExecutionError/);
    const unknown = JSON.parse((await curlLeader("--http1.1", { groupId: "2", type: "x.v1.Y/Z" })).body);
    expect(unknown).toMatchObject({ code: "invalid_argument" });
    expect(unknown.message).toMatch(/no executor for message type "x\.v1\.Y\/Z" on group 2 \(registered: .*counter\.v1\.CounterService\/Add/);
    const executorError = JSON.parse((await curlLeader("--http1.1", { ...add, json: { name: "curl", delta: 0 } })).body);
    expect(executorError).toMatchObject({ code: "invalid_argument", message: "delta must not be 0" });
    const noPartition = JSON.parse((await curlLeader("--http1.1", { ...add, groupId: "77" })).body);
    expect(noPartition.code).toBe("not_found");
    expect(noPartition.message).toMatch(/group 77/);
    expect((await client.query(GetCounter, 2, { name: "curl" })).value).toBe(7);

    // Sent again only when its Add was refused as NotLeader (then nothing of it applied).
    const batchAnswer = await onLeader(2, (node) => curlJson("--http2-prior-knowledge", `${node}${path}Batch`, {
      requests: [
        { groupId: "2", type: "counter.v1.CounterService/Add", json: { name: "curl", delta: 1 } },
        { groupId: "2", type: "counter.v1.CounterService/Nope" },
        { groupId: "2", type: "counter.v1.CounterService/Get", json: { name: "curl" } },
      ],
    }), (answer) => isNotLeaderOutcome(JSON.parse(answer.body).outcomes?.[0]));
    const batch = JSON.parse(batchAnswer.body);
    expect(batch.outcomes[0]).toEqual({ response: { json: { value: "8" } } });
    expect(batch.outcomes[1].failure).toMatchObject({ code: 3, executionError: { code: "EXECUTION_ERROR_CODE_UNKNOWN_TYPE" } });
    expect(batch.outcomes[2].response.json.value).toMatch(/^[78]$/); // executed concurrently with the Add
    // Eleven calls, each of which may wait for a new leader (30 s at most): a hang detector.
  }, 120_000);

  it("buf curl with the gRPC protocol", async () => {
    const bufLeader = (body: unknown) =>
      onLeader(2, (node) => bufCurl(node + path, body).catch(String), isNotLeaderOutput);
    const output = await bufLeader({ groupId: "2", type: "counter.v1.CounterService/Add", json: { name: "grpc", delta: 11 } });
    expect(JSON.parse(output)).toEqual({ json: { value: "11" } });
    const failed = await bufLeader({ groupId: "2", type: "counter.v1.CounterService/Add", json: { name: "grpc" } });
    expect(failed).toMatch(/invalid_argument/);
    expect(failed).toMatch(/delta must not be 0/);
  }, 90_000);
});

function bufCurl(url: string, body: unknown): Promise<string> {
  const buf = join(projectRoot, "node_modules/.bin/buf");
  const args = ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--schema", join(projectRoot, "proto"), "-d", JSON.stringify(body), url];
  return new Promise((resolve, reject) => {
    execFile(buf, args, { timeout: 30_000, cwd: projectRoot }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}
