import type { SnapshotMetadata } from "../raft/index.js";
import { HostError, HostErrorCode } from "./errors.js";
import type { HostSnapshotStore } from "./snapshot-store.js";

interface StoredSnapshot {
  readonly metadata: SnapshotMetadata;
  readonly chunks: readonly Uint8Array[];
}

/** HostSnapshotStore in memory, keeping the newest `keep` snapshots per group. */
export function createMemorySnapshotStore(keep = 2): HostSnapshotStore {
  const groups = new Map<number, StoredSnapshot[]>();
  return {
    async save(groupId: number, metadata: SnapshotMetadata, chunks: AsyncIterable<Uint8Array>): Promise<void> {
      const collected: Uint8Array[] = [];
      for await (const chunk of chunks) collected.push(chunk.slice());
      const list = (groups.get(groupId) ?? []).filter((s) => s.metadata.index !== metadata.index);
      list.push({ metadata, chunks: collected });
      list.sort((a, b) => a.metadata.index - b.metadata.index);
      groups.set(groupId, list.slice(-keep));
    },
    open(groupId: number, index: number): AsyncIterable<Uint8Array> {
      const found = groups.get(groupId)?.find((s) => s.metadata.index === index);
      if (found === undefined) {
        throw new HostError(HostErrorCode.SnapshotMissing, `group ${groupId} has no snapshot at index ${index}`);
      }
      return (async function* () {
        yield* found.chunks;
      })();
    },
    async newest(groupId: number): Promise<SnapshotMetadata | undefined> {
      const list = groups.get(groupId);
      return list?.[list.length - 1]?.metadata;
    },
    async removeGroup(groupId: number): Promise<void> {
      groups.delete(groupId);
    },
  };
}
