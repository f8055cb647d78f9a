import type { HostLogStore, HostSnapshotStore } from "../../../framework/host/index.js";
import type { RaftStorage } from "../../../framework/raft/index.js";
import type { LogView } from "../safety-checker.js";
import type { DiskObserver } from "./sim-disk.js";

/**
 * The host's stores on framework/storage, watched: once a save resolves (the
 * store says it is durable), its entries and hard state are reported to the
 * safety checks, as the simulated disk reports its own at each fsync.
 */
export function observeLogStore(inner: HostLogStore, observer: DiskObserver): HostLogStore {
  return {
    storage: (groupId) => inner.storage(groupId),
    async save(updates) {
      const before = updates.map((update) =>
        update.hardState === undefined
          ? undefined
          : inner.storage(update.groupId).initialState().hardState,
      );
      await inner.save(updates);
      updates.forEach((update, i) => {
        const log = storageLogView(inner.storage(update.groupId));
        if (update.entries.length > 0) {
          observer.onEntriesDurable(update.groupId, update.entries, log);
        }
        const previous = before[i];
        if (update.hardState !== undefined && previous !== undefined) {
          observer.onHardStateDurable(update.groupId, previous, update.hardState, log);
        }
      });
    },
    // Not acknowledged as durable: nothing to report (a later call makes them durable, unreported).
    saveUnsynced: (updates) => inner.saveUnsynced(updates),
    flush: () => inner.flush(),
    recordSnapshot: (groupId, metadata, compactIndex) =>
      inner.recordSnapshot(groupId, metadata, compactIndex),
    bootstrap: (groupId, confState) => inner.bootstrap(groupId, confState),
    groupIds: () => inner.groupIds(),
    removeGroup: (groupId) => inner.removeGroup(groupId),
    close: () => inner.close(),
  };
}

export function observeSnapshotStore(
  inner: HostSnapshotStore,
  observer: DiskObserver,
): HostSnapshotStore {
  return {
    async save(groupId, metadata, chunks) {
      await inner.save(groupId, metadata, chunks);
      observer.onSnapshotFileDurable(groupId, metadata);
    },
    open: (groupId, index) => inner.open(groupId, index),
    newest: (groupId) => inner.newest(groupId),
    removeGroup: (groupId) => inner.removeGroup(groupId),
  };
}

/** A raft storage view as the safety checker reads logs; undefined outside the log. */
export function storageLogView(storage: RaftStorage): LogView {
  return {
    term(index) {
      if (index < storage.firstIndex() - 1 || index > storage.lastIndex()) return undefined;
      return storage.term(index);
    },
    entry(index) {
      if (index < storage.firstIndex() || index > storage.lastIndex()) return undefined;
      return storage.entries(index, index + 1, Number.MAX_SAFE_INTEGER)[0];
    },
  };
}
