/** Membership changes: one at a time (thesis §4.1, §4.2) and joint consensus (§4.3). */
import { describe, expect, it } from "vitest";
import { ConfChangeTransition, ConfChangeType, Role } from "../../../framework/raft/index.js";
import type { ConfChange, ConfChangeSingle } from "../../../framework/raft/index.js";
import { bytes, Cluster } from "./cluster-harness.js";

const change = (transition: ConfChangeTransition, ...changes: ConfChangeSingle[]): ConfChange => ({
  transition,
  changes,
  context: new Uint8Array(0),
});
const addVoter = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.AddVoter, nodeId });
const addLearner = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.AddLearner, nodeId });
const removeNode = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.RemoveNode, nodeId });

describe("thesis §4.1 single-server changes", () => {
  it("adds a voter that catches up and then counts for the quorum", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.get(1).node.propose(bytes("before"));
    cluster.stabilize();
    cluster.add(4);
    cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto, addVoter(4)));
    cluster.stabilize();
    expect(cluster.get(1).confState.voters).toEqual([1, 2, 3, 4]);
    expect(cluster.appliedData(4)).toEqual(["before"]);
    // With 4 voters the quorum is 3: two down must stop commits.
    cluster.drop = (m) => m.to === 3 || m.to === 4;
    cluster.get(1).node.propose(bytes("stuck"));
    cluster.stabilize();
    expect(cluster.appliedData(1)).toEqual(["before"]);
  });

  it("allows one change at a time: a second waits until the first is applied", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.drop = () => true;
    cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto, addLearner(4)));
    expect(() => cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto, addLearner(5)))).toThrow(
      /conf_change_pending/,
    );
  });

  it("a removed leader hands leadership to a caught-up voter at once, then steps down", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: true, preVote: true } });
    cluster.elect(1);
    cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto, removeNode(1)));
    cluster.stabilize();
    // No election timeout passed: the hand-over made 2 or 3 leader right away.
    const leader = cluster.leader();
    expect([2, 3]).toContain(leader?.id);
    leader!.node.propose(bytes("after"));
    cluster.stabilize();
    expect(cluster.appliedData(2)).toEqual(["after"]);
    expect(cluster.appliedData(3)).toEqual(["after"]);
    // The old leader hears from nobody now; within an election timeout it steps down.
    cluster.tickAll(11);
    expect(cluster.get(1).node.status().role).toBe(Role.Follower);
  });

  it("a removed leader whose successor cannot be reached steps down after an election timeout", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: false, preVote: true } });
    cluster.elect(1);
    cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto, removeNode(1)));
    cluster.drop = (m) => m.type === 10; // TimeoutNow never arrives
    cluster.stabilize();
    expect(cluster.get(1).node.status().role).toBe(Role.Leader);
    expect(() => cluster.get(1).node.propose(bytes("x"))).toThrow(/proposal_dropped/);
    cluster.tickAll(11);
    expect(cluster.get(1).node.status().role).toBe(Role.Follower);
  });

  it("learners receive the log but neither vote nor count towards a commit", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], learners: [4] });
    cluster.elect(1);
    cluster.get(1).node.propose(bytes("x"));
    cluster.stabilize();
    expect(cluster.appliedData(4)).toEqual(["x"]);
    cluster.drop = (m) => m.to === 2 || m.to === 3;
    cluster.get(1).node.propose(bytes("y"));
    cluster.stabilize();
    expect(cluster.appliedData(1)).toEqual(["x"]);
    for (let i = 0; i < 50; i++) cluster.get(4).node.tick();
    expect(cluster.get(4).node.status().role).toBe(Role.Follower);
  });

  it("refuses invalid changes with a typed error", () => {
    const cluster = new Cluster({ voters: [1] });
    cluster.elect(1);
    expect(() => cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto, removeNode(1)))).toThrow(
      /invalid_conf_change.*removed all voters/,
    );
    expect(() => cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto))).toThrow(
      /invalid_conf_change.*non-joint/,
    );
    expect(() => cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto, addVoter(0)))).toThrow(
      /invalid_conf_change.*node id 0/,
    );
  });
});

describe("thesis §4.3 joint consensus", () => {
  it("replaces two voters at once through a joint config, left automatically", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.add(4);
    cluster.add(5);
    cluster.get(1).node.proposeConfChange(
      change(ConfChangeTransition.Auto, addVoter(4), addVoter(5), removeNode(2), removeNode(3)),
    );
    cluster.stabilize();
    const confState = cluster.get(1).confState;
    expect(confState.voters).toEqual([1, 4, 5]);
    expect(confState.votersOutgoing).toEqual([]);
    cluster.get(1).node.propose(bytes("new config"));
    cluster.drop = (m) => m.to === 2 || m.to === 3;
    cluster.stabilize();
    expect(cluster.appliedData(5)).toEqual(["new config"]);
  });

  it("while joint, a commit needs a majority of the old AND the new voters", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.add(4);
    cluster.add(5);
    cluster.get(1).node.proposeConfChange(
      change(ConfChangeTransition.JointExplicit, addVoter(4), addVoter(5), removeNode(2), removeNode(3)),
    );
    cluster.stabilize();
    expect(cluster.get(1).confState.votersOutgoing).toEqual([1, 2, 3]);
    expect(cluster.get(1).confState.voters).toEqual([1, 4, 5]);
    // New majority {1,4,5} reachable, old majority needs 2 or 3: cut both off.
    cluster.drop = (m) => m.to === 2 || m.to === 3;
    cluster.get(1).node.propose(bytes("joint"));
    cluster.stabilize();
    expect(cluster.appliedData(1)).toEqual([]);
    cluster.drop = () => false;
    cluster.tickAll(2);
    expect(cluster.appliedData(1)).toEqual(["joint"]);
    // Explicit: stays joint until the empty change is proposed.
    expect(cluster.get(1).confState.votersOutgoing).toEqual([1, 2, 3]);
    cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto));
    cluster.stabilize();
    expect(cluster.get(1).confState).toMatchObject({ voters: [1, 4, 5], votersOutgoing: [] });
  });

  it("a voter demoted while joint becomes a learner only when the joint config is left", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.JointExplicit, addLearner(3)));
    cluster.stabilize();
    expect(cluster.get(1).confState).toMatchObject({ voters: [1, 2], votersOutgoing: [1, 2, 3], learnersNext: [3] });
    cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.Auto));
    cluster.stabilize();
    expect(cluster.get(1).confState).toMatchObject({ voters: [1, 2], votersOutgoing: [], learners: [3] });
  });

  it("refuses to enter a joint config while already joint", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.JointExplicit, addLearner(4)));
    cluster.stabilize();
    expect(() =>
      cluster.get(1).node.proposeConfChange(change(ConfChangeTransition.JointExplicit, addLearner(5))),
    ).toThrow(/already joint/);
  });
});
