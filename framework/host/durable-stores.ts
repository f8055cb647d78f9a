import type { ConfState, InitialState, RaftStorage, Snapshot, SnapshotMetadata } from "../raft/index.js";
import type { LogStore, SnapshotStore } from "../storage/index.js";
import { HostError, HostErrorCode } from "./errors.js";
import type { GroupUpdate, HostLogStore } from "./log-store.js";
import type { HostSnapshotStore } from "./snapshot-store.js";

export interface DurableStores {
  readonly logStore: HostLogStore;
  readonly snapshotStore: HostSnapshotStore;
}

const emptyData = new Uint8Array(0);

/**
 * The host's stores on disk: framework/storage's LogStore (every group's log
 * and hard state, one fsync per save) and SnapshotStore (snapshot files).
 *
 * A snapshot this replica takes of its own state lives in the SnapshotStore,
 * metadata included; the log is only compacted behind it. So the raft view of
 * a group answers snapshot() and initialState().confState from whichever is
 * newer: the log's own snapshot (bootstrap, or one received from a leader)
 * or the newest snapshot file.
 */
export async function createDurableStores(logStore: LogStore, snapshotStore: SnapshotStore): Promise<DurableStores> {
  const newestLocal = new Map<number, SnapshotMetadata>();
  for (const groupId of logStore.groupIds()) {
    // A file beyond the durable commit was received from a leader (stored before raft decides
    // on it) and refused, or accepted without that becoming durable: the group is not there.
    const committed = logStore.storage(groupId).initialState().hardState.commit;
    const files = await snapshotStore.list(groupId);
    const usable = files.find((info) => info.metadata.index <= committed);
    if (usable !== undefined) newestLocal.set(groupId, usable.metadata);
  }
  const noteSnapshot = (groupId: number, metadata: SnapshotMetadata): void => {
    const current = newestLocal.get(groupId);
    if (current === undefined || metadata.index > current.index) newestLocal.set(groupId, metadata);
  };
  const view = (groupId: number): RaftStorage => {
    const inner = logStore.storage(groupId);
    const newest = (): Snapshot => {
      const fromLog = inner.snapshot();
      const local = newestLocal.get(groupId);
      if (local !== undefined && local.index > fromLog.metadata.index && local.index >= inner.firstIndex() - 1) {
        return { metadata: local, data: emptyData };
      }
      return fromLog;
    };
    return {
      initialState(): InitialState {
        return { hardState: inner.initialState().hardState, confState: newest().metadata.confState };
      },
      entries: (low, high, maxBytes) => inner.entries(low, high, maxBytes),
      term: (index) => inner.term(index),
      firstIndex: () => inner.firstIndex(),
      lastIndex: () => inner.lastIndex(),
      snapshot: newest,
    };
  };
  const hostLogStore: HostLogStore = {
    storage: view,
    async save(updates: readonly GroupUpdate[]): Promise<void> {
      await logStore.save(updates);
      for (const update of updates) if (update.snapshot !== undefined) noteSnapshot(update.groupId, update.snapshot.metadata);
    },
    saveUnsynced(updates: readonly GroupUpdate[]): void {
      logStore.saveUnsynced(updates);
      for (const update of updates) if (update.snapshot !== undefined) noteSnapshot(update.groupId, update.snapshot.metadata);
    },
    flush: () => logStore.flush(),
    async bootstrap(groupId: number, confState: ConfState | undefined): Promise<void> {
      if (logStore.groupIds().includes(groupId)) {
        throw new HostError(HostErrorCode.GroupExists, `group ${groupId} already has a log on this node`);
      }
      // A joining replica has nothing to write: it starts as an empty log at index 0.
      if (confState === undefined) return;
      await logStore.save([
        {
          groupId,
          snapshot: { metadata: { index: 1, term: 1, confState }, data: emptyData },
          hardState: { term: 1, vote: 0, commit: 1 },
        },
      ]);
    },
    async recordSnapshot(groupId: number, metadata: SnapshotMetadata, compactIndex: number): Promise<void> {
      noteSnapshot(groupId, metadata);
      const firstIndex = logStore.storage(groupId).firstIndex();
      if (compactIndex >= firstIndex) await logStore.compact(groupId, compactIndex);
    },
    groupIds: () => logStore.groupIds(),
    async removeGroup(groupId: number): Promise<void> {
      newestLocal.delete(groupId);
      await logStore.removeGroup(groupId);
    },
    close: () => logStore.close(),
  };
  const hostSnapshotStore: HostSnapshotStore = {
    async save(groupId, metadata, chunks): Promise<void> {
      await snapshotStore.write(groupId, metadata, chunks);
    },
    open(groupId: number, index: number): AsyncIterable<Uint8Array> {
      return (async function* () {
        const info = (await snapshotStore.list(groupId)).find((candidate) => candidate.metadata.index === index);
        if (info === undefined) {
          throw new HostError(HostErrorCode.SnapshotMissing, `group ${groupId} has no snapshot at index ${index}`);
        }
        const reader = await snapshotStore.open(groupId, index, info.metadata.term);
        try {
          yield* reader.chunks();
        } finally {
          await reader.close();
        }
      })();
    },
    async newest(groupId: number): Promise<SnapshotMetadata | undefined> {
      return (await snapshotStore.list(groupId))[0]?.metadata;
    },
    removeGroup: (groupId) => snapshotStore.removeGroup(groupId),
  };
  return { logStore: hostLogStore, snapshotStore: hostSnapshotStore };
}
