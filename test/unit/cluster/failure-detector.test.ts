import { describe, expect, it } from "vitest";
import type { NodeState } from "../../../framework/cluster/index.js";
import { createFailureDetector } from "../../../framework/cluster/index.js";

const config = { suspectAfterMs: 3_000, deadAfterMs: 10_000 };

describe("failure detector", () => {
  it("marks a silent node suspect, then dead; a heartbeat brings it back", () => {
    const detector = createFailureDetector(config);
    detector.reset([1, 2], 0);
    const states = new Map<number, NodeState>([[1, "alive"], [2, "alive"]]);
    for (let now = 1_000; now <= 20_000; now += 1_000) detector.onHeartbeat(1, now);
    expect(detector.evaluate(states, 2_999)).toEqual([]);
    expect(detector.evaluate(states, 3_000)).toEqual([{ nodeId: 2, from: "alive", to: "suspect" }]);
    states.set(2, "suspect");
    expect(detector.evaluate(states, 9_999)).toEqual([]);
    expect(detector.evaluate(states, 10_000)).toEqual([{ nodeId: 2, from: "suspect", to: "dead" }]);
    states.set(2, "dead");
    detector.onHeartbeat(2, 12_000);
    expect(detector.evaluate(states, 12_500)).toEqual([{ nodeId: 2, from: "dead", to: "alive" }]);
  });

  it("does not flap on a slow node: late beats inside the suspicion period never kill it", () => {
    const detector = createFailureDetector(config);
    detector.reset([1], 0);
    const states = new Map<number, NodeState>([[1, "alive"]]);
    const seen: string[] = [];
    // Beats every 4 s (late: suspect after 3 s), never 10 s apart.
    for (let now = 0; now <= 60_000; now += 500) {
      if (now % 4_000 === 0) detector.onHeartbeat(1, now);
      for (const change of detector.evaluate(states, now)) {
        states.set(change.nodeId, change.to);
        seen.push(change.to);
      }
    }
    expect(seen).not.toContain("dead");
    expect(seen.filter((state) => state === "suspect").length).toBeGreaterThan(0);
  });

  it("a new leader starts every node's timer at its start, also for nodes it never heard", () => {
    const detector = createFailureDetector(config);
    detector.reset([1], 50_000);
    const states = new Map<number, NodeState>([[1, "alive"], [2, "alive"]]);
    expect(detector.evaluate(states, 52_000)).toEqual([]);
    expect(detector.lastHeardMs(2)).toBe(52_000);
    // Node 1 counts from the reset (50 s), node 2 from when the leader first looked (52 s).
    expect(detector.evaluate(states, 53_000)).toEqual([{ nodeId: 1, from: "alive", to: "suspect" }]);
    states.set(1, "suspect");
    expect(detector.evaluate(states, 55_000)).toEqual([{ nodeId: 2, from: "alive", to: "suspect" }]);
  });

  it("leaves draining and removed nodes alone", () => {
    const detector = createFailureDetector(config);
    detector.reset([1, 2], 0);
    const states = new Map<number, NodeState>([[1, "draining"], [2, "removed"]]);
    expect(detector.evaluate(states, 100_000)).toEqual([]);
  });

  it("refuses a dead timeout not above the suspicion timeout", () => {
    expect(() => createFailureDetector({ suspectAfterMs: 5, deadAfterMs: 5 })).toThrowError(/deadAfterMs = 5/);
  });
});
