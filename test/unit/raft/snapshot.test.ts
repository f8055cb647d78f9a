/** Log compaction and snapshot install (Raft §7, thesis §5). */
import { describe, expect, it } from "vitest";
import { MessageType, ProgressState } from "../../../framework/raft/index.js";
import { bytes, Cluster } from "./cluster-harness.js";
import { createDriver, entry, message } from "./node-driver.js";

describe("§7 log compaction", () => {
  it("a follower behind a compacted leader log is brought back by snapshot, then by appends", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.drop = (m) => m.to === 3 || m.from === 3;
    for (let i = 0; i < 10; i++) cluster.get(1).node.propose(bytes(`e${i}`));
    cluster.stabilize();
    const leader = cluster.get(1);
    const applied = leader.node.status().applied;
    leader.storage.createSnapshot(applied, leader.confState, bytes("state"));
    leader.storage.compact(applied);
    cluster.drop = () => false;
    cluster.tickAll(3);
    const follower = cluster.get(3);
    expect(follower.storage.snapshot().metadata.index).toBe(applied);
    expect(follower.node.status().commit).toBe(applied);
    // The follower's ack of the snapshot index resumes replication.
    expect(leader.node.status().progress.get(3)).toMatchObject({ state: ProgressState.Replicate, match: applied });
    leader.node.propose(bytes("after"));
    cluster.tickAll(2);
    expect(leader.node.status().progress.get(3)?.state).toBe(ProgressState.Replicate);
    expect(cluster.appliedData(3)).toEqual(["after"]);
  });

  it("a lost snapshot is retried after the host reports the failure", () => {
    const cluster = new Cluster({ voters: [1, 2, 3] });
    cluster.elect(1);
    cluster.drop = (m) => m.to === 3 || m.from === 3;
    for (let i = 0; i < 5; i++) cluster.get(1).node.propose(bytes(`e${i}`));
    cluster.stabilize();
    const leader = cluster.get(1);
    const applied = leader.node.status().applied;
    leader.storage.createSnapshot(applied, leader.confState, bytes("state"));
    leader.storage.compact(applied);
    cluster.drop = (m) => m.type === MessageType.Snapshot;
    cluster.tickAll(3);
    expect(leader.node.status().progress.get(3)?.state).toBe(ProgressState.Snapshot);
    leader.node.reportSnapshot(3, "failure");
    expect(leader.node.status().progress.get(3)?.state).toBe(ProgressState.Probe);
    cluster.drop = () => false;
    cluster.tickAll(3);
    expect(cluster.get(3).node.status().commit).toBeGreaterThanOrEqual(applied);
  });

  it("a snapshot older than the follower's commit is ignored", () => {
    const driver = createDriver({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], term: 1, commit: 3 });
    const confState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    driver.node.step(
      message({
        type: MessageType.Snapshot,
        to: 1,
        from: 2,
        term: 1,
        snapshot: { metadata: { index: 2, term: 1, confState }, data: new Uint8Array(0) },
      }),
    );
    const ready = driver.node.ready();
    expect(ready.snapshot).toBeUndefined();
    expect(ready.messagesAfterPersist[0]).toMatchObject({ type: MessageType.AppendResponse, index: 3 });
  });

  it("a snapshot whose last entry the follower has just moves its commit forward", () => {
    const driver = createDriver({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], term: 1, commit: 1 });
    const confState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    driver.node.step(
      message({
        type: MessageType.Snapshot,
        to: 1,
        from: 2,
        term: 1,
        snapshot: { metadata: { index: 2, term: 1, confState }, data: new Uint8Array(0) },
      }),
    );
    const ready = driver.node.ready();
    expect(ready.snapshot).toBeUndefined();
    expect(driver.node.status().commit).toBe(2);
  });
});
