import { createMemoryStorage } from "../raft/index.js";
import type { ConfState, MemoryStorage, RaftStorage, SnapshotMetadata } from "../raft/index.js";
import { HostError, HostErrorCode } from "./errors.js";
import type { GroupUpdate, HostLogStore } from "./log-store.js";

/**
 * HostLogStore in memory: "durable" means written here. Tests and the
 * simulator use it; a simulated crash discards the host, not this store.
 */
export interface MemoryLogStore extends HostLogStore {
  /** Number of save() calls: one per host loop iteration with updates. */
  readonly commits: number;
}

export function createMemoryLogStore(): MemoryLogStore {
  const groups = new Map<number, MemoryStorage>();
  let commits = 0;
  let closed = false;
  const groupStorage = (groupId: number): MemoryStorage => {
    const storage = groups.get(groupId);
    if (storage === undefined) {
      throw new HostError(HostErrorCode.GroupNotFound, `group ${groupId} has no log on this node`);
    }
    return storage;
  };
  const apply = (updates: readonly GroupUpdate[]): void => {
    for (const update of updates) {
      const storage = groupStorage(update.groupId);
      if (update.snapshot !== undefined) storage.applySnapshot(update.snapshot);
      storage.append(update.entries);
      if (update.hardState !== undefined) storage.setHardState(update.hardState);
    }
  };
  const requireOpen = (): void => {
    if (closed) throw new HostError(HostErrorCode.Stopped, "log store is closed");
  };
  return {
    get commits() {
      return commits;
    },
    storage(groupId: number): RaftStorage {
      return groupStorage(groupId);
    },
    async save(updates: readonly GroupUpdate[]): Promise<void> {
      requireOpen();
      commits++;
      apply(updates);
    },
    // In memory nothing is lost: an unsynced save is as good as a saved one.
    saveUnsynced(updates: readonly GroupUpdate[]): void {
      requireOpen();
      apply(updates);
    },
    async flush(): Promise<void> {
      requireOpen();
    },
    async bootstrap(groupId: number, confState: ConfState | undefined): Promise<void> {
      requireOpen();
      if (groups.has(groupId)) {
        throw new HostError(HostErrorCode.GroupExists, `group ${groupId} already has a log on this node`);
      }
      const storage = createMemoryStorage();
      if (confState !== undefined) {
        storage.applySnapshot({ metadata: { index: 1, term: 1, confState }, data: new Uint8Array(0) });
        storage.setHardState({ term: 1, vote: 0, commit: 1 });
      }
      groups.set(groupId, storage);
    },
    async recordSnapshot(groupId: number, metadata: SnapshotMetadata, compactIndex: number): Promise<void> {
      requireOpen();
      const storage = groupStorage(groupId);
      if (metadata.index > storage.snapshot().metadata.index) {
        storage.createSnapshot(metadata.index, metadata.confState, new Uint8Array(0));
      }
      if (compactIndex >= storage.firstIndex()) storage.compact(compactIndex);
    },
    groupIds(): number[] {
      return [...groups.keys()];
    },
    async removeGroup(groupId: number): Promise<void> {
      groups.delete(groupId);
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}

