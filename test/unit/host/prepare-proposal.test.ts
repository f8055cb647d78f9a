import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogStore, createMemorySnapshotStore, HostErrorCode, isHostError, NodeHost } from "../../../framework/host/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import { buildCommand, readCommandResult } from "../../../framework/statemachine/index.js";
import { createSilentLogger, createSystemClock } from "../../../framework/transport/index.js";
import { createCounterKvMachine, Stamp } from "../statemachine/counter-kv-state-machine.js";
import { HostCluster } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

describe("NodeHost with a state machine that prepares proposals", () => {
  it("the leader stamps each command with its wall clock; every replica applies that time", async () => {
    cluster = new HostCluster([1, 2, 3]);
    const machines = [1, 2, 3].map(() => createCounterKvMachine(1));
    for (const [i, id] of [1, 2, 3].entries()) await cluster.startCustomReplica(id, 1, [1, 2, 3], machines[i]!.machine);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    cluster.wallClockMs = () => 1_800_000_000_123;
    const result = await leader.propose(1, buildCommand(Stamp, { draws: 1 }, undefined));
    const stamped = readCommandResult(Stamp, result as Uint8Array);
    expect(stamped.timestampMs).toBe(1_800_000_000_123);
  });

  it("refuses a malformed command before it enters the log, naming what was wrong", async () => {
    cluster = new HostCluster([1, 2, 3]);
    for (const id of [1, 2, 3]) await cluster.startCustomReplica(id, 1, [1, 2, 3], createCounterKvMachine(1).machine);
    const leaderId = await cluster.waitForLeader(1);
    const leader = cluster.hosts.get(leaderId)!;
    const lastIndex = leader.status(1).lastIndex;
    try {
      await leader.propose(1, new Uint8Array([0xff, 0xff, 0xff]));
      expect.fail("a malformed command must be refused");
    } catch (error) {
      expect(isHostError(error, HostErrorCode.InvalidArgument), String(error)).toBe(true);
      expect(String(error)).toMatch(/proposal refused/);
    }
    expect(leader.status(1).lastIndex).toBe(lastIndex);
  });

  it("a host without a wall clock refuses such a group at start, naming the missing dependency", async () => {
    const network = { nodeId: 1, start: async () => {}, close: async () => {}, send: () => {}, sendSnapshot: async () => {} };
    const host = new NodeHost(
      { nodeId: 1 },
      {
        logStore: createMemoryLogStore(),
        snapshotStore: createMemorySnapshotStore(),
        transport: network,
        clock: createSystemClock(),
        random: createSeededRandom(1),
        logger: createSilentLogger(),
        yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),
      },
    );
    host.start();
    try {
      await expect(host.startGroup(1, createCounterKvMachine(1).machine, { voters: [1] })).rejects.toThrow(
        /prepareProposal.*wallClockMs/,
      );
    } finally {
      await host.stop();
    }
  });
});
