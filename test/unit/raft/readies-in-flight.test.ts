/**
 * Several Readies in flight (RaftConfig.maxReadiesInFlight > 1): the core
 * tells entries handed to the host ("in progress") from entries persisted
 * (advanced), and every safety rule of one Ready at a time still holds.
 * Each test names the mutant of the core it was seen to fail on.
 */
import { describe, expect, it } from "vitest";
import { MessageType, Role } from "../../../framework/raft/index.js";
import type { Ready } from "../../../framework/raft/index.js";
import { createDriver, electLeader, entry, message } from "./node-driver.js";
import type { Driver } from "./node-driver.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** What a host does when a Ready's save is durable: write it to storage, then advance. */
function persistAndAdvance(driver: Driver, ready: Ready): void {
  if (ready.snapshot !== undefined) driver.storage.applySnapshot(ready.snapshot);
  driver.storage.append(ready.entries);
  if (ready.hardState !== undefined) driver.storage.setHardState(ready.hardState);
  driver.node.advance(ready);
}

const pipelined = { config: { maxReadiesInFlight: 3 } };

/** A leader of term 1 over voters 1..3 whose empty entry (index 1) is durable and committed. */
function steadyLeader(): Driver {
  const driver = createDriver(pipelined);
  electLeader(driver);
  for (const from of [2, 3]) driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from, term: 1, index: 1 }));
  while (driver.node.hasReady()) driver.drain();
  expect(driver.node.status().commit).toBe(1);
  return driver;
}

/** A follower (id 2) of leader 1 in term 1 whose log holds entries 1..2 of term 1, durable. */
function follower(): Driver {
  const driver = createDriver({ id: 2, ...pipelined });
  driver.node.step(
    message({ type: MessageType.Append, to: 2, from: 1, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1), entry(2, 1)] }),
  );
  while (driver.node.hasReady()) driver.drain();
  expect(driver.node.status().lastIndex).toBe(2);
  return driver;
}

describe("several Readies in flight", () => {
  // Mutant: RawNode.ready() hands out every unstable entry (ignores Unstable.offsetInProgress).
  it("entries in progress are not handed over twice", () => {
    const driver = steadyLeader();
    driver.node.propose(bytes("a"));
    const first = driver.node.ready();
    driver.node.propose(bytes("b"));
    expect(driver.node.hasReady()).toBe(true);
    const second = driver.node.ready();
    expect(first.entries.map((e) => e.index)).toEqual([2]);
    expect(second.entries.map((e) => e.index)).toEqual([3]);
    // Nothing new: no third Ready, although two are out and one more is allowed.
    expect(driver.node.hasReady()).toBe(false);
    persistAndAdvance(driver, first);
    persistAndAdvance(driver, second);
    expect(driver.storage.lastIndex()).toBe(3);
  });

  // Mutant: RawNode.hasReady() without its maxReadiesInFlight check.
  it("hands out at most maxReadiesInFlight Readies before an advance", () => {
    const driver = steadyLeader();
    const readies: Ready[] = [];
    for (const text of ["a", "b", "c", "d"]) {
      driver.node.propose(bytes(text));
      if (driver.node.hasReady()) readies.push(driver.node.ready());
    }
    expect(readies).toHaveLength(3);
    expect(() => driver.node.ready()).toThrow(/maxReadiesInFlight/);
    persistAndAdvance(driver, readies[0]!);
    expect(driver.node.hasReady()).toBe(true);
    expect(driver.node.ready().entries.map((e) => e.index)).toEqual([5]);
  });

  // Mutant: Raft.onPersisted counts (or becomeLeader marks) the leader's own entries before advance.
  it("a leader does not count its own entry toward commit until that entry's Ready is advanced (persisted)", () => {
    const driver = steadyLeader();
    const position = driver.node.propose(bytes("a"));
    const first = driver.node.ready();
    driver.node.propose(bytes("b"));
    const second = driver.node.ready();
    // One follower of two has both: with the leader's own copy it would be a quorum of three.
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 1, index: 3 }));
    expect(driver.node.status().commit).toBe(1);
    persistAndAdvance(driver, first);
    expect(driver.node.status().commit).toBe(position.index);
    persistAndAdvance(driver, second);
    expect(driver.node.status().commit).toBe(3);
  });

  it("a quorum of followers commits without the leader's own copy (Raft needs any majority)", () => {
    const driver = steadyLeader();
    driver.node.propose(bytes("a"));
    driver.node.ready(); // in flight, never advanced here
    for (const from of [2, 3]) driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from, term: 1, index: 2 }));
    expect(driver.node.status().commit).toBe(2);
  });

  // Mutant: RaftLog.nextCommittedEntries(allowUnstable) ignores allowUnstable (hands out committed, unpersisted entries).
  it("hands out for apply only committed entries this replica has persisted", () => {
    const driver = follower();
    // Entries 3..4 arrive with the leader's commit index 4: committed, but being written here.
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 1, term: 1, index: 2, logTerm: 1, commit: 4, entries: [entry(3, 1), entry(4, 1)] }),
    );
    const writing = driver.node.ready();
    expect(writing.entries.map((e) => e.index)).toEqual([3, 4]);
    expect(writing.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(driver.node.hasReady()).toBe(false);
    persistAndAdvance(driver, writing);
    const apply = driver.node.ready();
    expect(apply.committedEntries.map((e) => e.index)).toEqual([3, 4]);
    expect(apply.entries).toEqual([]);
  });

  // Mutant: Raft sends AppendResponse in Ready.messages (not messagesAfterPersist).
  it("a follower's acknowledgement of entries in progress travels after persist, also when its Ready has no entries", () => {
    const driver = follower();
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 1, term: 1, index: 2, logTerm: 1, commit: 2, entries: [entry(3, 1)] }),
    );
    const writing = driver.node.ready();
    expect(writing.entries.map((e) => e.index)).toEqual([3]);
    // The leader sends it again (a retry): nothing new to write, but the answer acknowledges 3.
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 1, term: 1, index: 2, logTerm: 1, commit: 2, entries: [entry(3, 1)] }),
    );
    const again = driver.node.ready();
    expect(again.entries).toEqual([]);
    expect(again.messages.filter((m) => m.type === MessageType.AppendResponse)).toEqual([]);
    expect(again.messagesAfterPersist).toEqual([expect.objectContaining({ type: MessageType.AppendResponse, index: 3 })]);
    persistAndAdvance(driver, writing);
    persistAndAdvance(driver, again);
  });

  // Mutant: Unstable.truncateAndAppend leaves offsetInProgress where it was.
  it("a conflicting append over entries in progress hands the new entries over", () => {
    const driver = follower();
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 1, term: 1, index: 2, logTerm: 1, entries: [entry(3, 1), entry(4, 1)] }),
    );
    const old = driver.node.ready();
    expect(old.entries.map((e) => `${e.index}/${e.term}`)).toEqual(["3/1", "4/1"]);
    // Leader 3 of term 2 overwrites 3..4 (never committed) with its own 3.
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 3, term: 2, index: 2, logTerm: 1, entries: [entry(3, 2)] }),
    );
    const fresh = driver.node.ready();
    expect(fresh.entries.map((e) => `${e.index}/${e.term}`)).toEqual(["3/2"]);
    expect(fresh.hardState?.term).toBe(2);
    persistAndAdvance(driver, old);
    persistAndAdvance(driver, fresh);
    expect(driver.storage.lastIndex()).toBe(3);
    expect(driver.storage.term(3)).toBe(2);
  });

  // Mutant: Unstable.stableTo drops entries up to the index without comparing the term.
  it("a persisted-ack for an overwritten entry does not advance stable", () => {
    const driver = follower();
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 1, term: 1, index: 2, logTerm: 1, entries: [entry(3, 1), entry(4, 1)] }),
    );
    const old = driver.node.ready();
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 3, term: 2, index: 2, logTerm: 1, commit: 4, entries: [entry(3, 2), entry(4, 2)] }),
    );
    const fresh = driver.node.ready();
    expect(fresh.entries.map((e) => `${e.index}/${e.term}`)).toEqual(["3/2", "4/2"]);
    // The old write (3/1, 4/1) completes first. Had it marked 3..4 persisted, the leader's commit
    // index 4 would hand out entries of term 2 that no save has made durable here.
    persistAndAdvance(driver, old);
    expect(driver.node.hasReady()).toBe(false);
    persistAndAdvance(driver, fresh);
    const apply = driver.node.ready();
    expect(apply.committedEntries.map((e) => `${e.index}/${e.term}`)).toEqual(["3/2", "4/2"]);
  });

  // Mutant: Raft.onPersisted without its matchTerm check.
  it("a late persisted-ack for overwritten entries does not count as the new leader's own copy", () => {
    // Node 1, a follower of 3 in term 1, starts writing 2..5 of term 1. Leader 2 of term 2 overwrites
    // them with 3/2 (4 and 5 are gone) before that write completes; then node 1 wins term 3 and
    // appends its empty entry 4/3. The old write's ack says "5 of term 1": not the log's 5 (none).
    const driver = createDriver({ id: 1, ...pipelined });
    driver.node.step(
      message({ type: MessageType.Append, to: 1, from: 3, term: 1, index: 0, logTerm: 0, commit: 1, entries: [entry(1, 1)] }),
    );
    while (driver.node.hasReady()) driver.drain();
    driver.node.step(
      message({
        type: MessageType.Append, to: 1, from: 3, term: 1, index: 1, logTerm: 1,
        entries: [entry(2, 1), entry(3, 1), entry(4, 1), entry(5, 1)],
      }),
    );
    const old = driver.node.ready();
    driver.node.step(message({ type: MessageType.Append, to: 1, from: 2, term: 2, index: 2, logTerm: 1, entries: [entry(3, 2)] }));
    const fresh = driver.node.ready();
    expect(fresh.entries.map((e) => `${e.index}/${e.term}`)).toEqual(["3/2"]);
    driver.node.campaign();
    for (const from of [2, 3]) driver.node.step(message({ type: MessageType.RequestVoteResponse, to: 1, from, term: 3 }));
    expect(driver.node.status().role).toBe(Role.Leader);
    const leading = driver.node.ready();
    expect(leading.entries.map((e) => `${e.index}/${e.term}`)).toEqual(["4/3"]);
    // Follower 2 has 1..4 of the new leader's log: with the leader's own copy that is a quorum, but
    // the leader has not persisted 4/3 yet.
    driver.node.step(message({ type: MessageType.AppendResponse, to: 1, from: 2, term: 3, index: 4 }));
    persistAndAdvance(driver, old);
    expect(driver.node.status().commit).toBe(1);
    persistAndAdvance(driver, fresh);
    expect(driver.node.status().commit).toBe(1); // 3/2 is of an earlier term: not committed by counting (§5.4.2)
    persistAndAdvance(driver, leading);
    expect(driver.node.status().commit).toBe(4);
  });

  // Mutant: Unstable.acceptInProgress does not mark the snapshot.
  it("a snapshot in progress is not handed over again, and nothing is applied past it until it is persisted", () => {
    const driver = follower();
    const confState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    driver.node.step(
      message({
        type: MessageType.Snapshot,
        to: 2,
        from: 1,
        term: 1,
        snapshot: { metadata: { index: 10, term: 1, confState }, data: bytes("state") },
      }),
    );
    const restoring = driver.node.ready();
    expect(restoring.snapshot?.metadata.index).toBe(10);
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 1, term: 1, index: 10, logTerm: 1, commit: 11, entries: [entry(11, 1)] }),
    );
    const next = driver.node.ready();
    expect(next.snapshot).toBeUndefined();
    expect(next.entries.map((e) => e.index)).toEqual([11]);
    expect(next.committedEntries).toEqual([]);
    persistAndAdvance(driver, restoring);
    persistAndAdvance(driver, next);
    expect(driver.node.ready().committedEntries.map((e) => e.index)).toEqual([11]);
  });

  it("with one Ready in flight (the default) a Ready still hands out the committed entries it writes", () => {
    const driver = createDriver({ id: 2 });
    driver.node.step(
      message({ type: MessageType.Append, to: 2, from: 1, term: 1, index: 0, logTerm: 0, commit: 2, entries: [entry(1, 1), entry(2, 1)] }),
    );
    const ready = driver.node.ready();
    expect(ready.entries.map((e) => e.index)).toEqual([1, 2]);
    expect(ready.committedEntries.map((e) => e.index)).toEqual([1, 2]);
    expect(driver.node.hasReady()).toBe(false);
    expect(() => driver.node.ready()).toThrow(/maxReadiesInFlight/);
  });

  it("refuses maxReadiesInFlight 0, naming it", () => {
    expect(() => createDriver({ config: { maxReadiesInFlight: 0 } })).toThrow(/maxReadiesInFlight = 0/);
  });
});
