import { constants } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import type { TraceRecord } from "../node/latency-trace.js";
import { parseTrace, traceAcks, traceReportLines } from "../node/latency-trace-report.js";

// Two acks of group 1, traced on a leader (n1), two followers (n2, n3) and the client, on one clock (ms).
// Ack 1 waits for the leader's own log write; ack 2 for a follower's mark-compact between save and commit.
const traces = new Map<string, readonly TraceRecord[]>([
  ["n1", [
    ["ins", 1, 10, 103, 104, 118], ["prep", 1, 105], ["io", "writev", 105.5, 8, 16384, "g1/log.wal"],
    ["apply", 1, 5, 5, 1, 115, 116],
    ["ins", 2, 10, 201, 202, 214], ["prep", 1, 203], ["io", "writev", 203.2, 1, 16384, "g1/log.wal"],
    ["apply", 1, 6, 6, 1, 212, 213],
  ]],
  ["n2", [["io", "writev", 107, 3, 16384, "g1/log.wal"], ["io", "writev", 205, 1, 16384, "g1/log.wal"]]],
  ["n3", [["gc", 206, 6, constants.NODE_PERFORMANCE_GC_MAJOR, 0]]],
  ["client", []],
]);
const inserts = [
  { key: 1, dueMs: 100, sentMs: 101, ackMs: 120 },
  { key: 2, dueMs: 200, sentMs: 200, ackMs: 215 },
];

describe("latency trace report (the worst acks, step by step)", () => {
  it("splits an ack into its steps from the client's and the nodes' records", () => {
    const [first] = traceAcks(inserts, traces, 1);
    expect(first!.leader).toBe("n1");
    expect(first!.steps).toEqual({
      latencyMs: 20, late: 1, toLeader: 2, admit: 1, buffer: 1, replicate: 10,
      leaderSave: 8.5, toFollower: 2, followerSave: 3, commit: 1.5, apply: 1, answer: 2, toClient: 2,
    });
  });

  it("names the largest step and the process event behind it: a slow log write, a follower's mark-compact", () => {
    const [first, second] = traceAcks(inserts, traces, 1);
    expect(first!.cause).toBe("replicate/leader save: n1 (leader) writev g1/log.wal 8.0 ms (16384 B)");
    expect(first!.category).toBe("disk (leader)");
    expect(second!.steps.commit).toBe(6);
    expect(second!.cause).toBe("replicate/commit: n3 (follower) mark-compact 6.0 ms");
    expect(second!.category).toBe("GC (follower)");
    const lines = traceReportLines([first!, second!]);
    expect(lines.at(-2)).toBe("    largest step of these acks: replicate/leader save 1, replicate/commit 1");
    expect(lines.at(-1)).toBe("    by cause: disk (leader) 1, GC (follower) 1");
  });

  it("leaves the steps of an insert the leader never recorded unknown (NaN), not zero", () => {
    const [lost] = traceAcks([{ key: 3, dueMs: 300, sentMs: 300, ackMs: 301 }], traces, 1);
    expect(lost!.leader).toBeUndefined();
    expect(Number.isNaN(lost!.steps.toLeader)).toBe(true);
    expect(Number.isNaN(lost!.steps.replicate)).toBe(true);
  });

  it("reads a trace file's JSON lines and skips a torn last line", () => {
    expect(parseTrace('["prep",1,5]\n["lag",1,4,0.5]\n["ins",1,2')).toEqual([["prep", 1, 5], ["lag", 1, 4, 0.5]]);
  });
});
