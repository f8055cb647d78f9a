import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../../../framework/cli/program.js";
import { resolveStartSettings } from "../../../framework/cli/start-settings.js";

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "raftkit-cli-"));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function run(args: readonly string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const code = await runProgram(args, {
    stdout: () => {},
    stderr: (text) => (stderr += text),
    stopRequested: () => new Promise(() => {}),
  });
  return { code, stderr };
}

const valid = ["start", "--id", "n1", "--listen", "127.0.0.1:7001", "--data", "/tmp/never-used"];

describe("raftkit start: every bad flag exits 2 naming it", () => {
  const cases: Array<[string, string[], RegExp]> = [
    ["node name", ["--id", "x1"], /--id: node name "x1", allowed n<id>/],
    ["node zero", ["--id", "n0"], /--id: node name "n0"/],
    ["listen", ["--listen", "localhost"], /--listen: address "localhost", allowed host:port/],
    ["listen port", ["--listen", "127.0.0.1:70000"], /--listen: address "127.0.0.1:70000"/],
    ["peers syntax", ["--peers", "n2:127.0.0.1:7002"], /--peers: "n2:127.0.0.1:7002", allowed name=host:port/],
    ["peer name", ["--peers", "node2=127.0.0.1:7002"], /--peers: node name "node2"/],
    ["peer is self", ["--peers", "n1=127.0.0.1:7002"], /--peers: lists this node n1 itself/],
    ["peer twice", ["--peers", "n2=127.0.0.1:7002,n2=127.0.0.1:7003"], /--peers: node n2 listed twice/],
    ["groups", ["--groups", "5-1"], /--groups: "5-1", allowed a group id ≥ 1 or a range/],
    ["groups zero", ["--groups", "0"], /--groups: "0"/],
    ["integer", ["--tick-ms", "fast"], /--tick-ms: "fast", allowed an integer in 1 … 60000/],
    ["range", ["--election-ticks", "1"], /--election-ticks: "1", allowed an integer in 2/],
    ["combination", ["--election-ticks", "3", "--heartbeat-ticks", "3"], /--election-ticks\/--heartbeat-ticks.*electionTicks = 3/],
    ["proposal vs frame", ["--max-proposal-bytes", "4194304"], /--max-proposal-bytes: 4194304, allowed ≤ --max-frame-bytes/],
    ["log level", ["--log-level", "loud"], /--log-level.*loud/],
    ["unknown flag", ["--bogus", "1"], /unknown option '--bogus'/],
    ["missing value", ["--data"], /option '--data <dir>' argument missing/],
  ];
  for (const [name, flags, message] of cases) {
    it(name, async () => {
      const { code, stderr } = await run([...valid, ...flags]);
      expect(stderr).toMatch(message);
      expect(code).toBe(2);
    });
  }

  it("requires --id, --listen and --data", async () => {
    for (const missing of ["--id", "--listen", "--data"]) {
      const index = valid.indexOf(missing);
      const args = valid.filter((_, i) => i !== index && i !== index + 1);
      const { code, stderr } = await run(args);
      expect([code, stderr]).toEqual([2, expect.stringContaining(`${missing} is required`)]);
    }
  });

  it("names the config key of a bad config file value, an unknown key, and broken JSON", async () => {
    const file = join(directory, "bad.json");
    await writeFile(file, JSON.stringify({ id: "n1", listen: "127.0.0.1:7001", data: "/x", tickMs: -5 }));
    expect(await run(["start", "--config", file])).toEqual({ code: 2, stderr: expect.stringMatching(/config "tickMs": -5, allowed an integer/) });
    await writeFile(file, JSON.stringify({ id: "n1", listen: "127.0.0.1:7001", data: "/x", tick: 5 }));
    expect(await run(["start", "--config", file])).toEqual({ code: 2, stderr: expect.stringMatching(/config "tick" in .*unknown key/) });
    await writeFile(file, "{ nope");
    expect(await run(["start", "--config", file])).toEqual({ code: 2, stderr: expect.stringMatching(/--config .*bad\.json: .*JSON/) });
    expect(await run(["start", "--config", join(directory, "missing.json")])).toEqual({
      code: 2,
      stderr: expect.stringMatching(/--config .*missing\.json: ENOENT/),
    });
  });

  it("cluster status refuses a bad address with exit 2", async () => {
    expect(await run(["cluster", "status", "--node", "localhost/7001"])).toEqual({
      code: 2,
      stderr: expect.stringMatching(/--node: "localhost\/7001", allowed a base URL/),
    });
  });
});

describe("start settings", () => {
  it("reads the cluster manager's flags (join, switch, timings, move limits)", () => {
    const base = { id: "n4", listen: "127.0.0.1:7004", data: "/tmp/x" };
    const settings = resolveStartSettings({
      ...base,
      join: "127.0.0.1:7001,127.0.0.1:7002",
      clusterManager: "on",
      metaVoters: "5",
      deadAfterMs: "4000",
      maxBalanceMoves: "3",
      leaderSlack: "2",
    }, {});
    expect(settings.node.cluster).toMatchObject({
      enabled: true,
      join: ["127.0.0.1:7001", "127.0.0.1:7002"],
      metaVoters: 5,
      suspectAfterMs: 3_000,
      deadAfterMs: 4_000,
      limits: { maxBalanceMoves: 3, maxConcurrentMoves: 4, leaderSlack: 2 },
    });
    expect(resolveStartSettings(base, {}).node.cluster?.limits?.leaderSlack ?? 0).toBe(0);
    // The controller's guards (leader settling, rejoin gap) and the learner stall time.
    const guards = resolveStartSettings({
      ...base, leaderSettleMs: "0", rejoinAfterMs: "5000", learnerStallMs: "20000",
    }, {});
    expect(guards.node.cluster).toMatchObject({ leaderSettleMs: 0, rejoinAfterMs: 5_000, learnerStallMs: 20_000 });
    expect(resolveStartSettings(base, {}).node.cluster).toMatchObject({
      leaderSettleMs: 10_000, rejoinAfterMs: 30_000, learnerStallMs: 60_000,
    });
    expect(() => resolveStartSettings({ ...base, leaderSettleMs: "-5" }, {})).toThrow(/--leader-settle-ms: "-5"/);
    expect(() => resolveStartSettings({ ...base, learnerStallMs: "0" }, {})).toThrow(/--learner-stall-ms: "0"/);
    expect(() => resolveStartSettings({ ...base, leaderSlack: "-1" }, {})).toThrow(/--leader-slack/);
    expect(resolveStartSettings(base, {}).node.cluster?.enabled).toBeUndefined();
    expect(() => resolveStartSettings({ ...base, clusterManager: "yes" }, {})).toThrow(/--cluster-manager: "yes", allowed on, off/);
    expect(() => resolveStartSettings({ ...base, join: "7001" }, {})).toThrow(/--join: address "7001"/);
    expect(() => resolveStartSettings({ ...base, metaVoters: "2" }, {})).toThrow(/--meta-voters: 2, allowed 1, 3, 5/);
    expect(() => resolveStartSettings({ ...base, deadAfterMs: "2000" }, {})).toThrow(/< --dead-after-ms 2000 is required/);
  });

  it("reads flags, a config file, and lets flags win", () => {
    const settings = resolveStartSettings(
      { id: "n2", tickMs: "20", groups: "1-3,7" },
      { id: "n9", listen: "0.0.0.0:7002", data: "/d", peers: { n1: "127.0.0.1:7001", n3: "127.0.0.1:7003" }, electionTicks: 15 },
    );
    expect(settings.node).toMatchObject({
      nodeId: 2,
      listenHost: "0.0.0.0",
      listenPort: 7002,
      dataDirectory: "/d",
      groups: [1, 2, 3, 7],
      stateMachine: "kv",
      host: { tickIntervalMs: 20, electionTicks: 15, heartbeatTicks: 1, quiesceAfterTicks: 30 },
    });
    expect([...settings.node.peers]).toEqual([[1, "127.0.0.1:7001"], [3, "127.0.0.1:7003"]]);
    expect(settings.logLevel).toBe("info");
  });
});
