/**
 * Leader election, as the Raft paper (§5.1, §5.2, §5.4.1) and the thesis
 * (§9.6 pre-vote, §6.2 check-quorum, §4.2.3 disruptive servers) state it.
 */
import { describe, expect, it } from "vitest";
import { MessageType, ReadOnlyOption, Role, roleOf } from "../../../framework/raft/index.js";
import type { RaftNode } from "../../../framework/raft/index.js";
import { Cluster } from "./cluster-harness.js";
import { createDriver, electLeader, entry, message } from "./node-driver.js";

describe("§5.1 terms", () => {
  it("a server starts as a follower", () => {
    expect(createDriver().node.status().role).toBe(Role.Follower);
  });

  it.each([Role.Follower, Role.Candidate, Role.Leader])(
    "a %s that sees a higher term adopts it and becomes a follower",
    (role) => {
      const driver = createDriver();
      if (role === Role.Candidate) driver.node.campaign();
      if (role === Role.Leader) electLeader(driver);
      driver.node.step(message({ type: MessageType.Append, to: 1, from: 2, term: 5 }));
      expect(driver.node.status().term).toBe(5);
      expect(driver.node.status().role).toBe(Role.Follower);
      expect(driver.node.status().leader).toBe(2);
    },
  );

  it("roleOf reads the role status() reports, through campaign, leadership and a higher term", () => {
    const driver = createDriver();
    const roles: Role[] = [];
    const check = (): void => {
      expect(roleOf(driver.node)).toBe(driver.node.status().role);
      roles.push(roleOf(driver.node));
    };
    check();
    driver.node.campaign();
    check();
    electLeader(driver);
    check();
    driver.node.step(message({ type: MessageType.Append, to: 1, from: 2, term: 50 }));
    check();
    expect(roles[0]).toBe(Role.Follower);
    expect(roles).toContain(Role.Leader);
    expect(roles[roles.length - 1]).toBe(Role.Follower);
    // Any other RaftNode (a test's wrapper) is asked for its status.
    const leader = createDriver();
    electLeader(leader);
    // A wrapper with only what roleOf may use of a foreign node.
    const wrapper = { status: () => leader.node.status() } as unknown as RaftNode;
    expect(roleOf(wrapper)).toBe(Role.Leader);
  });

  it("a request with a stale term is rejected: the sender learns the newer term", () => {
    const driver = createDriver({ term: 3, config: { checkQuorum: true } });
    driver.node.step(message({ type: MessageType.Append, to: 1, from: 2, term: 2, index: 0 }));
    const responses = driver.messages();
    expect(responses).toHaveLength(1);
    expect(responses[0]).toMatchObject({ type: MessageType.AppendResponse, to: 2, term: 3 });
    expect(driver.node.status().term).toBe(3);
    expect(driver.storage.lastIndex()).toBe(0);
  });
});

describe("§5.2 leader election", () => {
  it("a follower whose election timeout elapses becomes candidate: term+1, votes for itself, asks all", () => {
    const driver = createDriver({ voters: [1, 2, 3] });
    for (let i = 0; i < 20; i++) driver.node.tick();
    const status = driver.node.status();
    expect(status.role).toBe(Role.Candidate);
    expect(status.term).toBe(1);
    expect(status.vote).toBe(1);
    const requests = driver.messages().filter((m) => m.type === MessageType.RequestVote);
    expect(requests.map((m) => m.to).sort()).toEqual([2, 3]);
    expect(requests.every((m) => m.term === 1)).toBe(true);
  });

  it("election timeouts are randomized in [electionTicks, 2·electionTicks)", () => {
    const timeouts = new Set<number>();
    for (let seed = 1; seed <= 60; seed++) {
      const driver = createDriver({ seed });
      let ticks = 0;
      while (driver.node.status().role === Role.Follower) {
        driver.node.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      timeouts.add(ticks);
    }
    expect(timeouts.size).toBeGreaterThan(5);
  });

  it.each([
    { size: 1, granted: [], rejected: [], outcome: Role.Leader },
    { size: 3, granted: [2], rejected: [], outcome: Role.Leader },
    { size: 3, granted: [], rejected: [], outcome: Role.Candidate },
    { size: 3, granted: [], rejected: [2, 3], outcome: Role.Follower },
    { size: 5, granted: [2], rejected: [], outcome: Role.Candidate },
    { size: 5, granted: [2, 3], rejected: [], outcome: Role.Leader },
    { size: 5, granted: [2], rejected: [3, 4], outcome: Role.Candidate },
    { size: 5, granted: [2], rejected: [3, 4, 5], outcome: Role.Follower },
    { size: 5, granted: [2], rejected: [3], outcome: Role.Candidate },
  ])("a candidate of $size with votes $granted / rejections $rejected ends $outcome", (row) => {
    const voters = Array.from({ length: row.size }, (_, i) => i + 1);
    const driver = createDriver({ voters });
    driver.node.campaign();
    const term = driver.node.status().term;
    for (const from of row.granted) {
      driver.node.step(message({ type: MessageType.RequestVoteResponse, to: 1, from, term }));
    }
    for (const from of row.rejected) {
      driver.node.step(message({ type: MessageType.RequestVoteResponse, to: 1, from, term, reject: true }));
    }
    expect(driver.node.status().role).toBe(row.outcome);
  });

  it("a follower votes for at most one candidate per term, first come first served", () => {
    const driver = createDriver({ term: 1 });
    driver.node.step(message({ type: MessageType.RequestVote, to: 1, from: 2, term: 1 }));
    driver.node.step(message({ type: MessageType.RequestVote, to: 1, from: 3, term: 1 }));
    driver.node.step(message({ type: MessageType.RequestVote, to: 1, from: 2, term: 1 }));
    const responses = driver.messages();
    expect(responses.map((m) => [m.to, m.reject])).toEqual([
      [2, false],
      [3, true],
      [2, false],
    ]);
    expect(driver.storage.hardState().vote).toBe(2);
  });

  it("a vote is durable before it is answered (it travels in messagesAfterPersist)", () => {
    const driver = createDriver();
    driver.node.step(message({ type: MessageType.RequestVote, to: 1, from: 2, term: 1 }));
    const ready = driver.node.ready();
    expect(ready.messages).toHaveLength(0);
    expect(ready.messagesAfterPersist[0]).toMatchObject({ type: MessageType.RequestVoteResponse, reject: false });
    expect(ready.hardState).toMatchObject({ term: 1, vote: 2 });
    expect(ready.mustSync).toBe(true);
  });

  it("a candidate that hears from a leader of its term steps down to follower", () => {
    const driver = createDriver();
    driver.node.campaign();
    driver.node.step(message({ type: MessageType.Append, to: 1, from: 2, term: 1 }));
    expect(driver.node.status().role).toBe(Role.Follower);
    expect(driver.node.status().leader).toBe(2);
  });

  it("eventually one leader is elected in a 5-node group", () => {
    const cluster = new Cluster({ voters: [1, 2, 3, 4, 5], seed: 3 });
    cluster.tickAll(40);
    const leaders = [...cluster.nodes.values()].filter((n) => n.node.status().role === Role.Leader);
    expect(leaders).toHaveLength(1);
  });
});

describe("§5.4.1 election restriction", () => {
  // Our log: (1,1) (2,2). A candidate's log is "at least as up to date" when its
  // last term is higher, or equal with an index at least as large.
  it.each([
    { lastIndex: 2, lastTerm: 2, granted: true },
    { lastIndex: 3, lastTerm: 2, granted: true },
    { lastIndex: 1, lastTerm: 3, granted: true },
    { lastIndex: 1, lastTerm: 2, granted: false },
    { lastIndex: 5, lastTerm: 1, granted: false },
  ])("candidate with last entry ($lastIndex, term $lastTerm): vote granted = $granted", (row) => {
    const driver = createDriver({ entries: [entry(1, 1), entry(2, 2)], term: 2 });
    driver.node.step(
      message({ type: MessageType.RequestVote, to: 1, from: 2, term: 3, index: row.lastIndex, logTerm: row.lastTerm }),
    );
    const response = driver.messages().find((m) => m.type === MessageType.RequestVoteResponse);
    expect(response?.reject).toBe(!row.granted);
  });
});

describe("thesis §9.6 pre-vote", () => {
  it("a pre-candidate does not increase its term", () => {
    const driver = createDriver({ term: 4, config: { preVote: true } });
    driver.node.campaign();
    expect(driver.node.status().role).toBe(Role.PreCandidate);
    expect(driver.node.status().term).toBe(4);
    const requests = driver.messages();
    expect(requests.every((m) => m.type === MessageType.RequestPreVote && m.term === 5)).toBe(true);
  });

  it("a partitioned node does not disrupt the group when it returns", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { preVote: true, checkQuorum: true } });
    cluster.elect(1);
    const term = cluster.get(1).node.status().term;
    cluster.drop = (m) => m.to === 3 || m.from === 3;
    for (let i = 0; i < 100; i++) cluster.tickAll();
    expect(cluster.get(3).node.status().term).toBe(term);
    cluster.drop = () => false;
    cluster.tickAll(5);
    expect(cluster.get(1).node.status().role).toBe(Role.Leader);
    expect(cluster.get(1).node.status().term).toBe(term);
  });

  it("a pre-vote is granted only to a candidate whose log is up to date, and changes no vote", () => {
    const driver = createDriver({ entries: [entry(1, 1), entry(2, 2)], term: 2, config: { preVote: true } });
    driver.node.step(message({ type: MessageType.RequestPreVote, to: 1, from: 2, term: 3, index: 1, logTerm: 1 }));
    driver.node.step(message({ type: MessageType.RequestPreVote, to: 1, from: 3, term: 3, index: 2, logTerm: 2 }));
    const responses = driver.messages();
    expect(responses.map((m) => [m.to, m.reject, m.term])).toEqual([
      [2, true, 2],
      [3, false, 3],
    ]);
    expect(driver.node.status().term).toBe(2);
    expect(driver.node.status().vote).toBe(0);
  });

  it("without pre-vote, the returning node's higher term forces an election", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
    cluster.elect(1);
    const term = cluster.get(1).node.status().term;
    cluster.drop = (m) => m.to === 3 || m.from === 3;
    for (let i = 0; i < 100; i++) cluster.tickAll();
    expect(cluster.get(3).node.status().term).toBeGreaterThan(term);
    cluster.drop = () => false;
    cluster.tickAll(30);
    expect(cluster.leader()!.node.status().term).toBeGreaterThan(term);
  });
});

describe("thesis §6.2 check-quorum and §4.2.3 disruptive servers", () => {
  it("a leader that has not heard from a quorum for an election timeout steps down", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: true, preVote: true } });
    cluster.elect(1);
    cluster.drop = (m) => m.from === 1 || m.to === 1;
    cluster.tickAll(25);
    expect(cluster.get(1).node.status().role).toBe(Role.Follower);
  });

  it("a leader that hears from a quorum keeps leading", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: true, preVote: true } });
    cluster.elect(1);
    cluster.drop = (m) => m.from === 3 || m.to === 3;
    cluster.tickAll(50);
    expect(cluster.get(1).node.status().role).toBe(Role.Leader);
  });

  it("counts any message of the term from a member, not only heartbeat and append responses", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: true, preVote: true } });
    cluster.elect(1);
    // The responses are lost (say, queued behind data), but the followers' read requests arrive.
    const responses = [MessageType.HeartbeatResponse, MessageType.AppendResponse];
    cluster.drop = (m) => m.to === 1 && responses.includes(m.type);
    for (let tick = 0; tick < 50; tick++) {
      for (const id of [2, 3]) cluster.get(id).node.readIndex(new Uint8Array([id, tick]));
      cluster.tickAll(1);
    }
    expect(cluster.get(1).node.status().role).toBe(Role.Leader);
  });

  it("resumeTicking: a leader's check-quorum window starts afresh (not under lease reads)", () => {
    for (const readOnlyOption of [ReadOnlyOption.Safe, ReadOnlyOption.LeaseBased]) {
      const config = { checkQuorum: true, preVote: true, readOnlyOption };
      const cluster = new Cluster({ voters: [1, 2, 3], config });
      cluster.elect(1);
      cluster.tick(1, 10); // one check-quorum round passes (electionTicks = 10): the followers answered
      cluster.drop = (m) => m.to === 1; // from now on nothing reaches the leader
      cluster.tick(1, 9); // the host pauses ticking here (quiescence), then resumes
      cluster.get(1).node.resumeTicking();
      cluster.tick(1, 1);
      const afterOne = cluster.get(1).node.status().role;
      cluster.tick(1, 9);
      const afterTen = cluster.get(1).node.status().role;
      if (readOnlyOption === ReadOnlyOption.Safe) {
        expect(afterOne).toBe(Role.Leader); // a full window after resuming, not one tick
        expect(afterTen).toBe(Role.Follower); // and then check-quorum still steps it down
      } else {
        expect(afterOne).toBe(Role.Follower); // the lease's clock does not pause
      }
    }
  });

  it("a follower that hears from its leader ignores a vote request of a higher term", () => {
    const driver = createDriver({ term: 1, config: { checkQuorum: true } });
    driver.node.step(message({ type: MessageType.Heartbeat, to: 1, from: 2, term: 1 }));
    driver.messages();
    driver.node.step(message({ type: MessageType.RequestVote, to: 1, from: 3, term: 2 }));
    expect(driver.node.status().term).toBe(1);
    expect(driver.messages()).toHaveLength(0);
  });
});

describe("forgetLeader (etcd-io/raft ForgetLeader) with pre-vote and check-quorum", () => {
  it("a follower that forgot its leader grants a pre-vote inside the lease; one that did not ignores it", () => {
    const config = { checkQuorum: true, preVote: true };
    const remembering = createDriver({ term: 1, config });
    const forgetting = createDriver({ term: 1, config });
    for (const driver of [remembering, forgetting]) {
      driver.node.step(message({ type: MessageType.Heartbeat, to: 1, from: 2, term: 1 }));
      driver.messages();
    }
    forgetting.node.forgetLeader();
    expect(forgetting.node.status().leader).toBe(0);
    expect(forgetting.node.status().role).toBe(Role.Follower);
    expect(forgetting.node.status().term).toBe(1);
    const preVote = { type: MessageType.RequestPreVote, to: 1, from: 3, term: 2, index: 0, logTerm: 0 };
    remembering.node.step(message(preVote));
    forgetting.node.step(message(preVote));
    expect(remembering.messages()).toHaveLength(0);
    expect(forgetting.messages().map((m) => [m.type, m.to, m.reject, m.term])).toEqual([
      [MessageType.RequestPreVoteResponse, 3, false, 2],
    ]);
    expect(forgetting.node.status().term).toBe(1); // a pre-vote changes no term
  });

  it("the leader's next message restores it", () => {
    const driver = createDriver({ term: 1, config: { checkQuorum: true, preVote: true } });
    driver.node.step(message({ type: MessageType.Heartbeat, to: 1, from: 2, term: 1 }));
    driver.node.forgetLeader();
    driver.node.step(message({ type: MessageType.Heartbeat, to: 1, from: 2, term: 1 }));
    expect(driver.node.status().leader).toBe(2);
  });

  it("a leader or a candidate ignores it", () => {
    const leader = createDriver({ config: { checkQuorum: true, preVote: false } });
    electLeader(leader);
    leader.node.forgetLeader();
    expect(leader.node.status().role).toBe(Role.Leader);
    expect(leader.node.status().leader).toBe(1);
    const candidate = createDriver({ voters: [1, 2, 3], config: { preVote: false } });
    candidate.node.campaign();
    const before = candidate.node.status();
    candidate.node.forgetLeader();
    expect(candidate.node.status()).toEqual(before);
  });

  it("after the leader's node dies, two followers that forgot it elect a new leader at the first campaign", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: true, preVote: true } });
    cluster.elect(1);
    const term = cluster.get(1).node.status().term;
    cluster.drop = (m) => m.from === 1 || m.to === 1;
    cluster.get(2).node.forgetLeader();
    cluster.get(3).node.forgetLeader();
    cluster.get(2).node.campaign();
    cluster.stabilize();
    expect(cluster.get(2).node.status().role).toBe(Role.Leader);
    expect(cluster.get(2).node.status().term).toBe(term + 1);
  });

  it("with only one follower forgetting, its campaign inside the lease fails and disturbs nobody", () => {
    const cluster = new Cluster({ voters: [1, 2, 3], config: { checkQuorum: true, preVote: true } });
    cluster.elect(1);
    const term = cluster.get(1).node.status().term;
    cluster.get(2).node.forgetLeader();
    cluster.get(2).node.campaign();
    cluster.stabilize();
    expect(cluster.get(1).node.status().role).toBe(Role.Leader);
    expect(cluster.get(3).node.status().term).toBe(term);
    expect(cluster.get(2).node.status().term).toBe(term);
  });
});
