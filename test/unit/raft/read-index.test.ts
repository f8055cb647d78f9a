/** Linearizable reads by ReadIndex (thesis §6.4). */
import { describe, expect, it } from "vitest";
import { MessageType, ReadOnlyOption, Role } from "../../../framework/raft/index.js";
import { bytes, Cluster } from "./cluster-harness.js";
import { createDriver, electLeader, message } from "./node-driver.js";

describe("thesis §6.4 ReadIndex", () => {
  it("the leader answers with its commit index once a quorum confirms its leadership", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.get(1).node.propose(bytes("x"));
    cluster.stabilize();
    cluster.get(1).node.readIndex(bytes("r1"));
    cluster.stabilize();
    const states = cluster.get(1).readStates;
    expect(states).toHaveLength(1);
    expect(new TextDecoder().decode(states[0]!.context)).toBe("r1");
    expect(states[0]!.index).toBe(cluster.get(1).node.status().commit);
  });

  it("a leader cut off from the quorum serves no read", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.drop = (m) => m.from === 1 || m.to === 1;
    cluster.get(1).node.readIndex(bytes("r"));
    cluster.stabilize();
    expect(cluster.get(1).readStates).toHaveLength(0);
  });

  it("a read waits until the new leader has committed an entry of its own term (step 1)", () => {
    const driver = createDriver();
    electLeader(driver);
    driver.node.readIndex(bytes("early"));
    // No entry of term 1 committed yet: no heartbeat round for the read, no answer.
    const sent = driver.messages();
    expect(sent.some((m) => m.type === MessageType.Heartbeat)).toBe(false);
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 1, index: 1 }));
    const afterCommit = driver.messages();
    const heartbeats = afterCommit.filter((m) => m.type === MessageType.Heartbeat);
    expect(heartbeats.length).toBe(2);
    driver.node.step(message({ type: MessageType.HeartbeatResponse, to: 1, from: 2, term: 1, context: heartbeats[0]!.context }));
    const ready = driver.node.ready();
    expect(ready.readStates).toEqual([{ index: 1, context: bytes("early") }]);
  });

  it("a follower's read is forwarded to the leader and answered to the follower", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.get(1).node.propose(bytes("x"));
    cluster.stabilize();
    cluster.get(2).node.readIndex(bytes("f"));
    cluster.stabilize();
    expect(cluster.get(2).readStates.map((s) => s.index)).toEqual([cluster.get(1).node.status().commit]);
  });

  it("a replica that knows no leader refuses a read with NotLeader", () => {
    const driver = createDriver();
    expect(() => driver.node.readIndex(bytes("x"))).toThrow(/not_leader/);
    expect(driver.node.status().role).toBe(Role.Follower);
  });
});

describe("thesis §6.4.1 lease reads", () => {
  it("a leader with a lease answers reads at once, without a heartbeat round", () => {
    const driver = createDriver({ config: { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true } });
    electLeader(driver);
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 1, index: 1 }));
    driver.messages();
    driver.node.readIndex(bytes("lease"));
    const ready = driver.node.ready();
    expect(ready.readStates).toEqual([{ index: 1, context: bytes("lease") }]);
    expect([...ready.messages, ...ready.messagesAfterPersist].some((m) => m.type === MessageType.Heartbeat)).toBe(false);
  });

  it("once a leadership transfer started, the lease no longer holds: reads need a heartbeat quorum", () => {
    // The transferee's campaign overrides the followers' lease (§3.10), so a
    // new leader may exist inside our lease and commit writes we do not see.
    const driver = createDriver({ config: { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: true } });
    electLeader(driver);
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 1, index: 1 }));
    driver.messages();
    driver.node.transferLeadership(2);
    driver.messages();
    driver.node.readIndex(bytes("after-transfer"));
    const ready = driver.node.ready();
    expect(ready.readStates).toEqual([]);
    expect(ready.messages.some((m) => m.type === MessageType.Heartbeat && m.context.length > 0)).toBe(true);
    driver.node.advance(ready);
  });
});
