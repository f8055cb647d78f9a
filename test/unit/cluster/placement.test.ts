import { describe, expect, it } from "vitest";
import type { NodeInfo } from "../../../framework/cluster/index.js";
import {
  ClusterErrorCode,
  computeLoads,
  isClusterError,
  placeReplicas,
} from "../../../framework/cluster/index.js";

const node = (nodeId: number, extra: Partial<NodeInfo> = {}): NodeInfo => ({
  nodeId,
  address: `h:${nodeId}`,
  state: "alive",
  ...extra,
});

describe("placement", () => {
  it("picks the least loaded nodes, ties by leaders, then capacity, then id", () => {
    const nodes = [node(1), node(2), node(3), node(4, { capacity: 2 }), node(5)];
    const loads = computeLoads([
      { replicas: [1, 2, 3], leaderHint: 1 },
      { replicas: [1, 2, 5], leaderHint: 2 },
      { replicas: [4], leaderHint: 4 },
    ]);
    // Replicas per capacity: 1→2, 2→2, 3→1, 4→0.5, 5→1; 3 and 5 tie, 3 leads nothing, 5 neither → id.
    expect(placeReplicas({ count: 3, nodes, loads })).toEqual([4, 3, 5]);
  });

  it("prefers the node leading fewer partitions at equal replica load", () => {
    const nodes = [node(1), node(2)];
    const loads = computeLoads([
      { replicas: [1, 2], leaderHint: 1 },
      { replicas: [1, 2], leaderHint: 1 },
    ]);
    expect(placeReplicas({ count: 1, nodes, loads })).toEqual([2]);
  });

  it("never puts two replicas of a partition in one zone", () => {
    const nodes = [
      node(1, { zone: "a" }),
      node(2, { zone: "a" }),
      node(3, { zone: "b" }),
      node(4, { zone: "c" }),
    ];
    expect(placeReplicas({ count: 3, nodes, loads: new Map() })).toEqual([1, 3, 4]);
    // The partition already has a replica in zone b: the new one goes to a or c.
    const existing = [nodes[2]!];
    expect(placeReplicas({ count: 2, nodes, loads: new Map(), existing })).toEqual([1, 4]);
  });

  it("refuses when too few zones or alive nodes fit, saying how many did", () => {
    const nodes = [node(1, { zone: "a" }), node(2, { zone: "a" }), node(3, { state: "dead" })];
    let thrown: unknown;
    try {
      placeReplicas({ count: 2, nodes, loads: new Map() });
    } catch (error) {
      thrown = error;
    }
    expect(isClusterError(thrown, ClusterErrorCode.NoCapacity)).toBe(true);
    expect(String(thrown)).toContain("found 1");
  });

  it("skips nodes that are not alive and nodes already holding the partition", () => {
    const nodes = [node(1, { state: "suspect" }), node(2, { state: "draining" }), node(3), node(4)];
    expect(placeReplicas({ count: 1, nodes, loads: new Map(), existing: [nodes[2]!] })).toEqual([4]);
  });
});
