/**
 * Log replication and commitment as the Raft paper states them (§5.3, §5.4.2,
 * figure 7), plus the persistence rules of the thesis (§10.2.1) and flow control.
 */
import { describe, expect, it } from "vitest";
import { MessageType, Role } from "../../../framework/raft/index.js";
import { bytes, Cluster } from "./cluster-harness.js";
import { createDriver, electLeader, entry, message } from "./node-driver.js";

describe("§5.3 log replication", () => {
  it("a leader appends a proposal to its log and sends it to every follower", () => {
    const driver = createDriver();
    electLeader(driver);
    // Followers acknowledge the leader's empty entry of term 1 (index 1).
    for (const from of [2, 3]) driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from, term: 1, index: 1 }));
    driver.messages();
    const position = driver.node.propose(bytes("x"));
    expect(position).toEqual({ index: 2, term: 1 });
    const appends = driver.messages().filter((m) => m.type === MessageType.Append);
    expect(appends.map((m) => m.to).sort()).toEqual([2, 3]);
    for (const append of appends) {
      expect(append).toMatchObject({ index: 1, logTerm: 1, commit: 1 });
      expect(append.entries.map((e) => e.index)).toEqual([2]);
    }
  });

  it("an entry is committed once a majority has it, and followers learn the commit index", () => {
    const cluster = new Cluster({ voters: [1, 2, 3, 4, 5] });
    cluster.elect(1);
    cluster.drop = (m) => m.to === 4 || m.to === 5;
    cluster.get(1).node.propose(bytes("x"));
    cluster.stabilize();
    expect(cluster.appliedData(1)).toEqual(["x"]);
    cluster.drop = (m) => m.to === 3 || m.to === 4 || m.to === 5;
    cluster.get(1).node.propose(bytes("y"));
    cluster.stabilize();
    expect(cluster.appliedData(1)).toEqual(["x"]); // only 2 of 5 have y
    cluster.drop = () => false;
    cluster.tickAll(2);
    for (const id of [1, 2, 3, 4, 5]) expect(cluster.appliedData(id)).toEqual(["x", "y"]);
  });

  it("a follower rejects an append whose previous entry it does not have (consistency check)", () => {
    const driver = createDriver({ entries: [entry(1, 1), entry(2, 2)], term: 2 });
    driver.node.step(message({ type: MessageType.Append, to: 1, from: 2, term: 2, index: 2, logTerm: 3 }));
    driver.node.step(message({ type: MessageType.Append, to: 1, from: 2, term: 2, index: 3, logTerm: 2 }));
    driver.node.step(message({ type: MessageType.Append, to: 1, from: 2, term: 2, index: 2, logTerm: 2 }));
    const responses = driver.messages().filter((m) => m.type === MessageType.AppendResponse);
    expect(responses.map((m) => m.reject)).toEqual([true, true, false]);
    expect(responses[1]!.rejectHint).toBe(2); // our log ends at 2
  });

  it.each([
    { name: "appends new entries", index: 2, logTerm: 2, entries: [entry(3, 3)], terms: [1, 2, 3] },
    { name: "deletes a conflicting suffix and appends", index: 1, logTerm: 1, entries: [entry(2, 3)], terms: [1, 3] },
    { name: "keeps matching entries, appends the rest", index: 0, logTerm: 0, entries: [entry(1, 1), entry(2, 2), entry(3, 3)], terms: [1, 2, 3] },
    { name: "ignores an append that is already present", index: 0, logTerm: 0, entries: [entry(1, 1)], terms: [1, 2] },
  ])("a follower $name", (row) => {
    const driver = createDriver({ entries: [entry(1, 1), entry(2, 2)], term: 3 });
    driver.node.step(
      message({ type: MessageType.Append, to: 1, from: 2, term: 3, index: row.index, logTerm: row.logTerm, entries: row.entries }),
    );
    driver.messages();
    const stored = driver.storage.entries(1, driver.storage.lastIndex() + 1, Infinity);
    expect(stored.map((e) => e.term)).toEqual(row.terms);
  });

  it("figure 7: a new leader brings every inconsistent follower's log into agreement", () => {
    // Leader for term 8 with the log of figure 7 (terms of entries 1..10).
    const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<number, number[]> = {
      2: [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing entries
      3: [1, 1, 1, 4], // (b) missing many
      4: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) an extra uncommitted entry
      5: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
      6: [1, 1, 1, 4, 4, 4, 4], // (e) conflicting term 4 entries
      7: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) conflicting terms 2 and 3
    };
    const cluster = new Cluster({ voters: [1, 2, 3, 4, 5, 6, 7] });
    const logOf = (terms: number[]) => terms.map((term, i) => entry(i + 1, term));
    cluster.get(1).storage.append(logOf(leaderTerms));
    cluster.get(1).storage.setHardState({ term: 7, vote: 0, commit: 0 });
    for (const [id, terms] of Object.entries(followers)) {
      const follower = cluster.get(Number(id));
      follower.storage.append(logOf(terms));
      follower.storage.setHardState({ term: 7, vote: 0, commit: 0 });
    }
    for (const id of cluster.nodes.keys()) cluster.restart(id);
    // Only the leader's log wins an election among 1, 2, 3, 4 (d has term 7 entries: keep it out of the vote).
    cluster.drop = (m) => (m.type === MessageType.RequestVote && (m.to === 5)) || false;
    cluster.elect(1);
    cluster.drop = () => false;
    expect(cluster.get(1).node.status().role).toBe(Role.Leader);
    cluster.get(1).node.propose(bytes("z"));
    cluster.stabilize();
    const reference = cluster.get(1).storage;
    const expected = reference.entries(1, reference.lastIndex() + 1, Infinity).map((e) => [e.index, e.term]);
    for (const id of [2, 3, 4, 5, 6, 7]) {
      const storage = cluster.get(id).storage;
      expect(storage.entries(1, storage.lastIndex() + 1, Infinity).map((e) => [e.index, e.term])).toEqual(expected);
    }
  });
});

describe("§5.4.2 committing entries from previous terms", () => {
  it("a leader does not commit an entry of an earlier term by counting replicas", () => {
    // Node 1 leads term 3 with entries of term 1 and 2 not known to be committed.
    const driver = createDriver({ entries: [entry(1, 1), entry(2, 2)], term: 2 });
    electLeader(driver);
    expect(driver.node.status().term).toBe(3);
    // Its own empty entry of term 3 is index 3. Follower 2 acks only index 2.
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 3, index: 2 }));
    driver.messages();
    expect(driver.node.status().commit).toBe(0);
    // Once the term-3 entry is on a majority, it and everything before it commit.
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 3, index: 3 }));
    driver.messages();
    expect(driver.node.status().commit).toBe(3);
  });
});

describe("thesis §10.2.1 persistence and the leader's own copy", () => {
  it("a leader's appends go out before its own write; responses only after persisting", () => {
    const driver = createDriver();
    electLeader(driver);
    for (const from of [2, 3]) driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from, term: 1, index: 1 }));
    driver.messages();
    driver.node.propose(bytes("x"));
    const ready = driver.node.ready();
    expect(ready.entries.length).toBeGreaterThan(0);
    expect(ready.messages.every((m) => m.type === MessageType.Append)).toBe(true);
    expect(ready.messages.length).toBe(2);
    driver.node.advance(ready);

    const follower = createDriver({ id: 2 });
    follower.node.step(message({ type: MessageType.Append, to: 2, from: 1, term: 1, entries: [entry(1, 1)] }));
    const followerReady = follower.node.ready();
    expect(followerReady.messages).toHaveLength(0);
    expect(followerReady.messagesAfterPersist[0]).toMatchObject({ type: MessageType.AppendResponse, index: 1 });
  });

  it("the leader's own unpersisted entry does not count towards a commit", () => {
    const driver = createDriver({ voters: [1, 2, 3] });
    driver.node.campaign();
    driver.node.step(message({ type: MessageType.RequestVoteResponse, to: 1, from: 2, term: 1 }));
    // Leader of term 1 with its empty entry at index 1, not yet persisted.
    const ready = driver.node.ready();
    expect(ready.entries.map((e) => e.index)).toEqual([1]);
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 1, index: 1 }));
    // 2 has it durably, but the leader's copy is not durable yet: 1 of 3.
    expect(driver.node.status().commit).toBe(0);
    driver.storage.append(ready.entries);
    driver.storage.setHardState(ready.hardState!);
    driver.node.advance(ready);
    expect(driver.node.status().commit).toBe(1);
  });
});

describe("flow control", () => {
  it("at most maxInflightMessages appends are outstanding to a replicating follower", () => {
    const driver = createDriver({ config: { maxInflightMessages: 3, maxSizePerMessage: 1 } });
    electLeader(driver);
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 1, index: 1 }));
    driver.messages();
    for (let i = 0; i < 10; i++) driver.node.propose(bytes(`p${i}`));
    const appendsTo2 = driver.messages().filter((m) => m.type === MessageType.Append && m.to === 2);
    expect(appendsTo2).toHaveLength(3);
    expect(driver.node.status().progress.get(2)?.inflight).toBe(3);
    // An ack frees the window and the pipeline continues.
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 1, index: appendsTo2[0]!.entries[0]!.index }));
    expect(driver.messages().filter((m) => m.type === MessageType.Append && m.to === 2)).toHaveLength(1);
  });

  it("one append carries entries up to maxSizePerMessage bytes (at least one)", () => {
    const driver = createDriver({ config: { maxSizePerMessage: 100 } });
    electLeader(driver);
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 1, index: 1 }));
    driver.messages();
    for (let i = 0; i < 10; i++) driver.node.propose(new Uint8Array(40));
    const appends = driver.messages().filter((m) => m.type === MessageType.Append && m.to === 2);
    expect(appends.length).toBeGreaterThan(1);
    for (const append of appends) {
      const size = append.entries.reduce((sum, e) => sum + e.data.byteLength + 16, 0);
      expect(append.entries.length === 1 || size <= 100).toBe(true);
    }
    expect(appends.flatMap((m) => m.entries).length).toBe(10);
  });

  it("proposals beyond maxUncommittedEntriesSize are dropped with a typed error", () => {
    const driver = createDriver({ config: { maxUncommittedEntriesSize: 100 } });
    electLeader(driver);
    driver.node.propose(new Uint8Array(60));
    expect(() => driver.node.propose(new Uint8Array(60))).toThrow(/proposal_dropped/);
  });

  it("a follower refuses proposals, naming the leader", () => {
    const driver = createDriver({ term: 1 });
    driver.node.step(message({ type: MessageType.Heartbeat, to: 1, from: 3, term: 1 }));
    try {
      driver.node.propose(bytes("x"));
      expect.fail("propose on a follower must throw");
    } catch (error) {
      expect(error).toMatchObject({ code: "not_leader", leaderHint: 3 });
    }
  });
});

describe("settled (the host's quiescence check)", () => {
  it("agrees with status(): leader known, all committed, every member matched, all applied", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.stabilize();
    const settledBy = (id: number, applied: number): boolean => cluster.get(id).node.settled(applied);
    const last = (id: number): number => cluster.get(id).node.status().lastIndex;
    for (const id of [1, 2, 3]) expect(settledBy(id, last(id))).toBe(true);
    // Applied behind the log: not settled.
    expect(settledBy(1, last(1) - 1)).toBe(false);
    // A proposal not yet replicated or committed: the leader is not settled.
    cluster.drop = () => true;
    cluster.get(1).node.propose(bytes("x"));
    expect(settledBy(1, last(1))).toBe(false);
    cluster.drop = () => false;
    cluster.stabilize();
    for (const id of [1, 2, 3]) expect(settledBy(id, last(id))).toBe(true);
    // Follower 3 falls behind: the leader is not settled until its log matches again.
    cluster.drop = (m) => m.to === 3;
    cluster.get(1).node.propose(bytes("y"));
    cluster.stabilize();
    expect(cluster.get(1).node.status().commit).toBe(last(1));
    expect(settledBy(1, last(1))).toBe(false);
    expect(settledBy(2, last(2))).toBe(true);
    cluster.drop = () => false;
    cluster.tickAll(2);
    cluster.stabilize();
    expect(settledBy(1, last(1))).toBe(true);
  });

  it("a candidate is never settled", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.stabilize();
    cluster.drop = () => true;
    cluster.get(2).node.campaign();
    expect(cluster.get(2).node.status().role).not.toBe(Role.Follower);
    expect(cluster.get(2).node.settled(cluster.get(2).node.status().lastIndex)).toBe(false);
  });
});
