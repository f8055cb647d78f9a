import { describe, expect, it } from "vitest";
import { runHostBatch } from "./host-batch.js";
import { runHostSimulation } from "./host-simulator.js";
import type { HostSimulationResult } from "./host-simulator.js";

const describeFailure = (result: HostSimulationResult): string =>
  `seed ${result.seed} (${result.mix}): ${result.violations.join("\n")}\n` +
  result.traceTail.join("\n");

describe("NodeHost in the deterministic simulator", () => {
  it("runs every fault mix, with and without quiescence, without a violation", async () => {
    const failures: string[] = [];
    const durable = new Set<boolean>();
    const frameworkStores = new Set<boolean>();
    // Seeds 1-24: each of the six mixes four times, quiescence on in seeds 1-5, 12-17 and 24.
    const summary = await runHostBatch({
      firstSeed: 1,
      seeds: 24,
      onResult: (result) => {
        durable.add(result.durableMachines);
        frameworkStores.add(result.frameworkStores);
        if (result.violations.length > 0) failures.push(describeFailure(result));
      },
    });
    expect(failures).toEqual([]);
    expect(summary.violations).toBe(0);
    // Restarts rebuilt from snapshot and log, and restarts from a state machine's own index.
    expect([...durable].sort()).toEqual([false, true]);
    // The modelled disk, and framework/storage's real stores on the simulated file system.
    expect([...frameworkStores].sort()).toEqual([false, true]);
    expect(Object.keys(summary.mixes).sort()).toEqual([
      "calm",
      "chaos",
      "crashes",
      "lossy",
      "membership",
      "partitions",
    ]);
    const totals = summary.totals;
    // What the brief asks to exercise must have happened, not just been possible.
    for (const counter of [
      "crashes",
      "restarts",
      "unsyncedWritesLost",
      "partitions",
      "joins",
      "confChangesApplied",
      "transfers",
      "snapshotFiles",
      "snapshotsDelivered",
      "quiescedGroupTicks",
      "writesOk",
      "writesIndeterminate",
      "readsOk",
    ]) {
      expect(totals[counter] ?? 0, counter).toBeGreaterThan(0);
    }
  }, 300_000); // ~10 s quiet; 75-180 s at load 25-33 in session 5's loops

  it("a local snapshot holds exactly the commands up to its index while later Readies apply (several in flight)", async () => {
    // Seed 522 (4 nodes, 12 groups, calm, framework stores): before NodeHost took its snapshots
    // between two Readies' applies, node 2's group 12 wrote "snapshot at 9 holds commands up to 11".
    const result = await runHostSimulation({ seed: 522 });
    expect(result.violations, describeFailure(result)).toEqual([]);
  }, 180_000);

  it("replays a seed exactly: same seed, same trace hash; another seed, another hash", async () => {
    const first = await runHostSimulation({ seed: 5, groups: 6 });
    const again = await runHostSimulation({ seed: 5, groups: 6 });
    const other = await runHostSimulation({ seed: 6, groups: 6 });
    expect(first.violations).toEqual([]);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.counters).toEqual(first.counters);
    expect(other.traceHash).not.toBe(first.traceHash);
  }, 180_000);

  it("catches disks that acknowledge writes before they are durable", async () => {
    for (const seed of [1, 2, 3]) {
      const result = await runHostSimulation({
        seed,
        mix: "crashes",
        groups: 5,
        lyingDisks: true,
        frameworkStores: false,
      });
      expect(result.counters["crashes"] ?? 0).toBeGreaterThan(0);
      expect(result.violations.length, `seed ${seed}`).toBeGreaterThan(0);
    }
  }, 180_000);

  it("rejects bad options with what was wrong", async () => {
    await expect(runHostSimulation({ seed: -1 })).rejects.toThrow(/seed = -1/);
    await expect(runHostSimulation({ seed: 1, nodes: 6 })).rejects.toThrow(
      /nodes = 6, allowed 3, 4 or 5/,
    );
    await expect(runHostSimulation({ seed: 1, groups: 0 })).rejects.toThrow(/groups = 0/);
  });
});
