import { afterEach, describe, expect, it } from "vitest";
import { bytes, eventually, HostCluster } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("quiescence", () => {
  it("idle groups stop ticking and sending; only node-level pings flow", async () => {
    cluster = new HostCluster([1, 2, 3], { quiesceAfterTicks: 5 });
    const groups = Array.from({ length: 50 }, (_, i) => i + 1);
    for (const groupId of groups) await cluster.startGroup(groupId);
    for (const groupId of groups) await cluster.waitForLeader(groupId);
    await eventually(
      () => [1, 2, 3].every((id) => cluster!.hosts.get(id)!.quiescedGroupCount() === groups.length),
      5_000,
      "every group quiesced on every node",
    );
    const before = cluster.network.groupMessagesDelivered;
    await sleep(200); // 40 ticks: 20 heartbeat rounds × 50 groups × 2 followers if not quiesced
    expect(cluster.network.groupMessagesDelivered - before).toBe(0);
  });

  it("a request wakes a quiesced group and is served", async () => {
    cluster = new HostCluster([1, 2, 3], { quiesceAfterTicks: 5 });
    await cluster.startGroup(1);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    await eventually(() => leader.quiescedGroupCount() === 1, 5_000, "quiesced");
    await leader.propose(1, bytes("set a 1"));
    await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.get("a") === "1"), 5_000, "applied");
  });

  it("when a quiesced group's leader node dies, liveness wakes the others and they elect", async () => {
    cluster = new HostCluster([1, 2, 3], { quiesceAfterTicks: 5 });
    const groups = [1, 2, 3, 4, 5, 6];
    for (const groupId of groups) await cluster.startGroup(groupId);
    const leaders = new Map<number, number>();
    for (const groupId of groups) leaders.set(groupId, await cluster.waitForLeader(groupId));
    await eventually(
      () => [1, 2, 3].every((id) => cluster!.hosts.get(id)!.quiescedGroupCount() === groups.length),
      5_000,
      "quiesced",
    );
    const victim = leaders.get(1)!;
    await cluster.crash(victim);
    for (const groupId of groups) {
      const leader = await cluster.waitForLeader(groupId, 5_000);
      expect(leader).not.toBe(victim);
      await cluster.hosts.get(leader)!.propose(groupId, bytes("set after crash"));
    }
  });
});
