import { afterEach, describe, expect, it } from "vitest";
import type { StateMachine } from "../../../framework/statemachine/index.js";
import { createManualClock } from "../../../framework/transport/index.js";
import { HostCluster } from "./host-cluster.js";
import { createKvStateMachine } from "./kv-state-machine.js";
import type { VirtualCpu } from "./virtual-turns.js";
import { drive, turnsUntil } from "./virtual-turns.js";

/**
 * A loaded box, deterministically (issue #8, overload): three hosts share one
 * virtual CPU. Time moves only between macrotask turns: each turn costs one
 * tick plus the CPU its state machine applies used — 200 ms per MiB of
 * commands, a node getting a small share of a busy 2-core machine. Timers
 * due meanwhile fire together after the turn, before any message sent then
 * is delivered: exactly what a blocked event loop does to a follower's
 * election timer and a leader's heartbeats. No wall-clock timer decides
 * anything here.
 */
const tickMs = 100;
const applyMsPerMiB = 200;
const mebibyte = 1 << 20;

/** The KV machine; each apply costs virtual CPU in proportion to its bytes. */
function costedMachine(cpu: VirtualCpu, largest: { bytes: number }): StateMachine {
  const inner = createKvStateMachine();
  return {
    ...inner,
    apply(commands) {
      let bytes = 0;
      for (const command of commands) bytes += command.data.byteLength;
      largest.bytes = Math.max(largest.bytes, bytes);
      cpu.debtMs += (bytes / mebibyte) * applyMsPerMiB;
      return inner.apply(commands);
    },
  };
}

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

describe("a node applying a large backlog on a starved CPU (issue #8, overload)", () => {
  it("keeps every group's leader: the backlog is applied in slices, ticks run between them", async () => {
    const cpu: VirtualCpu = { clock: createManualClock(1_000_000), tickMs, debtMs: 0, longestTurnMs: 0 };
    const largest = { bytes: 0 };
    const config = { tickIntervalMs: tickMs, electionTicks: 10, heartbeatTicks: 1, requestTimeoutMs: 3_600_000 };
    cluster = new HostCluster([1, 2, 3], config, undefined, cpu.clock);
    const hosts = cluster.hosts;
    for (const groupId of [1, 2]) {
      for (const id of [1, 2, 3]) {
        await drive(cpu, cluster.startCustomReplica(id, groupId, [1, 2, 3], costedMachine(cpu, largest)), "start");
      }
    }
    await turnsUntil(cpu, () => cluster!.leaderOf(1) !== undefined, "a leader of group 1");
    const leaderId = cluster.leaderOf(1)!;
    const leader = hosts.get(leaderId)!;
    // Group 2 idles on the same leader: its heartbeats must not starve behind group 1's applies.
    await turnsUntil(cpu, () => cluster!.leaderOf(2) !== undefined, "a leader of group 2");
    if (cluster.leaderOf(2) !== leaderId) {
      hosts.get(cluster.leaderOf(2)!)!.transferLeadership(2, leaderId);
      await turnsUntil(cpu, () => cluster!.leaderOf(2) === leaderId, "group 2 led by the same node");
    }
    await drive(cpu, leader.propose(2, new TextEncoder().encode("set idle 1")), "a write to group 2");
    const before = [1, 2].map((groupId) => [...hosts.values()].map((host) => host.status(groupId).term));
    cpu.longestTurnMs = 0;

    // 32 commands of 512 KiB, proposed at once: 16 MiB of log to commit and apply on every node.
    const value = "x".repeat(512 * 1024);
    const writes = Array.from({ length: 32 }, (_, i) =>
      leader.propose(1, new TextEncoder().encode(`set k${i} ${value}`)));
    await drive(cpu, Promise.all(writes), "the 32 large writes");
    const appliedEverywhere = () =>
      [...hosts.values()].every((host) => host.status(1).appliedByStateMachine >= leader.status(1).commit);
    await turnsUntil(cpu, appliedEverywhere, "every replica applied the backlog");

    const after = [1, 2].map((groupId) => [...hosts.values()].map((host) => host.status(groupId).term));
    expect(after).toEqual(before);
    expect(cluster.leaderOf(1)).toBe(leaderId);
    expect(cluster.leaderOf(2)).toBe(leaderId);
    // The mechanism: one apply call gets ≤ 1 MiB (two 512 KiB entries), so no turn of the
    // shared CPU outlasts an election timeout (3 nodes × 200 ms + one tick < 1,000 ms).
    expect(largest.bytes).toBeLessThanOrEqual(mebibyte + 1024);
    expect(cpu.longestTurnMs).toBeLessThan(10 * tickMs);
  }, 120_000);
});
