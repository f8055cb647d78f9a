import { afterEach, describe, expect, it } from "vitest";
import { HostErrorCode, isHostError } from "../../../framework/host/index.js";
import { bytes, eventually, HostCluster } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

function expectGroupNotFound(call: () => unknown): void {
  try {
    call();
  } catch (error) {
    expect(isHostError(error, HostErrorCode.GroupNotFound), String(error)).toBe(true);
    return;
  }
  expect.fail("expected HostError group_not_found");
}

describe("NodeHost.stopGroup / removeGroup", () => {
  it("a stopped replica takes no messages or applies, keeps its log, restarts from it", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    await cluster.startGroup(2);
    const leaderId = await cluster.waitForLeader(1);
    const leader = cluster.hosts.get(leaderId)!;
    for (let i = 0; i < 5; i++) await leader.propose(1, bytes(`set k${i} v${i}`));
    const stoppedId = [1, 2, 3].find((id) => id !== leaderId)!;
    const stoppedHost = cluster.hosts.get(stoppedId)!;
    const stoppedMachine = cluster.machine(stoppedId, 1);
    await eventually(() => stoppedMachine.data.size === 5, 30_000, "follower applied 5");
    await stoppedHost.stopGroup(1);

    const storage = cluster.disks.get(stoppedId)!.logStore.storage(1);
    const lastIndexAtStop = storage.lastIndex();
    const appliedAtStop = cluster.machine(stoppedId, 1).appliedIndex();
    expectGroupNotFound(() => stoppedHost.status(1));
    expectGroupNotFound(() => stoppedHost.propose(1, bytes("set x 1")));
    expect(stoppedHost.groupIds()).toEqual([2]);

    // The other two replicas still commit; the leader keeps sending to the stopped one.
    for (let i = 5; i < 15; i++) await leader.propose(1, bytes(`set k${i} v${i}`));
    // The host itself still runs: its other group applies (so messages do arrive here).
    const leader2 = cluster.hosts.get(await cluster.waitForLeader(2))!;
    await leader2.propose(2, bytes("set a 1"));
    const other = cluster.machine(stoppedId, 2);
    await eventually(() => other.data.get("a") === "1", 30_000, "group 2 applied here");
    expect(storage.lastIndex()).toBe(lastIndexAtStop);
    expect(cluster.machine(stoppedId, 1).appliedIndex()).toBe(appliedAtStop);
    expect(cluster.machine(stoppedId, 1).data.size).toBe(5);

    // Its log stayed: it restarts from it and catches up.
    const restarted = await cluster.startReplica(stoppedId, 1, [1, 2, 3]);
    await eventually(() => restarted.data.size === 15, 30_000, "restarted replica caught up");
    expect(restarted.data.get("k14")).toBe("v14");
  });

  it("fails the stopped group's pending proposals with Stopped", async () => {
    cluster = new HostCluster([1, 2, 3]);
    await cluster.startGroup(1);
    const leaderId = await cluster.waitForLeader(1);
    const leader = cluster.hosts.get(leaderId)!;
    await leader.propose(1, bytes("set a 1"));
    cluster.network.isolate(leaderId); // nothing commits now: proposals stay pending
    const pending = [leader.propose(1, bytes("set b 2")), leader.propose(1, bytes("set c 3"))];
    const outcomes = Promise.allSettled(pending);
    expect(leader.status(1).pendingProposals).toBe(2);
    await leader.stopGroup(1);
    for (const outcome of await outcomes) {
      expect(outcome.status).toBe("rejected");
      const reason = outcome.status === "rejected" ? outcome.reason : undefined;
      expect(isHostError(reason, HostErrorCode.Stopped), String(reason)).toBe(true);
    }
  });

  it("reports a leader's conf change as pending until it is applied", async () => {
    cluster = new HostCluster([1, 2, 3, 4]);
    await cluster.startGroup(1, [1, 2, 3]);
    const leaderId = await cluster.waitForLeader(1);
    const leader = cluster.hosts.get(leaderId)!;
    await leader.propose(1, bytes("set a 1")); // the election's own entry is applied by now
    expect(leader.status(1).confChangePending).toBe(false);
    cluster.network.isolate(leaderId);
    const change = leader.proposeConfChange(1, {
      transition: 0,
      changes: [{ type: 0, nodeId: 4 }],
      context: new Uint8Array(0),
    });
    const settled = change.catch(() => undefined);
    expect(leader.status(1).confChangePending).toBe(true);
    cluster.network.heal();
    await settled;
    await eventually(() => cluster!.leaderOf(1) !== undefined, 30_000, "a leader after healing");
    const current = cluster.hosts.get(cluster.leaderOf(1)!)!;
    await current.propose(1, bytes("set b 2"));
    await eventually(() => !current.status(1).confChangePending, 30_000, "conf change applied");
    for (const id of [1, 2, 3]) {
      if (id === cluster.leaderOf(1)) continue;
      expect(cluster.hosts.get(id)!.status(1).confChangePending).toBe(false);
    }
  });

  it("removeGroup deletes the log and snapshots; the group then starts afresh", async () => {
    cluster = new HostCluster([1, 2, 3], { snapshotEntries: 4, compactionOverhead: 1 });
    await cluster.startGroup(1);
    const leaderId = await cluster.waitForLeader(1);
    const leader = cluster.hosts.get(leaderId)!;
    for (let i = 0; i < 10; i++) await leader.propose(1, bytes(`set k${i} v${i}`));
    for (const id of [1, 2, 3]) {
      await eventually(() => cluster!.machine(id, 1).data.size === 10, 5_000, `node ${id} applied`);
      const started = Date.now();
      while ((await cluster.disks.get(id)!.snapshotStore.newest(1)) === undefined) {
        if (Date.now() - started > 5_000) expect.fail(`node ${id} took no snapshot`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    for (const id of [1, 2, 3]) await cluster.hosts.get(id)!.removeGroup(1);
    for (const id of [1, 2, 3]) {
      const disk = cluster.disks.get(id)!;
      expect(disk.logStore.groupIds()).not.toContain(1);
      expect(await disk.snapshotStore.newest(1)).toBeUndefined();
      expect(cluster.hosts.get(id)!.groupIds()).not.toContain(1);
    }
    await expect(cluster.hosts.get(1)!.removeGroup(1)).rejects.toSatisfy((e) =>
      isHostError(e, HostErrorCode.GroupNotFound),
    );

    // A group id is reused only once its old replicas' messages are gone: a
    // heartbeat of the old leader (commit 12) reaching the fresh replica
    // (last index 1) is a lost log to raft, and it stops. Every removal above
    // may finish without a macrotask, so those messages may still be queued.
    await eventually(() => cluster!.network.groupMessagesInFlight === 0, 5_000, "old messages delivered");
    await cluster.startGroup(1);
    const fresh = cluster.hosts.get(await cluster.waitForLeader(1))!;
    await fresh.propose(1, bytes("set new 1"));
    // The old log reached index 12; the fresh one starts again at the bootstrap snapshot (1).
    expect(fresh.status(1).lastIndex).toBeLessThan(8);
    for (const id of [1, 2, 3]) {
      const machine = cluster.machine(id, 1);
      await eventually(() => machine.data.get("new") === "1", 5_000, `node ${id} applied anew`);
      expect(cluster.machine(id, 1).data.size).toBe(1);
    }
  });
});
