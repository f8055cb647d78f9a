import { describe, expect, it } from "vitest";
import type { NodeId, RaftStatus } from "../../framework/raft/index.js";
import { Role } from "../../framework/raft/index.js";
import { CliUsageError, parseCliOptions, replayCommand } from "./cli-options.js";
import { createHistoryRecorder, historyToJson } from "./history.js";
import { isDemotedVoterStall } from "./known-stalls.js";

describe("sim command line", () => {
  it("defaults to 100 seeds from 1 on 3- and 5-node groups; --seed alone replays one seed", () => {
    expect(parseCliOptions([])).toMatchObject({ seed: 1, seeds: 100, nodes: [3, 5], trace: false });
    expect(parseCliOptions(["--seed", "77"])).toMatchObject({ seed: 77, seeds: 1 });
    expect(
      parseCliOptions([
        "--seeds",
        "5",
        "--seed",
        "9",
        "--nodes",
        "5",
        "--mix",
        "chaos",
        "--ticks",
        "50",
      ]),
    ).toMatchObject({ seed: 9, seeds: 5, nodes: [5], mix: "chaos", safetyTicks: 50 });
  });

  it("rejects bad input with a message naming it", () => {
    expect(() => parseCliOptions(["--seeds", "x"])).toThrow(CliUsageError);
    expect(() => parseCliOptions(["--seeds", "x"])).toThrow(/--seeds = "x"/);
    expect(() => parseCliOptions(["--nodes", "3,4"])).toThrow(/--nodes = "3,4"/);
    expect(() => parseCliOptions(["--mix", "storm"])).toThrow(/--mix = "storm"/);
    expect(() => parseCliOptions(["--frobnicate"])).toThrow(/unknown argument "--frobnicate"/);
    expect(() => parseCliOptions(["--seed"])).toThrow(/--seed needs a value/);
  });

  it("prints a replay command that carries the options that change the run", () => {
    const options = parseCliOptions(["--mix", "lossy", "--ticks", "90"]);
    expect(replayCommand(12, 5, options)).toBe(
      "npm run sim -- --seed 12 --nodes 5 --mix lossy --ticks 90",
    );
  });

  it("writes histories as JSON, one object per operation, null for an unknown return", () => {
    const recorder = createHistoryRecorder();
    recorder.complete(recorder.invoke(1, 3, "write", "k0", "v1"), 7);
    recorder.timeOut(recorder.invoke(2, 4, "write", "k1", "v2"));
    recorder.complete(recorder.invoke(3, 5, "read", "k0"), 9, "v1");
    const parsed: unknown = JSON.parse(historyToJson(recorder.operations()));
    expect(parsed).toEqual([
      { client: 1, call: 3, return: 7, op: "write", key: "k0", value: "v1", indeterminate: false },
      {
        client: 2,
        call: 4,
        return: null,
        op: "write",
        key: "k1",
        value: "v2",
        indeterminate: true,
      },
      { client: 3, call: 5, return: 9, op: "read", key: "k0", output: "v1", indeterminate: false },
    ]);
  });
});

function status(
  id: NodeId,
  role: Role,
  lastIndex: number,
  voters: NodeId[],
  outgoing: NodeId[] = [],
): RaftStatus {
  return {
    id,
    role,
    leader: 0,
    term: 3,
    vote: 0,
    commit: 0,
    applied: 0,
    lastIndex,
    leadTransferee: 0,
    pendingConfIndex: 0,
    progress: new Map(),
    confState: {
      voters,
      learners: [],
      votersOutgoing: outgoing,
      learnersNext: [],
      autoLeave: false,
    },
  };
}

describe("known demoted-voter stall", () => {
  it("matches the demoted voter with the longest log that others still need", () => {
    const stuck = new Map([
      [1, status(1, Role.Follower, 26, [2, 5])],
      [2, status(2, Role.Follower, 25, [2, 5], [1, 5])],
      [5, status(5, Role.PreCandidate, 25, [2, 5], [1, 5])],
    ]);
    expect(isDemotedVoterStall(stuck)).toBe(true);
  });

  it("does not excuse a stall with a leader, or one where a self-voter has the longest log", () => {
    expect(
      isDemotedVoterStall(
        new Map([
          [1, status(1, Role.Follower, 26, [2, 5])],
          [2, status(2, Role.Leader, 25, [2, 5], [1, 5])],
        ]),
      ),
    ).toBe(false);
    expect(
      isDemotedVoterStall(
        new Map([
          [1, status(1, Role.Follower, 26, [2, 5])],
          [2, status(2, Role.Follower, 27, [2, 5], [1, 5])],
        ]),
      ),
    ).toBe(false);
    expect(
      isDemotedVoterStall(
        new Map([
          [1, status(1, Role.Follower, 26, [1, 2, 5])],
          [2, status(2, Role.Follower, 25, [1, 2, 5])],
        ]),
      ),
    ).toBe(false);
  });
});
