import { describe, expect, it } from "vitest";
import type { Entry } from "../../../framework/raft/index.js";
import { EntryType } from "../../../framework/raft/index.js";
import { createTrace } from "../trace.js";
import { createScheduler, settle } from "./scheduler.js";
import type { Scheduler } from "./scheduler.js";
import { createSimDisk, openDisk } from "./sim-disk.js";
import type { DiskEnvironment, SimDisk } from "./sim-disk.js";

const confState = {
  voters: [1, 2, 3],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};
const entry = (index: number, term: number): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new Uint8Array([index]),
});

function environment(scheduler: Scheduler, latency: number): DiskEnvironment {
  const ignore = (): void => {};
  return {
    now: () => scheduler.now(),
    at: (time, run, label) => scheduler.at(time, run, label),
    fsyncLatency: () => latency,
    observer: {
      onEntriesDurable: ignore,
      onHardStateDurable: ignore,
      onSnapshotFileDurable: ignore,
    },
  };
}

/** Runs the events due by `until`, letting each one's continuations finish. */
async function drain(scheduler: Scheduler, until: number): Promise<void> {
  for (;;) {
    await settle();
    if ((scheduler.nextTime() ?? Infinity) > until) return;
    scheduler.runNext();
  }
}

async function bootstrapped(scheduler: Scheduler, disk: SimDisk): Promise<void> {
  const handle = openDisk(disk, environment(scheduler, 1));
  const done = handle.logStore.bootstrap(7, confState);
  await drain(scheduler, scheduler.now() + 1);
  await done;
}

describe("simulated disk", () => {
  it("makes a save durable and visible only at its fsync, and resolves it then", async () => {
    const scheduler = createScheduler(createTrace());
    const disk = createSimDisk(1);
    await bootstrapped(scheduler, disk);
    const handle = openDisk(disk, environment(scheduler, 5));
    let resolved = false;
    void handle.logStore
      .save([
        {
          groupId: 7,
          hardState: { term: 2, vote: 1, commit: 1 },
          entries: [entry(2, 2)],
          snapshot: undefined,
        },
      ])
      .then(() => (resolved = true));
    await drain(scheduler, scheduler.now() + 4);
    expect(resolved).toBe(false);
    expect(disk.logs.get(7)!.lastIndex()).toBe(1);
    await drain(scheduler, scheduler.now() + 5);
    expect(resolved).toBe(true);
    expect(disk.logs.get(7)!.lastIndex()).toBe(2);
    expect(disk.logs.get(7)!.hardState()).toEqual({ term: 2, vote: 1, commit: 1 });
  });

  it("loses every unsynced write, log and snapshot file, on a crash", async () => {
    const scheduler = createScheduler(createTrace());
    const disk = createSimDisk(1);
    await bootstrapped(scheduler, disk);
    const handle = openDisk(disk, environment(scheduler, 5));
    void handle.logStore.save([
      {
        groupId: 7,
        hardState: { term: 2, vote: 2, commit: 1 },
        entries: [entry(2, 2)],
        snapshot: undefined,
      },
    ]);
    void handle.snapshotStore.save(
      7,
      { index: 2, term: 2, confState },
      (async function* () {
        yield new Uint8Array([1, 2]);
      })(),
    );
    await drain(scheduler, scheduler.now() + 1);
    expect(handle.pending()).toBe(2);
    expect(handle.crash()).toBe(2);
    await drain(scheduler, scheduler.now() + 20);
    expect(disk.logs.get(7)!.lastIndex()).toBe(1);
    expect(disk.logs.get(7)!.hardState()).toEqual({ term: 1, vote: 0, commit: 1 });
    expect(disk.snapshots.get(7)).toBeUndefined();
    expect(() => handle.snapshotStore.open(7, 2)).toThrow(/no snapshot at index 2/);
  });

  it("keeps the newest snapshot files only, complete", async () => {
    const scheduler = createScheduler(createTrace());
    const disk = createSimDisk(1, 2);
    const handle = openDisk(disk, environment(scheduler, 1));
    for (const index of [3, 5, 4]) {
      const saved = handle.snapshotStore.save(
        7,
        { index, term: 1, confState },
        (async function* () {
          yield new Uint8Array([index]);
          yield new Uint8Array([index, index]);
        })(),
      );
      await drain(scheduler, scheduler.now() + 1);
      await saved;
    }
    expect(disk.snapshots.get(7)!.map((stored) => stored.metadata.index)).toEqual([4, 5]);
    expect((await handle.snapshotStore.newest(7))?.index).toBe(5);
    const chunks: number[][] = [];
    for await (const chunk of handle.snapshotStore.open(7, 5)) chunks.push([...chunk]);
    expect(chunks).toEqual([[5], [5, 5]]);
  });

  it("never drops the snapshot file the durable log starts from", async () => {
    const scheduler = createScheduler(createTrace());
    const disk = createSimDisk(1, 2);
    await bootstrapped(scheduler, disk); // the log of group 7 starts from a snapshot at 1
    const handle = openDisk(disk, environment(scheduler, 1));
    for (const index of [1, 3, 5, 4]) {
      const saved = handle.snapshotStore.save(
        7,
        { index, term: 1, confState },
        (async function* () {
          yield new Uint8Array([index]);
        })(),
      );
      await drain(scheduler, scheduler.now() + 1);
      await saved;
    }
    expect(disk.snapshots.get(7)!.map((stored) => stored.metadata.index)).toEqual([1, 4, 5]);
  });

  it("refuses writes to a group without a log, naming it", async () => {
    const handle = openDisk(createSimDisk(3), environment(createScheduler(createTrace()), 1));
    await expect(
      handle.logStore.save([
        { groupId: 9, hardState: undefined, entries: [], snapshot: undefined },
      ]),
    ).rejects.toThrow(/group 9 has no log on node 3/);
    expect(() => createSimDisk(1, 0)).toThrow(/keepSnapshots = 0/);
  });
});
