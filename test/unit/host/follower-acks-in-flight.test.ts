/**
 * A follower with several Readies in flight (RaftConfig.maxReadiesInFlight,
 * 4 in the host) acknowledges an entry only once its log store has made it
 * durable, also when the acknowledgement comes with a later Ready that
 * writes nothing itself (the leader sent the entries again, or an empty
 * append after a heartbeat): that Ready completes only after the group's
 * earlier Readies (NodeHost.completeAfter).
 */
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryLogStore, createMemorySnapshotStore } from "../../../framework/host/index.js";
import type { GroupUpdate, HostLogStore, NodeHost } from "../../../framework/host/index.js";
import { MessageType } from "../../../framework/raft/index.js";
import type { GroupMessage, TransportHandler } from "../../../framework/transport/index.js";
import { bytes, eventually, HostCluster } from "./host-cluster.js";
import type { Disk } from "./host-cluster.js";

/** A memory log store that can hold its saves (reads see them at once; they resolve in call order once released). */
class HoldingLogStore {
  readonly store: HostLogStore;
  /** Highest entry index per group whose save has resolved (durable). */
  readonly durableLast = new Map<number, number>();
  holding = false;
  private readonly held: (() => void)[] = [];
  heldCount = 0;

  constructor() {
    const inner = createMemoryLogStore();
    let previous: Promise<void> = Promise.resolve();
    const recordDurable = (updates: readonly GroupUpdate[]): void => {
      for (const update of updates) {
        const last = update.entries[update.entries.length - 1];
        if (update.snapshot !== undefined) this.raise(update.groupId, update.snapshot.metadata.index);
        if (last !== undefined) this.durableLast.set(update.groupId, last.index); // the log now ends here
      }
    };
    this.store = {
      ...inner,
      storage: (groupId) => inner.storage(groupId),
      groupIds: () => inner.groupIds(),
      bootstrap: async (groupId, confState) => {
        await inner.bootstrap(groupId, confState);
        this.raise(groupId, inner.storage(groupId).lastIndex());
      },
      save: (updates) => {
        const written = inner.save(updates);
        let gate: Promise<void> = Promise.resolve();
        if (this.holding) {
          this.heldCount++;
          gate = new Promise<void>((resolve) => this.held.push(resolve));
        }
        const done = previous.then(() => Promise.all([written, gate])).then(() => recordDurable(updates));
        previous = done;
        return done;
      },
    };
  }

  private raise(groupId: number, index: number): void {
    this.durableLast.set(groupId, Math.max(this.durableLast.get(groupId) ?? 0, index));
  }

  releaseAll(): void {
    this.holding = false;
    for (const release of this.held.splice(0)) release();
  }
}

let cluster: HostCluster | undefined;
let stores: HoldingLogStore[] = [];
afterEach(async () => {
  for (const store of stores) store.releaseAll();
  await cluster?.stopAll();
  cluster = undefined;
  stores = [];
});

/** Wraps a host's message handler so that every batch it receives is seen first. */
function observeIncoming(host: NodeHost, seen: (from: number, items: readonly GroupMessage[]) => void): TransportHandler {
  return {
    onMessages: (from, items) => {
      seen(from, items);
      host.onMessages(from, items);
    },
    onSnapshot: (snapshot) => host.onSnapshot(snapshot),
    onUnreachable: (groupId, nodeId) => host.onUnreachable(groupId, nodeId),
    onPeerDisconnected: (nodeId) => host.onPeerDisconnected?.(nodeId),
  };
}

describe("a follower with several Readies in flight", () => {
  it("acknowledges only entries its log store has made durable, while the leader keeps sending", async () => {
    const disks = new Map<number, Disk>();
    const holding = new Map<number, HoldingLogStore>();
    for (const id of [1, 2, 3]) {
      const store = new HoldingLogStore();
      holding.set(id, store);
      disks.set(id, { logStore: store.store, snapshotStore: createMemorySnapshotStore() });
    }
    stores = [...holding.values()];
    cluster = new HostCluster([1, 2, 3], {}, disks);
    await cluster.startGroup(1);
    const leader = await cluster.waitForLeader(1);
    const slow = [1, 2, 3].find((id) => id !== leader)!;
    const slowStore = holding.get(slow)!;
    const early: string[] = [];
    let acksSeen = 0;
    cluster.network.attach(
      leader,
      observeIncoming(cluster.hosts.get(leader)!, (from, items) => {
        if (from !== slow) return;
        for (const { groupId, message } of items) {
          if (groupId !== 1 || message.type !== MessageType.AppendResponse || message.reject) continue;
          acksSeen++;
          const durable = slowStore.durableLast.get(1) ?? 0;
          if (message.index > durable) early.push(`ack of ${message.index} with ${durable} durable`);
        }
      }),
    );
    expect(await cluster.hosts.get(leader)!.propose(1, bytes("set a 1"))).toEqual(bytes(""));
    await eventually(() => cluster!.hosts.get(slow)!.status(1).appliedByStateMachine >= 3, 30_000, "the slow follower to apply 'a'");

    // The slow follower's disk stops completing writes; the leader and the other follower go on.
    slowStore.holding = true;
    const writes = ["b", "c", "d", "e"].map(async (key) => {
      await cluster!.hosts.get(leader)!.propose(1, bytes(`set ${key} 1`));
    });
    await Promise.all(writes);
    await eventually(() => slowStore.heldCount >= 1, 30_000, "a save of the slow follower held");
    // Heartbeats go on: their answers make the leader send appends again (empty ones: it sent
    // everything already), which the follower answers with Readies that write nothing new.
    const before = acksSeen;
    const receivedBefore = cluster.network.groupMessagesDelivered;
    await eventually(
      () => cluster!.network.groupMessagesDelivered > receivedBefore + 60,
      30_000,
      "some heartbeat rounds while the follower's saves are held",
    );
    expect(early).toEqual([]);

    slowStore.releaseAll();
    const leaderLast = cluster.hosts.get(leader)!.status(1).lastIndex;
    await eventually(() => cluster!.hosts.get(slow)!.status(1).appliedByStateMachine >= leaderLast, 30_000, "the slow follower to catch up");
    await eventually(() => acksSeen > before, 30_000, "the slow follower's acknowledgements once durable");
    expect(early).toEqual([]);
  });
});
