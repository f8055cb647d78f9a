/**
 * Linearizable reads whose ReadIndex request or round is lost: the host asks
 * again (on a leader change and after an election timeout) instead of letting
 * the read wait for its deadline, and the answer still reflects every write
 * acknowledged before it (thesis §6.4).
 */
import { afterEach, describe, expect, it } from "vitest";
import { bytes, eventually, HostCluster, text } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/** Long enough that only a lost read (never a slow machine) reaches it. */
const readTimeoutMs = 50_000;

describe("reads whose ReadIndex is lost", () => {
  it("a follower's forwarded ReadIndex dropped on the way is asked again and answered", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    const leaderId = await cluster.waitForLeader(1);
    const leader = cluster.hosts.get(leaderId)!;
    await leader.propose(1, bytes("set a 1"));
    const followerId = [1, 2, 3].find((id) => id !== leaderId)!;
    await eventually(() => cluster!.machine(followerId, 1).data.get("a") === "1", 30_000, "follower applied");
    cluster.network.cutLink(followerId, leaderId);
    const read = cluster.hosts.get(followerId)!.query(1, bytes("get a"), { timeoutMs: readTimeoutMs });
    await new Promise((resolve) => setTimeout(resolve, 20)); // the forwarded request is dropped meanwhile
    cluster.network.heal();
    expect(text(await read)).toBe("1");
  }, 90_000);

  it("a leader that loses leadership with a read pending answers it after the new leader confirms it, with the newer write", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    const oldLeaderId = await cluster.waitForLeader(1);
    const oldLeader = cluster.hosts.get(oldLeaderId)!;
    await oldLeader.propose(1, bytes("set a 1"));
    cluster.network.isolate(oldLeaderId);
    // The quorum round of this read cannot reach anyone: the read stays pending.
    const read = oldLeader.query(1, bytes("get a"), { timeoutMs: readTimeoutMs });
    let settled = false;
    void read.then(
      () => (settled = true),
      () => (settled = true),
    );
    const others = [1, 2, 3].filter((id) => id !== oldLeaderId);
    let newLeaderId = 0;
    await eventually(
      () => (newLeaderId = others.find((id) => cluster!.hosts.get(id)!.isLeader(1)) ?? 0) !== 0,
      30_000,
      "a new leader among the connected majority",
    );
    await cluster.hosts.get(newLeaderId)!.propose(1, bytes("set a 2"));
    expect(settled).toBe(false);
    cluster.network.heal();
    // Linearizable: the write acknowledged before the read completes is visible.
    expect(text(await read)).toBe("2");
  }, 90_000);

  it("an answered read leaves nothing pending: the group quiesces long before the read's deadline", async () => {
    cluster = new HostCluster([1, 2, 3], { quiesceAfterTicks: 5, requestTimeoutMs: 600_000 });
    await cluster.startGroup(1);
    const leader = cluster.hosts.get(await cluster.waitForLeader(1))!;
    await leader.propose(1, bytes("set a 1"));
    for (let i = 0; i < 5; i++) expect(text(await leader.query(1, bytes("get a")))).toBe("1");
    await eventually(
      () => [1, 2, 3].every((id) => cluster!.hosts.get(id)!.quiescedGroupCount() === 1),
      60_000,
      "every replica of the group quiesced",
    );
  }, 120_000);
});
