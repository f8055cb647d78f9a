import type { ByteWriter } from "./byte-writer.js";

/** One record being built or written: its payload and where it goes. @internal */
export interface PendingRecord {
  readonly segment: number;
  /** File offset of the record's header. */
  readonly position: number;
  readonly writer: ByteWriter;
  /** True for a segment header: the segment file is created when this record is written. */
  readonly createsSegment: boolean;
}

export interface CommitWaiter {
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Everything one durable commit writes: records in order (normally one, in
 * one segment; a roll adds the new segment's header), the callers waiting for
 * it, and the segments it makes deletable once durable.
 * @internal
 */
export interface PendingCommit {
  readonly commitNumber: number;
  readonly records: PendingRecord[];
  readonly waiters: CommitWaiter[];
  /** Segments below this sequence are dead once this commit is durable (set by a roll). */
  deleteBelow: number;
}

export function createPendingCommit(commitNumber: number): PendingCommit {
  return { commitNumber, records: [], waiters: [], deleteBelow: 0 };
}
