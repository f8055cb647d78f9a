import { describe, expect, it } from "vitest";
import { bytes, Cluster } from "./cluster-harness.js";

describe("raft smoke", () => {
  it("elects a leader in a 3-node group and replicates proposals to all", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    expect(cluster.leader()?.id).toBe(1);
    const leader = cluster.get(1).node;
    leader.propose(bytes("a"));
    leader.propose(bytes("b"));
    cluster.stabilize();
    for (const id of [1, 2, 3]) expect(cluster.appliedData(id)).toEqual(["a", "b"]);
  });

  it("a single-node group commits on its own", () => {
    const cluster = new Cluster({ voters: [1] });
    cluster.elect(1);
    cluster.get(1).node.propose(bytes("x"));
    cluster.stabilize();
    expect(cluster.appliedData(1)).toEqual(["x"]);
  });
});
