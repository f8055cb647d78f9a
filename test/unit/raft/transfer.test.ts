/** Leadership transfer (thesis §3.10). */
import { describe, expect, it } from "vitest";
import { Role } from "../../../framework/raft/index.js";
import { bytes, Cluster } from "./cluster-harness.js";

describe("thesis §3.10 leadership transfer", () => {
  it("transfers to an up-to-date follower, which wins the next term at once", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: true, preVote: true } });
    cluster.elect(1);
    const term = cluster.get(1).node.status().term;
    cluster.get(1).node.transferLeadership(2);
    cluster.stabilize();
    expect(cluster.get(2).node.status().role).toBe(Role.Leader);
    expect(cluster.get(2).node.status().term).toBe(term + 1);
    expect(cluster.get(1).node.status().role).toBe(Role.Follower);
  });

  it("catches a lagging target up first, and refuses proposals meanwhile", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.drop = (m) => m.to === 3;
    cluster.get(1).node.propose(bytes("x"));
    cluster.stabilize();
    cluster.get(1).node.transferLeadership(3);
    expect(() => cluster.get(1).node.propose(bytes("y"))).toThrow(/proposal_dropped/);
    cluster.drop = () => false;
    cluster.tickAll(2);
    expect(cluster.leader()?.id).toBe(3);
    expect(cluster.appliedData(3)).toEqual(["x"]);
  });

  it("is abandoned when the target does not take over within an election timeout", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.drop = (m) => m.to === 3 || m.from === 3;
    cluster.get(1).node.transferLeadership(3);
    cluster.tickAll(11);
    expect(cluster.get(1).node.status().role).toBe(Role.Leader);
    expect(cluster.get(1).node.status().leadTransferee).toBe(0);
    cluster.get(1).node.propose(bytes("after"));
    cluster.stabilize();
    expect(cluster.appliedData(1)).toEqual(["after"]);
  });

  it("refuses a target that is not a voter", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], learners: [4] });
    cluster.elect(1);
    expect(() => cluster.get(1).node.transferLeadership(4)).toThrow(/invalid_transfer_target/);
    expect(() => cluster.get(1).node.transferLeadership(9)).toThrow(/invalid_transfer_target/);
  });
});
