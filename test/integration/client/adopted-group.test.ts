/**
 * A group started through RunningNode.startGroup (with a machine the caller
 * made, as the DI entry point does from its partition table) is served by
 * the gateway's typed form like a group the node started itself.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRaftkitClient } from "../../../framework/client/index.js";
import { builtinStateMachineTypes, startNode } from "../../../framework/server/index.js";
import type { RunningNode } from "../../../framework/server/index.js";
import { Role } from "../../../framework/raft/index.js";
import { createSilentLogger } from "../../../framework/transport/index.js";
import { Add, GetCounter, createCounterKvMachine } from "../../unit/statemachine/counter-kv-state-machine.js";
import { waitUntil } from "../cluster/node-processes.js";
import { curlJson } from "../cluster/wire-checks.js";

let directory: string;
let node: RunningNode;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "raftkit-adopted-"));
  node = await startNode(
    {
      nodeId: 1, listenHost: "127.0.0.1", listenPort: 0, peers: new Map(), dataDirectory: directory, clusterId: 1,
      groups: [], stateMachine: "kv", host: { tickIntervalMs: 20, electionTicks: 10, heartbeatTicks: 1 }, transport: {},
      shutdownGraceMs: 1_000,
    },
    createSilentLogger(),
    builtinStateMachineTypes,
  );
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await rm(directory, { recursive: true, force: true });
});

describe("RunningNode.startGroup", () => {
  it("serves an adopted group's executable messages as JSON, and refuses starting it twice", async () => {
    await node.startGroup(5, createCounterKvMachine(5).machine, { voters: [1] });
    await waitUntil("group 5 to elect its leader", () => node.host.status(5).role === Role.Leader);
    const url = `http://127.0.0.1:${node.port}/raftkit.v1.GatewayService/Execute`;
    const added = await curlJson("--http2-prior-knowledge", url, { groupId: "5", type: "counter.v1.CounterService/Add", json: { name: "a", delta: 2 } });
    expect(JSON.parse(added.body)).toEqual({ json: { value: "2" } });
    const client = createRaftkitClient({ nodes: [`http://127.0.0.1:${node.port}`] });
    try {
      expect(await client.command(Add, 5, { name: "a", delta: 1 })).toEqual({ value: 3 });
      expect(await client.query(GetCounter, 5, { name: "a" })).toEqual({ value: 3 });
    } finally {
      await client.close();
    }
    await expect(node.startGroup(5, createCounterKvMachine(5).machine, { voters: [1] })).rejects.toThrow(/group 5 already runs on node 1/);
  }, 60_000);
});
