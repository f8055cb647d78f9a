import { afterEach, describe, expect, it } from "vitest";
import { HostErrorCode, isHostError } from "../../../framework/host/index.js";
import type { MemoryLogStore } from "../../../framework/host/index.js";
import { bytes, eventually, HostCluster, text } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

async function expectHostError(promise: Promise<unknown>, code: HostErrorCode): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isHostError(error, code), String(error)).toBe(true);
    return;
  }
  expect.fail(`expected HostError ${code}`);
}

describe("NodeHost", () => {
  it("runs many groups on three nodes; every replica applies every acknowledged command", async () => {
    cluster = new HostCluster([1, 2, 3]);
    const groups = Array.from({ length: 20 }, (_, i) => i + 1);
    for (const groupId of groups) await cluster.startGroup(groupId);
    const acknowledged: Promise<unknown>[] = [];
    for (const groupId of groups) {
      const leader = await cluster.waitForLeader(groupId);
      for (let i = 0; i < 10; i++) {
        acknowledged.push(cluster.hosts.get(leader)!.propose(groupId, bytes(`set k${i} g${groupId}v${i}`)));
      }
    }
    await Promise.all(acknowledged);
    await eventually(
      () => groups.every((g) => [1, 2, 3].every((n) => cluster!.machine(n, g).data.size === 10)),
      30_000,
      "all replicas applied",
    );
    for (const groupId of groups) {
      for (const node of [1, 2, 3]) expect(cluster.machine(node, groupId).data.get("k9")).toBe(`g${groupId}v9`);
    }
    // Durability is shared: far fewer commits than groups × commands.
    const commits = (cluster.disks.get(1)!.logStore as MemoryLogStore).commits;
    expect(commits).toBeLessThan(groups.length * 10);
  });

  it("returns the state machine's result and answers linearizable queries", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    await leader.propose(1, bytes("set a 1"));
    expect(text(await leader.propose(1, bytes("set a 2")))).toBe("1");
    expect(text(await leader.query(1, bytes("get a")))).toBe("2");
  });

  it("refuses with typed errors: follower (with leader hint), unknown group, oversized proposal", async () => {
    cluster = new HostCluster([1, 2, 3], { maxProposalBytes: 1024 });
    await cluster.startGroup(1);
    const leaderId = await cluster.waitForLeader(1);
    const followerId = [1, 2, 3].find((id) => id !== leaderId)!;
    await eventually(() => cluster!.hosts.get(followerId)!.status(1).leader === leaderId, 30_000, "follower knows leader");
    try {
      await cluster.hosts.get(followerId)!.propose(1, bytes("set x 1"));
      expect.fail("a follower must refuse");
    } catch (error) {
      expect(isHostError(error, HostErrorCode.NotLeader)).toBe(true);
      expect((error as { leaderHint: number }).leaderHint).toBe(leaderId);
    }
    expect(() => cluster!.hosts.get(leaderId)!.propose(99, bytes("x"))).toThrow(/group_not_found/);
    await expectHostError(cluster.hosts.get(leaderId)!.propose(1, new Uint8Array(2048)), HostErrorCode.InvalidArgument);
  });

  it("elects a new leader when the leader is cut off; acknowledged commands survive", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    const first = await cluster.waitForLeader(1);
    for (let i = 0; i < 5; i++) await cluster.hosts.get(first)!.propose(1, bytes(`set k${i} v${i}`));
    cluster.network.isolate(first);
    let second: number | undefined;
    await eventually(() => {
      second = [1, 2, 3].find((id) => id !== first && cluster!.hosts.get(id)!.isLeader(1));
      return second !== undefined;
    }, 30_000, "new leader");
    await cluster.hosts.get(second!)!.propose(1, bytes("set after yes"));
    const survivor = cluster.machine(second!, 1);
    for (let i = 0; i < 5; i++) expect(survivor.data.get(`k${i}`)).toBe(`v${i}`);
    cluster.network.heal();
    await eventually(() => cluster!.machine(first, 1).data.get("after") === "yes", 30_000, "old leader catches up");
  });

  it("catches a lagging follower up by snapshot after the leader compacted its log", async () => {
    cluster = new HostCluster([1, 2, 3], { snapshotEntries: 20, compactionOverhead: 5 });
    await cluster.startGroup(1);
    const leaderId = await cluster.waitForLeader(1);
    const lagging = [1, 2, 3].find((id) => id !== leaderId)!;
    cluster.network.isolate(lagging);
    const leader = cluster.hosts.get(leaderId)!;
    for (let i = 0; i < 60; i++) await leader.propose(1, bytes(`set k${i} v${i}`));
    await eventually(() => leader.status(1).snapshotIndex >= 40, 30_000, "leader snapshot");
    cluster.network.heal();
    await eventually(() => cluster!.machine(lagging, 1).data.get("k59") === "v59", 30_000, "lagging caught up");
    expect(cluster.network.snapshotsSent).toBeGreaterThan(0);
    expect([...cluster.machine(lagging, 1).data]).toEqual([...cluster.machine(leaderId, 1).data]);
  });

  it("a restarted node recovers from its own durable log and snapshot, then catches up", async () => {
    cluster = new HostCluster([1, 2, 3], { snapshotEntries: 25, compactionOverhead: 5 });
    await cluster.startGroup(1);
    const leaderId = await cluster.waitForLeader(1);
    const victim = [1, 2, 3].find((id) => id !== leaderId)!;
    for (let i = 0; i < 40; i++) await cluster.hosts.get(leaderId)!.propose(1, bytes(`set k${i} v${i}`));
    await eventually(() => cluster!.machine(victim, 1).data.size === 40, 30_000, "victim applied");
    await cluster.crash(victim);
    for (let i = 40; i < 50; i++) await cluster.hosts.get(leaderId)!.propose(1, bytes(`set k${i} v${i}`));
    cluster.startHost(victim);
    const machine = await cluster.startReplica(victim, 1, [1, 2, 3]);
    await eventually(() => machine.data.size === 50, 30_000, "restarted node caught up");
    expect([...machine.data]).toEqual([...cluster.machine(leaderId, 1).data]);
  });

  it("adds a replica on a new node through a conf change; it joins by snapshot", async () => {
    cluster = new HostCluster([1, 2, 3, 4], { snapshotEntries: 10, compactionOverhead: 2 });
    await cluster.startGroup(1, [1, 2, 3]);
    const leaderId = await cluster.waitForLeader(1);
    for (let i = 0; i < 30; i++) await cluster.hosts.get(leaderId)!.propose(1, bytes(`set k${i} v${i}`));
    const machine = await cluster.startReplica(4, 1, [], true);
    await cluster.hosts.get(leaderId)!.proposeConfChange(1, {
      transition: 0,
      changes: [{ type: 0, nodeId: 4 }],
      context: new Uint8Array(0),
    });
    await eventually(() => machine.data.size === 30, 30_000, "new replica caught up");
    expect(cluster.hosts.get(4)!.status(1).confState.voters).toEqual([1, 2, 3, 4]);
  });
});
