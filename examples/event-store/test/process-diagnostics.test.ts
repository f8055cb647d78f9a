import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startProcessDiagnostics } from "../node/process-diagnostics.js";
import type { DiagnosticsSample, ProcessDiagnostics } from "../node/process-diagnostics.js";
import {
  busiestProcesses, processWindow, readMachine, readProcess, startCoreSampler, startSpeedProbe,
} from "../start/process-sampler.js";
import type { ProcessReading } from "../start/process-sampler.js";

const waitFor = async (condition: () => boolean, what: string): Promise<void> => {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe("process diagnostics (the benchmark's DIAG=1)", () => {
  const started: ProcessDiagnostics[] = [];
  const directories: string[] = [];
  afterEach(() => {
    for (const diagnostics of started.splice(0)) diagnostics.stop();
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  it("refuses a period below 10 ms", () => {
    expect(() => startProcessDiagnostics({ periodMs: 5 })).toThrow(RangeError);
  });

  it("counts CPU, the caller's counters and young-generation collections", async () => {
    let calls = 0;
    const diagnostics = startProcessDiagnostics({ extra: () => ({ calls }) });
    started.push(diagnostics);
    const before = diagnostics.sample();
    calls = 7;
    // Short-lived garbage until a scavenge was observed (the observer reports after the collection).
    let kept: number[][] = [];
    await waitFor(() => {
      for (let round = 0; round < 20_000; round++) kept = [[round, round + 1]];
      return (diagnostics.sample().gc["1"]?.[0] ?? 0) > (before.gc["1"]?.[0] ?? 0);
    }, "a scavenge");
    const after = diagnostics.sample();
    expect(kept.length).toBe(1);
    expect(after.extra["calls"]).toBe(7);
    expect(after.cpuUserMicros + after.cpuSystemMicros).toBeGreaterThan(before.cpuUserMicros + before.cpuSystemMicros);
    expect(after.atMs).toBeGreaterThan(before.atMs);
    expect(after.voluntarySwitches + after.involuntarySwitches).toBeGreaterThanOrEqual(before.voluntarySwitches + before.involuntarySwitches);
    const [count, pauseMs] = after.gc["1"]!;
    expect(count).toBeGreaterThan(0);
    expect(pauseMs).toBeGreaterThanOrEqual(0);
  });

  it("appends one JSON sample per period to its file until stopped", async () => {
    const directory = mkdtempSync(join(tmpdir(), "diag-test-"));
    directories.push(directory);
    const path = join(directory, "n1.diag");
    const diagnostics = startProcessDiagnostics({ path, periodMs: 20, extra: () => ({ proposals: 3 }) });
    started.push(diagnostics);
    const lines = (): string[] => {
      try {
        return readFileSync(path, "utf8").split("\n").filter((line) => line !== "");
      } catch {
        return [];
      }
    };
    await waitFor(() => lines().length >= 3, "three samples");
    diagnostics.stop();
    const written = lines().length;
    const samples = lines().map((line) => JSON.parse(line) as DiagnosticsSample);
    expect(samples.every((sample) => sample.extra["proposals"] === 3)).toBe(true);
    expect(samples[1]!.atMs).toBeGreaterThan(samples[0]!.atMs);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines().length).toBe(written);
  });
});

describe("process sampler (/proc readings of a local cluster)", () => {
  const reading = (ticks: [number, number][], switches: number): ProcessReading => ({
    threadTicks: new Map(ticks), threadSystemTicks: new Map(ticks.map(([tid, count]) => [tid, Math.floor(count / 2)])),
    voluntarySwitches: switches, involuntarySwitches: 2 * switches, migrations: switches,
    readCalls: 10 * switches, writeCalls: 5 * switches, writeBytes: 4096 * switches, minorFaults: switches,
    majorFaults: 0, runNanos: 1e6 * switches, waitNanos: 1e5 * switches,
  });

  it("takes a window's differences, the main thread first, idle threads left out", () => {
    const window = processWindow(100, reading([[100, 10], [101, 5], [102, 7]], 1), reading([[100, 14], [101, 5], [102, 16], [103, 2]], 3));
    expect(window.ticks).toBe(4 + 9 + 2);
    expect(window.threads).toEqual([[100, 4], [102, 9], [103, 2]]);
    expect(window.mainSystemTicks).toBe(7 - 5);
    expect(window.otherSystemTicks).toBe((2 - 2) + (8 - 3) + 1);
    expect(window.voluntarySwitches).toBe(2);
    expect(window.involuntarySwitches).toBe(4);
    expect(window.writeCalls).toBe(10);
    expect(window.writeBytes).toBe(8192);
    expect(window.runNanos).toBe(2e6);
  });

  it("names the busiest other processes of a window", () => {
    const before = new Map([[1, { name: "a", ticks: 10 }], [2, { name: "b", ticks: 10 }], [3, { name: "bench", ticks: 0 }]]);
    const after = new Map([[1, { name: "a", ticks: 12 }], [2, { name: "b", ticks: 40 }], [3, { name: "bench", ticks: 90 }],
      [4, { name: "new", ticks: 5 }]]);
    expect(busiestProcesses(before, after, [3], 2)).toEqual(["b(2) 30", "new(4) 5"]);
  });

  it.runIf(process.platform === "linux")("reads this process, the machine and the core it runs on", async () => {
    const own = readProcess(process.pid);
    expect(own).toBeDefined();
    expect(own!.threadTicks.has(process.pid)).toBe(true);
    expect(own!.runNanos).toBeGreaterThan(0);
    expect(readProcess(-1)).toBeUndefined();
    const machine = readMachine()!;
    expect(machine.busy + machine.idle).toBeGreaterThan(0);
    const cores = startCoreSampler([process.pid], 10);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const seen = cores.stop().get(process.pid)!;
    expect([...seen.perCore.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
  });

  it("times its probe's fixed work", async () => {
    const probe = startSpeedProbe(10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const speed = probe.stop();
    expect(speed.samples).toBeGreaterThan(0);
    expect(speed.aluNanos).toBeGreaterThan(0);
    expect(speed.memoryNanos).toBeGreaterThan(0);
  });
});
