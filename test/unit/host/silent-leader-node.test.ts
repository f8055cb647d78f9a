import { afterEach, describe, expect, it } from "vitest";
import { createManualClock } from "../../../framework/transport/index.js";
import { bytes, HostCluster } from "./host-cluster.js";
import type { VirtualCpu } from "./virtual-turns.js";
import { drive, turn, turnsUntil } from "./virtual-turns.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  cluster?.network.heal();
  await cluster?.stopAll();
  cluster = undefined;
});

/**
 * Issue #8, overload: a loaded leader's node stood still ~2 s; its peers
 * counted it silent and woke the idle groups it leads — but the leader's own
 * replicas stayed quiesced and sent no heartbeats, so once the node was back
 * the woken followers ran out their election timeout and elected anew.
 * Virtual time (virtual-turns.ts): deterministic.
 */
/** Group 1 on three hosts in virtual time (idle groups quiesce after 30 ticks), once it has a leader. */
async function threeHostsWithALeader() {
  const cpu: VirtualCpu = { clock: createManualClock(1_000_000), tickMs: 100, debtMs: 0, longestTurnMs: 0 };
  const config = { tickIntervalMs: 100, electionTicks: 10, heartbeatTicks: 1, quiesceAfterTicks: 30,
    requestTimeoutMs: 3_600_000 };
  const hostCluster = new HostCluster([1, 2, 3], config, undefined, cpu.clock);
  cluster = hostCluster;
  for (const id of [1, 2, 3]) await drive(cpu, hostCluster.startReplica(id, 1, [1, 2, 3]), "start");
  await turnsUntil(cpu, () => hostCluster.leaderOf(1) !== undefined, "a leader");
  return { cpu, group: hostCluster, leaderId: hostCluster.leaderOf(1)!, hosts: [...hostCluster.hosts.values()] };
}

describe("an idle group whose leader's node goes silent for a moment", () => {
  it("goes back to sleep when the node is heard again: no election", async () => {
    const { cpu, group, leaderId, hosts } = await threeHostsWithALeader();
    await drive(cpu, group.hosts.get(leaderId)!.propose(1, bytes("set a 1")), "a write");
    const asleep = () => hosts.every((host) => host.quiescedGroupCount() === 1);
    await turnsUntil(cpu, asleep, "the group quiesced on every node");
    const term = group.hosts.get(leaderId)!.status(1).term;
    const followers = hosts.filter((host) => host.nodeId !== leaderId);

    // The leader's node falls silent (its messages are lost) until its peers wake the group.
    for (const follower of followers) group.network.cutLink(leaderId, follower.nodeId);
    await turnsUntil(cpu, () => followers.every((host) => host.quiescedGroupCount() === 0),
      "the followers woke the group (leader's node silent)");
    group.network.heal();
    // Three randomized election timeouts at most (each < 20 ticks); idle groups quiesce after
    // 30 (the node's default), later than a woken follower's election timeout runs out.
    const campaigns: string[] = [];
    for (let i = 0; i < 60; i++) {
      await turn(cpu);
      for (const host of hosts) {
        const role = host.status(1).role;
        if (role !== "follower" && role !== "leader") campaigns.push(`turn ${i}: node ${host.nodeId} ${role}`);
      }
    }
    // Not even a pre-vote: the woken followers went back to sleep as soon as the node was heard.
    expect(campaigns).toEqual([]);
    for (const host of hosts) {
      expect(host.status(1).term, `node ${host.nodeId}`).toBe(term);
      expect(host.status(1).leader, `node ${host.nodeId}`).toBe(leaderId);
    }
    expect(asleep()).toBe(true);
    // Still writable through the same leader, which wakes every replica.
    await drive(cpu, group.hosts.get(leaderId)!.propose(1, bytes("set a 2")), "a second write");
    expect(group.hosts.get(leaderId)!.status(1).term).toBe(term);
  });

  it("elects a new leader when the node stays silent", async () => {
    const { cpu, group, leaderId, hosts } = await threeHostsWithALeader();
    await turnsUntil(cpu, () => hosts.every((host) => host.quiescedGroupCount() === 1), "quiesced");
    const followers = hosts.filter((host) => host.nodeId !== leaderId);
    group.network.isolate(leaderId);
    await turnsUntil(cpu, () => followers.some((host) => host.isLeader(1)), "a new leader among the followers");
    expect(followers.every((host) => host.status(1).term > 2)).toBe(true);
  });
});
