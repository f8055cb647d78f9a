import type { SnapshotMetadata } from "../raft/index.js";

/**
 * Snapshot contents of every group on a node (the raft core only sees their
 * metadata). framework/storage's SnapshotStore implements it on disk.
 */
export interface HostSnapshotStore {
  /** Writes a snapshot atomically: it is visible only once complete and durable. */
  save(groupId: number, metadata: SnapshotMetadata, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  /** Streams the contents of the snapshot of `groupId` at `index`; throws if there is none. */
  open(groupId: number, index: number): AsyncIterable<Uint8Array>;
  /** Metadata of the newest complete snapshot of the group, if any. */
  newest(groupId: number): Promise<SnapshotMetadata | undefined>;
  removeGroup(groupId: number): Promise<void>;
}
