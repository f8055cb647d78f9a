/**
 * Pipelined saves in the host loop (docs/architecture.md, "The node host"):
 * the next iteration's groups are written while an earlier save is in
 * flight, a group's next Ready is written while its previous one is (several
 * Readies in flight per group), and nothing a save carries is acknowledged or
 * applied before it is durable.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogStore, createMemorySnapshotStore, NodeHost } from "../../../framework/host/index.js";
import type { GroupUpdate, HostLogStore } from "../../../framework/host/index.js";
import {
  ConfChangeTransition, ConfChangeType, createSeededRandom, encodeConfChange, EntryType,
} from "../../../framework/raft/index.js";
import { createSilentLogger, createSystemClock } from "../../../framework/transport/index.js";
import { bytes, eventually } from "./host-cluster.js";
import { createKvStateMachine } from "./kv-state-machine.js";
import { MemoryNetwork } from "./memory-network.js";

interface HeldSave {
  readonly groups: readonly number[];
  readonly release: () => void;
  /** The disk failed this save (later ones then fail too: saves resolve in call order). */
  readonly fail: (error: Error) => void;
  released: boolean;
}

/** A memory log store whose saves (reads see them at once) resolve only when the test releases them, in call order. */
function gatedLogStore(): {
  store: HostLogStore;
  saves: HeldSave[];
  /** The groups of each saveUnsynced call (never held: the host does not wait for them). */
  unsynced: (readonly number[])[];
  hold: (on: boolean) => void;
} {
  const inner = createMemoryLogStore();
  const saves: HeldSave[] = [];
  const unsynced: (readonly number[])[] = [];
  let holding = false;
  let previous: Promise<void> = Promise.resolve();
  const store: HostLogStore = {
    ...inner,
    storage: (groupId) => inner.storage(groupId),
    groupIds: () => inner.groupIds(),
    saveUnsynced(updates: readonly GroupUpdate[]): void {
      unsynced.push(updates.map((u) => u.groupId));
      inner.saveUnsynced(updates);
    },
    save(updates: readonly GroupUpdate[]): Promise<void> {
      const written = inner.save(updates);
      if (!holding) return written;
      let open: () => void = () => {};
      let broken: (error: Error) => void = () => {};
      const gate = new Promise<void>((resolve, reject) => {
        open = resolve;
        broken = reject;
      });
      const held: HeldSave = {
        groups: updates.map((u) => u.groupId),
        released: false,
        release: () => {
          held.released = true;
          open();
        },
        fail: (error) => {
          held.released = true;
          broken(error);
        },
      };
      saves.push(held);
      // In call order, as LogStore resolves them.
      const done = previous.then(() => Promise.all([written, gate])).then(() => undefined);
      previous = done;
      return done;
    },
  };
  return { store, saves, unsynced, hold: (on) => (holding = on) };
}

let host: NodeHost | undefined;
let held: HeldSave[] = [];
afterEach(async () => {
  // A failed test may leave saves held: stop() waits for every save in flight.
  const releaseAll = setInterval(() => held.forEach((save) => save.released || save.release()), 5);
  try {
    await host?.stop();
  } finally {
    clearInterval(releaseAll);
  }
  host = undefined;
});

async function startHost(maxSavesInFlight: number): Promise<ReturnType<typeof gatedLogStore>> {
  const gated = gatedLogStore();
  held = gated.saves;
  const network = new MemoryNetwork();
  host = new NodeHost(
    { nodeId: 1, tickIntervalMs: 5, electionTicks: 10, heartbeatTicks: 2, maxSavesInFlight },
    {
      logStore: gated.store,
      snapshotStore: createMemorySnapshotStore(),
      transport: network.transportFor(1),
      clock: createSystemClock(),
      random: createSeededRandom(7),
      logger: createSilentLogger(),
      yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),
    },
  );
  network.attach(1, host);
  host.start();
  for (const groupId of [1, 2]) await host.startGroup(groupId, createKvStateMachine(), { voters: [1] });
  await eventually(() => host!.isLeader(1) && host!.isLeader(2), 30_000, "single-member groups to elect themselves");
  // Let the leaders' first entries commit and apply, so the next saves carry only the proposals below.
  await eventually(
    () => [1, 2].every((g) => host!.status(g).appliedByStateMachine === host!.status(g).lastIndex),
    30_000,
    "the leaders' empty entries to apply",
  );
  gated.hold(true);
  return gated;
}

const put = (key: string): Uint8Array => bytes(`set ${key} ${key}`);

describe("pipelined saves", () => {
  it("writes another group's save and the same group's next one while one is in flight; answers only what is durable", async () => {
    const { saves } = await startHost(4);
    let firstDone = false;
    const first = host!.propose(1, put("a")).then((result) => {
      firstDone = true;
      return result;
    });
    await eventually(() => saves.some((save) => save.groups.includes(1)), 30_000, "group 1's save");
    let againDone = false;
    const again = host!.propose(1, put("b")).then((result) => {
      againDone = true;
      return result;
    });
    const other = host!.propose(2, put("c"));
    // Group 2's save and group 1's next one (several Readies in flight per group) start while group
    // 1's first save is still in flight.
    await eventually(() => saves.some((save) => save.groups.includes(2)), 30_000, "group 2's save beside group 1's");
    await eventually(
      () => saves.filter((save) => save.groups.includes(1)).length === 2,
      30_000,
      "group 1's second save beside its first",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(firstDone).toBe(false);
    expect(host!.status(1).appliedByStateMachine).toBeLessThan(host!.status(1).lastIndex - 1);
    // The first save durable: "a" is committed (the leader's own copy is durable) and answered while
    // the save of "b" is still in flight; "b" is not.
    saves.find((save) => save.groups.includes(1))!.release();
    await eventually(() => firstDone, 30_000, "'a' answered once its save is durable");
    expect(await first).toEqual(bytes(""));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(againDone).toBe(false);
    // From here every save is released as it comes.
    const releaseAll = setInterval(() => saves.forEach((save) => save.released || save.release()), 5);
    try {
      await Promise.all([again, other]);
    } finally {
      clearInterval(releaseAll);
    }
    expect(againDone).toBe(true);
  });

  it("applies a Ready that only commits (entries of an earlier, durable save) without waiting for a durable save", async () => {
    const { saves, unsynced } = await startHost(4);
    let firstDone = false;
    const first = host!.propose(1, put("a")).then((result) => {
      firstDone = true;
      return result;
    });
    await eventually(() => saves.some((save) => save.groups.includes(1)), 30_000, "group 1's save of 'a'");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(firstDone).toBe(false); // not durable: not applied
    saves.find((save) => save.groups.includes(1))!.release();
    // The next Ready of group 1 carries only the commit index of 'a' (no new entry, Ready.mustSync
    // false): it is recorded without a durable save (saveUnsynced) and 'a' applies and answers at once.
    const unsyncedBefore = unsynced.filter((groups) => groups.includes(1)).length;
    await eventually(() => firstDone, 30_000, "'a' answered without a durable save of its commit index");
    expect(await first).toEqual(bytes(""));
    expect(unsynced.filter((groups) => groups.includes(1)).length).toBeGreaterThan(unsyncedBefore);
    expect(saves.filter((save) => save.groups.includes(1))).toHaveLength(1);
    expect(host!.status(1).appliedByStateMachine).toBe(host!.status(1).lastIndex);
    // And the group is not held either: its next proposal's save is issued while nothing was released.
    const second = host!.propose(1, put("b"));
    await eventually(() => saves.filter((save) => save.groups.includes(1)).length === 2, 30_000, "group 1's next save");
    saves.filter((save) => save.groups.includes(1))[1]!.release();
    expect(await second).toEqual(bytes(""));
  });

  it("restarts a group whose state machine applied beyond the durable commit index (raises the commit index)", async () => {
    const store = createMemoryLogStore();
    const confState = { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    await store.bootstrap(1, confState);
    // Entries 2 and 3 durable, the commit index recorded 1: the state machine applied 3 before the
    // save of the commit index (a crash in between).
    await store.save([{
      groupId: 1,
      hardState: { term: 2, vote: 1, commit: 1 },
      entries: [2, 3].map((index) => ({ term: 2, index, type: EntryType.Normal, data: new Uint8Array(0) })),
      snapshot: undefined,
    }]);
    const machine = createKvStateMachine();
    const network = new MemoryNetwork();
    host = new NodeHost(
      { nodeId: 1, tickIntervalMs: 5, electionTicks: 10, heartbeatTicks: 2 },
      {
        logStore: store,
        snapshotStore: createMemorySnapshotStore(),
        transport: network.transportFor(1),
        clock: createSystemClock(),
        random: createSeededRandom(7),
        logger: createSilentLogger(),
        yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),
      },
    );
    network.attach(1, host);
    host.start();
    await host.startGroup(1, { ...machine, open: async () => 3 }, { voters: [1] });
    expect(store.storage(1).initialState().hardState.commit).toBe(3);
    await eventually(() => host!.isLeader(1), 30_000, "the single member to elect itself");
    expect(await host.propose(1, put("d"))).toEqual(bytes(""));
    expect(machine.data.get("d")).toBe("d");
    expect(machine.appliedIndex()).toBeGreaterThan(3);
  });

  it("takes a snapshot naming the members when a restart replays a conf change the state machine applied", async () => {
    const store = createMemoryLogStore();
    const snapshots = createMemorySnapshotStore();
    await store.bootstrap(1, { voters: [1], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
    // Entry 3 adds learner 2; the state machine applied it (and crashed before any snapshot): the newest
    // snapshot (index 1) does not name node 2, which could never use it.
    const addLearner = encodeConfChange({
      transition: ConfChangeTransition.Auto,
      changes: [{ type: ConfChangeType.AddLearner, nodeId: 2 }],
      context: new Uint8Array(0),
    });
    await store.save([{
      groupId: 1,
      hardState: { term: 2, vote: 1, commit: 3 },
      entries: [
        { term: 2, index: 2, type: EntryType.Normal, data: new Uint8Array(0) },
        { term: 2, index: 3, type: EntryType.ConfChange, data: addLearner },
      ],
      snapshot: undefined,
    }]);
    const machine = createKvStateMachine();
    const network = new MemoryNetwork();
    host = new NodeHost(
      { nodeId: 1, tickIntervalMs: 5, electionTicks: 10, heartbeatTicks: 2 },
      {
        logStore: store,
        snapshotStore: snapshots,
        transport: network.transportFor(1),
        clock: createSystemClock(),
        random: createSeededRandom(7),
        logger: createSilentLogger(),
        yieldToEventLoop: () => new Promise((resolve) => setImmediate(resolve)),
      },
    );
    network.attach(1, host);
    host.start();
    await host.startGroup(1, { ...machine, open: async () => 3 }, { voters: [1] });
    await eventually(() => host!.isLeader(1), 30_000, "the single voter to elect itself");
    let newest: Awaited<ReturnType<typeof snapshots.newest>>;
    const deadline = performance.now() + 30_000;
    for (;;) {
      newest = await snapshots.newest(1);
      if (newest !== undefined && newest.index >= 3) break;
      if (performance.now() > deadline) throw new Error(`no snapshot after the replayed conf change (newest ${newest?.index})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(newest.confState.learners).toEqual([2]);
  });

  it("maxSavesInFlight 1: no iteration starts a save while one is in flight", async () => {
    const { saves } = await startHost(1);
    const first = host!.propose(1, put("a"));
    await eventually(() => saves.length === 1, 30_000, "group 1's save");
    const other = host!.propose(2, put("c"));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(saves).toHaveLength(1);
    const releaseAll = setInterval(() => saves.forEach((save) => save.released || save.release()), 5);
    try {
      await Promise.all([first, other]);
    } finally {
      clearInterval(releaseAll);
    }
    expect(saves.length).toBeGreaterThan(1);
  });

  it("a failed save stops the node: every waiting proposal and every later one fails with storage_failed", async () => {
    const { saves } = await startHost(4);
    const first = host!.propose(1, put("a"));
    await eventually(() => saves.some((save) => save.groups.includes(1)), 30_000, "group 1's save");
    const other = host!.propose(2, put("c"));
    await eventually(() => saves.some((save) => save.groups.includes(2)), 30_000, "group 2's save beside group 1's");
    saves[0]!.fail(new Error("ENOSPC: no space left on device"));
    await expect(first).rejects.toMatchObject({ code: "storage_failed" });
    await expect(other).rejects.toMatchObject({ code: "storage_failed" });
    expect(() => host!.propose(1, put("b"))).toThrow(/stopped accepting writes: .*ENOSPC/);
  });

  it("refuses maxSavesInFlight 0, naming it", () => {
    const network = new MemoryNetwork();
    expect(
      () =>
        new NodeHost(
          { nodeId: 1, maxSavesInFlight: 0 },
          {
            logStore: createMemoryLogStore(),
            snapshotStore: createMemorySnapshotStore(),
            transport: network.transportFor(1),
            clock: createSystemClock(),
            random: createSeededRandom(7),
            logger: createSilentLogger(),
            yieldToEventLoop: () => Promise.resolve(),
          },
        ),
    ).toThrow(/maxSavesInFlight = 0, allowed a positive integer/);
  });
});
