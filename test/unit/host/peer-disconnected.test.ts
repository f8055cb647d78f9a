/**
 * NodeHost.onPeerDisconnected: followers of a leader whose node's stream broke
 * forget it and campaign within electionTicks/2 ticks. Ticks are counted on
 * an injected manual clock, so no wall-clock timing decides these tests.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Role } from "../../../framework/raft/index.js";
import { createManualClock } from "../../../framework/transport/index.js";
import { bytes, HostCluster } from "./host-cluster.js";

const tickMs = 10;
const electionTicks = 40;
let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/** Advances one tick at a time (letting the hosts' loops run) until `done` or `limit` ticks. */
async function ticksUntil(clock: ReturnType<typeof createManualClock>, done: () => boolean, limit: number): Promise<number> {
  for (let ticks = 0; ticks <= limit; ticks++) {
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    if (done()) return ticks;
    clock.advance(tickMs);
  }
  return Number.POSITIVE_INFINITY;
}

async function electedCluster(): Promise<{ clock: ReturnType<typeof createManualClock>; leader: number }> {
  const clock = createManualClock();
  cluster = new HostCluster([1, 2, 3], { tickIntervalMs: tickMs, electionTicks, heartbeatTicks: 2 }, undefined, clock);
  await cluster.startGroup(1);
  const elected = await ticksUntil(clock, () => cluster!.leaderOf(1) !== undefined, 4 * electionTicks);
  expect(elected).toBeLessThan(4 * electionTicks);
  const leader = cluster.leaderOf(1)!;
  await cluster.hosts.get(leader)!.propose(1, bytes("set a 1")).then(() => undefined, () => undefined);
  await ticksUntil(clock, () => [1, 2, 3].every((id) => cluster!.hosts.get(id)!.status(1).leader === leader), 10);
  return { clock, leader };
}

describe("NodeHost.onPeerDisconnected", () => {
  it("when the leader's node is gone and both followers hear it, a new leader is elected within electionTicks/2 ticks", async () => {
    const { clock, leader } = await electedCluster();
    const term = cluster!.hosts.get(leader)!.status(1).term;
    cluster!.network.isolate(leader);
    const survivors = [1, 2, 3].filter((id) => id !== leader);
    for (const id of survivors) cluster!.hosts.get(id)!.onPeerDisconnected(leader);
    for (const id of survivors) expect(cluster!.hosts.get(id)!.status(1).leader).toBe(0);
    const newLeader = (): number | undefined =>
      survivors.find((id) => cluster!.hosts.get(id)!.status(1).role === Role.Leader);
    // Any election by timeout needs at least electionTicks ticks of silence.
    const ticks = await ticksUntil(clock, () => newLeader() !== undefined, electionTicks);
    expect(ticks).toBeLessThanOrEqual(electionTicks / 2);
    expect(cluster!.hosts.get(newLeader()!)!.status(1).term).toBe(term + 1);
  });

  it("a survivor that hears the hint late still gets a leader elected before any election timeout", async () => {
    const { clock, leader } = await electedCluster();
    cluster!.network.isolate(leader);
    const [early, late] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
    cluster!.hosts.get(early)!.onPeerDisconnected(leader);
    // The early one's first turns fail: the late one is still inside the dead leader's lease.
    const gap = Math.floor(electionTicks / 3);
    await ticksUntil(clock, () => false, 2 * gap);
    expect([early, late].every((id) => cluster!.hosts.get(id)!.status(1).role !== Role.Leader)).toBe(true);
    cluster!.hosts.get(late)!.onPeerDisconnected(leader);
    const newLeader = (): boolean => [early, late].some((id) => cluster!.hosts.get(id)!.status(1).role === Role.Leader);
    const ticks = await ticksUntil(clock, () => newLeader(), electionTicks);
    expect(2 * gap + ticks).toBeLessThan(electionTicks);
  });

  it("a false hint about a live leader changes nothing: it keeps leading in its term", async () => {
    const { clock, leader } = await electedCluster();
    const term = cluster!.hosts.get(leader)!.status(1).term;
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    cluster!.hosts.get(follower)!.onPeerDisconnected(leader);
    await ticksUntil(clock, () => false, electionTicks);
    for (const id of [1, 2, 3]) {
      expect(cluster!.hosts.get(id)!.status(1).term).toBe(term);
      expect(cluster!.hosts.get(id)!.status(1).leader).toBe(leader);
    }
  });

  it("a hint about a node that leads nothing here, or about this node, changes nothing", async () => {
    const { leader } = await electedCluster();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    const other = [1, 2, 3].find((id) => id !== leader && id !== follower)!;
    cluster!.hosts.get(follower)!.onPeerDisconnected(other);
    cluster!.hosts.get(follower)!.onPeerDisconnected(follower);
    cluster!.hosts.get(leader)!.onPeerDisconnected(follower);
    expect(cluster!.hosts.get(follower)!.status(1).leader).toBe(leader);
    expect(cluster!.hosts.get(leader)!.status(1).role).toBe(Role.Leader);
  });
});
