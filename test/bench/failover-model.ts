/**
 * Failover in ticks, with the machine's load taken out: three NodeHosts in
 * one process on the in-memory network of the host unit tests, time on a
 * manual clock (100 ms ticks, election timeout 10 ticks, heartbeat 1 tick as
 * in bench:cluster). Trial k elects leaders for `groups` + k - 1 groups, cuts off
 * the node leading most of them (as a SIGKILL would, without the process
 * dying), and counts ticks until each of its groups has committed a new
 * write on a survivor. Two ways, same trials:
 *   - timeouts only (the baseline: what raft does with pre-vote and
 *     check-quorum when nothing tells the followers the leader is gone);
 *   - with the transport's hint: each survivor's NodeHost.onPeerDisconnected,
 *     one at once and the other 0–2 ticks later (unequal detection).
 *
 *   npx tsx test/bench/failover-model.ts [trials=6] [groups=32]
 */
import { Role } from "../../framework/raft/index.js";
import { createManualClock } from "../../framework/transport/index.js";
import type { ManualClock } from "../../framework/transport/index.js";
import { bytes, HostCluster } from "../unit/host/host-cluster.js";

const trials = Number(process.argv[2] ?? 6);
const groups = Number(process.argv[3] ?? 32);
const tickMs = 100;
const electionTicks = 10;

async function settle(): Promise<void> {
  for (let turn = 0; turn < 30; turn++) await new Promise((resolve) => setImmediate(resolve));
}

async function tick(clock: ManualClock): Promise<void> {
  clock.advance(tickMs);
  await settle();
}

/** Ticks from the cut until each victim group committed a write on a survivor. */
async function trial(seed: number, hints: boolean): Promise<number[]> {
  const clock = createManualClock();
  const cluster = new HostCluster([1, 2, 3], { tickIntervalMs: tickMs, electionTicks, heartbeatTicks: 1 }, undefined, clock);
  try {
    // One more group per trial: the hosts' seeded randomness then plays out differently.
    const groupIds = Array.from({ length: groups + seed - 1 }, (_, i) => i + 1);
    for (const groupId of groupIds) await cluster.startGroup(groupId);
    for (let ticks = 0; groupIds.some((g) => cluster.leaderOf(g) === undefined); ticks++) {
      if (ticks > 100 * electionTicks) throw new Error("no leaders after 100 election timeouts");
      await tick(clock);
    }
    // A trial-dependent phase between the last heartbeat and the cut.
    for (let i = 0; i < seed % electionTicks; i++) await tick(clock);
    const leaders = new Map(groupIds.map((g) => [g, cluster.leaderOf(g)!]));
    const counts = [1, 2, 3].map((id) => [...leaders.values()].filter((leader) => leader === id).length);
    const victim = counts.indexOf(Math.max(...counts)) + 1;
    const victimGroups = groupIds.filter((g) => leaders.get(g) === victim);
    const survivors = [1, 2, 3].filter((id) => id !== victim);
    cluster.network.isolate(victim);
    const lateBy = seed % 3;
    if (hints) cluster.hosts.get(survivors[0]!)!.onPeerDisconnected(victim);
    const resumed = new Map<number, number>();
    const proposing = new Set<number>();
    for (let ticks = 0; resumed.size < victimGroups.length; ticks++) {
      if (ticks > 50 * electionTicks) throw new Error(`trial ${seed}: groups without a leader after 50 timeouts`);
      if (hints && ticks === lateBy) cluster.hosts.get(survivors[1]!)!.onPeerDisconnected(victim);
      for (const groupId of victimGroups) {
        const leader = survivors.find((id) => cluster.hosts.get(id)!.status(groupId).role === Role.Leader);
        if (leader === undefined || proposing.has(groupId)) continue;
        proposing.add(groupId);
        const startedAt = ticks;
        cluster.hosts.get(leader)!.propose(groupId, bytes(`set after ${seed}`)).then(
          () => resumed.set(groupId, Math.max(startedAt, ticks)),
          () => proposing.delete(groupId),
        );
      }
      await tick(clock);
    }
    return [...resumed.values()];
  } finally {
    await cluster.stopAll();
  }
}

function summary(name: string, ticks: number[]): string {
  const sorted = [...ticks].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  const inTimeouts = (value: number): string => `${(value / electionTicks).toFixed(2)}×`;
  return `${name}: ${sorted.length} group failovers, ticks to the first new commit: ` +
    `median ${at(0.5)} (${inTimeouts(at(0.5))} the election timeout), p90 ${at(0.9)} (${inTimeouts(at(0.9))}), ` +
    `max ${sorted.at(-1)} (${inTimeouts(sorted.at(-1)!)})`;
}

async function main(): Promise<void> {
  const baseline: number[] = [];
  const hinted: number[] = [];
  for (let seed = 1; seed <= trials; seed++) {
    baseline.push(...(await trial(seed, false)));
    const hintedTrial = await trial(seed, true);
    if (process.env["FAILOVER_DEBUG"] === "1") console.log(`trial ${seed}: ${hintedTrial.sort((a, b) => a - b).join(" ")}`);
    hinted.push(...hintedTrial);
  }
  console.log(`failover model: 3 NodeHosts, ${groups} groups, ${trials} trials, election timeout ${electionTicks} ticks`);
  console.log(summary("  timeouts only (baseline)", baseline));
  console.log(summary("  with onPeerDisconnected hints", hinted));
}

await main();
