/**
 * A commit-only Ready (Ready.mustSync false) is recorded without a durable
 * write (HostLogStore.saveUnsynced) and does not hold its group: a crash may
 * lose it, and the node must still come back — with a log that is a prefix
 * of what it wrote, every acknowledged command, a commit index within its
 * durable log, and a state machine that catches up with the others. The
 * nodes' stores are framework/storage's over the simulator's file system,
 * whose crash keeps only what was durable (plus a random prefix of
 * unsynced writes).
 */
import { afterEach, describe, expect, it } from "vitest";
import { createDurableStores } from "../../../framework/host/index.js";
import type { HostLogStore, NodeHostConfig } from "../../../framework/host/index.js";
import type { Entry } from "../../../framework/raft/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import { openLogStore, openSnapshotStore } from "../../../framework/storage/index.js";
import { createSimFileSystemDisk } from "../../sim/host/sim-file-system.js";
import type { SimFileSystemDisk } from "../../sim/host/sim-file-system.js";
import { bytes, eventually, HostCluster } from "./host-cluster.js";
import type { Disk } from "./host-cluster.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

/** What the host asked of its log store without waiting for durability. */
interface UnsyncedCounts {
  /** saveUnsynced calls. */
  unsynced: number;
  /** flush calls that found unsynced updates not yet carried by a durable call. */
  flushesOfUnsynced: number;
}

/** Counts saveUnsynced calls and the flushes that had some to make durable. */
function countUnsynced(inner: HostLogStore, counts: UnsyncedCounts): HostLogStore {
  let gathered = false;
  const carried = <T>(call: Promise<T>): Promise<T> => {
    gathered = false;
    return call;
  };
  return {
    storage: (groupId) => inner.storage(groupId),
    save: (updates) => carried(inner.save(updates)),
    saveUnsynced(updates) {
      counts.unsynced++;
      gathered = true;
      inner.saveUnsynced(updates);
    },
    flush() {
      if (gathered) counts.flushesOfUnsynced++;
      return carried(inner.flush());
    },
    recordSnapshot: (groupId, metadata, compactIndex) => carried(inner.recordSnapshot(groupId, metadata, compactIndex)),
    bootstrap: (groupId, confState) => carried(inner.bootstrap(groupId, confState)),
    groupIds: () => inner.groupIds(),
    removeGroup: (groupId) => carried(inner.removeGroup(groupId)),
    close: () => inner.close(),
  };
}

interface SimNodeDisk {
  readonly files: SimFileSystemDisk;
  crash: () => void;
}

async function openDisk(node: SimNodeDisk, seed: number, counts: UnsyncedCounts): Promise<Disk> {
  const opened = node.files.open({
    random: createSeededRandom(seed),
    durableWrites: true,
    afterSync: (run) => void setImmediate(run),
  });
  node.crash = () => void opened.crash();
  const logStore = await openLogStore({ directory: "/log", fileSystem: opened.fileSystem, segmentBytes: 64 * 1024 });
  const snapshotStore = await openSnapshotStore({ directory: "/snapshots", fileSystem: opened.fileSystem });
  const stores = await createDurableStores(logStore, snapshotStore);
  return { logStore: countUnsynced(stores.logStore, counts), snapshotStore: stores.snapshotStore };
}

async function startCluster(config: Partial<NodeHostConfig>): Promise<{
  nodes: Map<number, SimNodeDisk>;
  counts: Map<number, UnsyncedCounts>;
}> {
  const nodes = new Map<number, SimNodeDisk>();
  const counts = new Map<number, UnsyncedCounts>();
  const disks = new Map<number, Disk>();
  for (const id of [1, 2, 3]) {
    const node: SimNodeDisk = { files: createSimFileSystemDisk(), crash: () => {} };
    const count: UnsyncedCounts = { unsynced: 0, flushesOfUnsynced: 0 };
    nodes.set(id, node);
    counts.set(id, count);
    disks.set(id, await openDisk(node, id, count));
  }
  cluster = new HostCluster([1, 2, 3], config, disks);
  cluster.packed = false; // one command per entry: entries are counted below
  await cluster.startGroup(1);
  return { nodes, counts };
}

/** Crashes node `id` (its host and its file system: unsynced writes are lost) and restarts it from its disk. */
async function crashAndRestart(nodes: Map<number, SimNodeDisk>, id: number, seed: number): Promise<Disk> {
  await cluster!.crash(id);
  const node = nodes.get(id)!;
  node.crash();
  const disk = await openDisk(node, seed, { unsynced: 0, flushesOfUnsynced: 0 });
  cluster!.setDisk(id, disk);
  return disk;
}

const entriesOf = (disk: Disk, low: number, high: number): Entry[] => [
  ...disk.logStore.storage(1).entries(low, high + 1, Number.MAX_SAFE_INTEGER),
];

const sameEntries = (a: readonly Entry[], b: readonly Entry[]): boolean =>
  a.length === b.length &&
  a.every((entry, i) => entry.index === b[i]!.index && entry.term === b[i]!.term && Buffer.compare(entry.data, b[i]!.data) === 0);

describe("NodeHost: commit-only saves without a sync", () => {
  it("a crash right after commit-only saves: the log is a prefix, the commit within it, nothing acknowledged lost", async () => {
    const { nodes, counts } = await startCluster({ snapshotEntries: 1000 });
    const leaderId = await cluster!.waitForLeader(1);
    const leader = cluster!.hosts.get(leaderId)!;
    for (let i = 0; i < 20; i++) await leader.propose(1, bytes(`set k${i} v${i}`));
    await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.size === 20), 30_000, "all applied");
    // The leader's last commit index came in a commit-only Ready: recorded, not durable.
    expect(counts.get(leaderId)!.unsynced).toBeGreaterThan(0);
    const before = cluster!.disks.get(leaderId)!;
    const commitBefore = before.logStore.storage(1).initialState().hardState.commit;
    const lastBefore = before.logStore.storage(1).lastIndex();
    const firstBefore = before.logStore.storage(1).firstIndex();
    const logBefore = entriesOf(before, firstBefore, lastBefore);
    expect(commitBefore).toBe(lastBefore);

    const after = await crashAndRestart(nodes, leaderId, 101);
    const recovered = after.logStore.storage(1);
    const commit = recovered.initialState().hardState.commit;
    // The commit-only record was lost (it was never a write of its own), the entries were not.
    expect(commit).toBeLessThan(commitBefore);
    expect(recovered.lastIndex()).toBe(lastBefore);
    expect(commit).toBeLessThanOrEqual(recovered.lastIndex());
    expect(sameEntries(entriesOf(after, firstBefore, recovered.lastIndex()), logBefore)).toBe(true);

    cluster!.startHost(leaderId);
    await cluster!.startReplica(leaderId, 1, [1, 2, 3]);
    const newLeader = cluster!.hosts.get(await cluster!.waitForLeader(1))!;
    await newLeader.propose(1, bytes("set after crash"));
    await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.size === 21), 30_000, "all caught up");
    const reference = [...cluster!.machine(1, 1).data];
    for (const id of [2, 3]) expect([...cluster!.machine(id, 1).data]).toEqual(reference);
  });

  for (const compactionOverhead of [1000, 2]) {
    const what = compactionOverhead === 2 ? "snapshots and compactions" : "snapshots (no compaction)";
    it(`${what} taken while the newest commit index is not durable, then a crash: the node restarts and catches up`, async () => {
      // One entry per Ready applied (maxCommittedSizePerReady 1 byte): a burst's commit index arrives in one
      // commit-only Ready and its entries are applied over many more Readies without any durable save,
      // with a snapshot every 2 entries; the snapshot store keeps the newest 2 files.
      const { nodes, counts } = await startCluster({
        snapshotEntries: 2,
        compactionOverhead,
        raft: { maxCommittedSizePerReady: 1 },
      });
      const leaderId = await cluster!.waitForLeader(1);
      const leader = cluster!.hosts.get(leaderId)!;
      await Promise.all(Array.from({ length: 30 }, (_, i) => leader.propose(1, bytes(`set k${i} v${i}`))));
      await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.size === 30), 30_000, "all applied");
      await eventually(() => leader.status(1).snapshotIndex >= 30, 30_000, "the leader's last snapshot");
      // Snapshots were taken while a commit index was recorded but not durable (the host flushed it first).
      expect(counts.get(leaderId)!.flushesOfUnsynced).toBeGreaterThan(0);
      const firstBefore = cluster!.disks.get(leaderId)!.logStore.storage(1).firstIndex();
      if (compactionOverhead === 2) expect(firstBefore).toBeGreaterThan(20);

      const after = await crashAndRestart(nodes, leaderId, 202);
      const recovered = after.logStore.storage(1);
      // A snapshot the restart may use is at most the durable commit, and the log continues it.
      const snapshotIndex = recovered.snapshot().metadata.index;
      expect(snapshotIndex).toBeLessThanOrEqual(recovered.initialState().hardState.commit);
      expect(recovered.firstIndex()).toBeLessThanOrEqual(snapshotIndex + 1);
      cluster!.startHost(leaderId);
      await cluster!.startReplica(leaderId, 1, [1, 2, 3]);
      const newLeader = cluster!.hosts.get(await cluster!.waitForLeader(1))!;
      await newLeader.propose(1, bytes("set after crash"));
      await eventually(() => [1, 2, 3].every((id) => cluster!.machine(id, 1).data.size === 31), 30_000, "all caught up");
      const reference = [...cluster!.machine(1, 1).data];
      for (const id of [2, 3]) expect([...cluster!.machine(id, 1).data]).toEqual(reference);
    });
  }
});
