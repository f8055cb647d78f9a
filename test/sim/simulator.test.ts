import { describe, expect, it } from "vitest";
import type { RaftNode, Ready } from "../../framework/raft/index.js";
import { EntryType } from "../../framework/raft/index.js";
import { formatSummary, runBatch } from "./batch.js";
import { faultMixNames } from "./fault-mix.js";
import { replayCommand, parseCliOptions } from "./cli-options.js";
import type { RaftCore } from "./raft-core.js";
import { raftCore } from "./raft-core.js";
import type { SimulationResult } from "./simulator.js";
import { runSimulation } from "./simulator.js";

const cliDefaults = parseCliOptions([]);

function failures(results: readonly SimulationResult[]): string[] {
  return results
    .filter((result) => result.violations.length > 0)
    .map(
      (result) =>
        `${replayCommand(result.seed, result.nodes, cliDefaults)}: ${result.violations[0]}`,
    );
}

describe("deterministic cluster simulator", () => {
  it("runs 200 seeds (3 and 5 nodes, every mix) with no violation, exercising everything", () => {
    const results: SimulationResult[] = [];
    const three = runBatch({
      firstSeed: 1,
      seeds: 100,
      nodes: [3],
      onResult: (result) => results.push(result),
    });
    const five = runBatch({
      firstSeed: 101,
      seeds: 100,
      nodes: [5],
      onResult: (result) => results.push(result),
    });
    expect(failures(results)).toEqual([]);
    expect(three.violations + five.violations).toBe(0);
    expect(formatSummary(three)).toMatch(/violations: 0 trace: [0-9a-f]{64}/);
    for (const name of faultMixNames)
      expect((three.mixes[name] ?? 0) + (five.mixes[name] ?? 0)).toBeGreaterThan(0);
    const total = (name: string): number => (three.totals[name] ?? 0) + (five.totals[name] ?? 0);
    for (const name of [
      "elections",
      "crashes",
      "restarts",
      "unsyncedWritesLost",
      "unsyncedHardStatesLost",
      "snapshotsInstalled",
      "compactions",
      "confChangesApplied",
      "simpleChanges",
      "jointChanges",
      "explicitLeaves",
      "transfers",
      "campaigns",
      "partitions",
      "oneWayPartitions",
      "heals",
      "pauses",
      "targetedIsolations",
      "targetedCrashes",
      "crashesDuringFsync",
      "staleLeaderEpisodes",
      "clockStalls",
      "messagesDropped",
      "messagesDuplicated",
      "writesOk",
      "writesFailed",
      "readsOk",
      "timeouts",
    ]) {
      expect({ name, value: total(name) }).toEqual({ name, value: expect.any(Number) });
      expect(total(name), name).toBeGreaterThan(0);
    }
    // Most elections happen under faults: far more than one per run.
    expect(total("elections")).toBeGreaterThan(results.length);
  }, 300_000);

  it("replays a seed to the same trace hash, history and counters", () => {
    const first = runSimulation({ seed: 4242, nodes: 5 });
    const again = runSimulation({ seed: 4242, nodes: 5 });
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.counters).toEqual(first.counters);
    expect(again.history).toEqual(first.history);
    expect(runSimulation({ seed: 4243, nodes: 5 }).traceHash).not.toBe(first.traceHash);
    expect(runSimulation({ seed: 4242, nodes: 3 }).traceHash).not.toBe(first.traceHash);
  });

  it("rejects a group size or seed it cannot run, naming it", () => {
    expect(() => runSimulation({ seed: 1, nodes: 4 })).toThrow(/nodes = 4, allowed 3 or 5/);
    expect(() => runSimulation({ seed: -1, nodes: 3 })).toThrow(/seed = -1/);
  });
});

/** Wraps the real core so that every Ready passes through `mutate` first. */
function coreWithBrokenReady(mutate: (ready: Ready) => Ready): RaftCore {
  return {
    ...raftCore,
    createRaftNode(config): RaftNode {
      const node = raftCore.createRaftNode(config);
      return {
        id: node.id,
        tick: () => node.tick(),
        step: (message) => node.step(message),
        propose: (data) => node.propose(data),
        proposeConfChange: (change) => node.proposeConfChange(change),
        readIndex: (context) => node.readIndex(context),
        transferLeadership: (to) => node.transferLeadership(to),
        campaign: () => node.campaign(),
        forgetLeader: () => node.forgetLeader(),
        resumeTicking: () => node.resumeTicking(),
        takeHeartbeats: () => node.takeHeartbeats(),
        applyConfChange: (change) => node.applyConfChange(change),
        reportUnreachable: (id) => node.reportUnreachable(id),
        reportSnapshot: (id, status) => node.reportSnapshot(id, status),
        hasReady: () => node.hasReady(),
        ready: () => mutate(node.ready()),
        advance: (ready) => node.advance(ready),
        settled: (applied) => node.settled(applied),
        status: () => node.status(),
      };
    },
  };
}

describe("the simulator catches a broken core", () => {
  const runMany = (
    core: RaftCore,
    mix: "crashes" | "lossy" | "calm",
    seeds: number,
  ): SimulationResult[] =>
    Array.from({ length: seeds }, (_, index) =>
      runSimulation({ seed: index + 1, nodes: 3, mix, core }),
    );

  it("reports lost entries from a core that acknowledges appends before they are durable", () => {
    const hasty = coreWithBrokenReady((ready) => ({
      ...ready,
      messages: [...ready.messages, ...ready.messagesAfterPersist],
      messagesAfterPersist: [],
    }));
    // The core's own assertions ("commit beyond last index") fire first; the run reports them.
    const found = runMany(hasty, "crashes", 20).flatMap((result) => result.violations);
    expect(found.length).toBeGreaterThan(0);
  });

  it("reports state machine divergence when one node's committed entries are corrupted", () => {
    const encoder = new TextEncoder();
    const corrupt = (id: number): RaftCore => ({
      ...raftCore,
      createRaftNode(config) {
        const node = coreWithBrokenReady((ready) => ({
          ...ready,
          committedEntries: ready.committedEntries.map((entry) =>
            entry.index % 7 === 0 && entry.data.byteLength > 0 && entry.type === EntryType.Normal
              ? { ...entry, data: encoder.encode("w\tx\tk0\tcorrupt") }
              : entry,
          ),
        })).createRaftNode(config);
        return config.id === id ? node : raftCore.createRaftNode(config);
      },
    });
    const found = runMany(corrupt(2), "calm", 3).flatMap((result) => result.violations);
    expect(found.some((violation) => violation.startsWith("state machine safety"))).toBe(true);
  });

  it("reports stale reads from a core that answers ReadIndex with index 0", () => {
    const stale = coreWithBrokenReady((ready) => ({
      ...ready,
      readStates: ready.readStates.map((readState) => ({ ...readState, index: 0 })),
    }));
    const found = runMany(stale, "calm", 20).flatMap((result) => result.violations);
    expect(found.some((violation) => violation.startsWith("linearizability:"))).toBe(true);
  });
});
