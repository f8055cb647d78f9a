import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createDurableStores } from "../../../framework/host/index.js";
import { openLogStore, openSnapshotStore } from "../../../framework/storage/index.js";
import { bytes, eventually, HostCluster } from "./host-cluster.js";
import type { Disk } from "./host-cluster.js";

let cluster: HostCluster | undefined;
let directory: string | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

async function openDisk(root: string, id: number): Promise<Disk> {
  const logStore = await openLogStore({ directory: join(root, `n${id}`, "log") });
  const snapshotStore = await openSnapshotStore({ directory: join(root, `n${id}`, "snapshots") });
  return createDurableStores(logStore, snapshotStore);
}

describe("NodeHost on durable stores", () => {
  it("every node restarts from its own files with all acknowledged commands", async () => {
    directory = await mkdtemp(join(tmpdir(), "raftkit-host-"));
    const root = directory;
    const disks = new Map<number, Disk>();
    for (const id of [1, 2, 3]) disks.set(id, await openDisk(root, id));
    cluster = new HostCluster([1, 2, 3], { snapshotEntries: 30, compactionOverhead: 5 }, disks);
    for (const groupId of [1, 2, 3, 4]) await cluster.startGroup(groupId);
    for (const groupId of [1, 2, 3, 4]) {
      const leader = cluster.hosts.get(await cluster.waitForLeader(groupId))!;
      for (let i = 0; i < 50; i++) await leader.propose(groupId, bytes(`set k${i} g${groupId}-${i}`));
    }
    await eventually(
      () => [1, 2, 3].every((n) => [1, 2, 3, 4].every((g) => cluster!.machine(n, g).data.size === 50)),
      30_000,
      "all applied",
    );
    for (const id of [1, 2, 3]) {
      await cluster.crash(id);
      await disks.get(id)!.logStore.close();
    }
    // Every node comes back from its files alone.
    for (const id of [1, 2, 3]) {
      cluster.setDisk(id, await openDisk(root, id));
      cluster.startHost(id);
    }
    for (const id of [1, 2, 3]) for (const groupId of [1, 2, 3, 4]) await cluster.startReplica(id, groupId, [1, 2, 3]);
    for (const groupId of [1, 2, 3, 4]) {
      const leader = cluster.hosts.get(await cluster.waitForLeader(groupId))!;
      expect(new TextDecoder().decode(await leader.query(groupId, bytes("get k49")))).toBe(`g${groupId}-49`);
      await leader.propose(groupId, bytes("set after restart"));
    }
    await eventually(
      () => [1, 2, 3].every((n) => [1, 2, 3, 4].every((g) => cluster!.machine(n, g).data.size === 51)),
      30_000,
      "all replicas recovered and applied the new command",
    );
    for (const id of [1, 2, 3]) expect(cluster.hosts.get(id)!.status(1).snapshotIndex).toBeGreaterThan(1);
  });
});
