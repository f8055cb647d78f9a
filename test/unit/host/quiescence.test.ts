import { afterEach, describe, expect, it } from "vitest";
import { bytes, eventually, HostCluster } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("quiescence", () => {
  it("idle groups stop ticking and sending: far fewer raft messages than without quiescence", async () => {
    // Two clusters side by side over the same window, so machine load hits both alike.
    const quiet = new HostCluster([1, 2, 3], { quiesceAfterTicks: 5 });
    const busy = new HostCluster([1, 2, 3], { quiesceAfterTicks: 0 });
    cluster = quiet;
    try {
      const groups = Array.from({ length: 50 }, (_, i) => i + 1);
      for (const groupId of groups) {
        await quiet.startGroup(groupId);
        await busy.startGroup(groupId);
      }
      for (const groupId of groups) {
        await quiet.waitForLeader(groupId);
        await busy.waitForLeader(groupId);
      }
      await eventually(
        () => [1, 2, 3].every((id) => quiet.hosts.get(id)!.quiescedGroupCount() === groups.length),
        30_000,
        "every group quiesced on every node",
      );
      const quietBefore = quiet.network.groupMessagesDelivered;
      const busyBefore = busy.network.groupMessagesDelivered;
      await sleep(300);
      const quietSent = quiet.network.groupMessagesDelivered - quietBefore;
      const busySent = busy.network.groupMessagesDelivered - busyBefore;
      expect(busySent).toBeGreaterThan(500); // heartbeats of 50 groups keep flowing there
      expect(quietSent * 20).toBeLessThan(busySent);
    } finally {
      await busy.stopAll();
    }
  });

  it("a request wakes a quiesced group and is served", async () => {
    cluster = new HostCluster([1, 2, 3], { quiesceAfterTicks: 5 });
    await cluster.startGroup(1);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    await eventually(() => leader.quiescedGroupCount() === 1, 30_000, "quiesced");
    await leader.propose(1, bytes("set a 1"));
    await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.get("a") === "1"), 30_000, "applied");
  });

  it("when a quiesced group's leader node dies, liveness wakes the others and they elect", async () => {
    cluster = new HostCluster([1, 2, 3], { quiesceAfterTicks: 5 });
    const groups = [1, 2, 3, 4, 5, 6];
    for (const groupId of groups) await cluster.startGroup(groupId);
    const leaders = new Map<number, number>();
    for (const groupId of groups) leaders.set(groupId, await cluster.waitForLeader(groupId));
    await eventually(
      () => [1, 2, 3].every((id) => cluster!.hosts.get(id)!.quiescedGroupCount() === groups.length),
      30_000,
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
