import { assert } from "./assert.js";
import { ByteWriter, ScratchPool } from "./byte-writer.js";
import type { GroupLog } from "./group-log.js";
import { hardStateOf, lastIndexOf } from "./group-log.js";
import type { PendingCommit, PendingRecord } from "./pending-commit.js";
import { createPendingCommit } from "./pending-commit.js";
import type { GroupCheckpoint } from "./record-codec.js";
import { encodeSegmentHeader, RecordType } from "./record-codec.js";
import { recordHeaderBytes } from "./record-frame.js";

/** Scratch buffers (256 KiB each) kept for reuse between records: 8 MiB. */
const scratchBuffersKept = 32;

export interface AppenderLimits {
  /** A segment is rolled once it reaches this size (it may exceed it by one record). */
  readonly segmentBytes: number;
  readonly maxRecordBytes: number;
}

/**
 * Lays operations out on disk as they arrive: knows the current segment and
 * the byte offset the next record will have, so every entry's file position
 * is fixed when it is encoded, before it is written. Rolls segments and
 * writes the checkpoint header of each new one.
 * @internal
 */
export interface LogAppender {
  /** The record the next operations go into; `estimateBytes` bounds what they add. */
  recordFor(estimateBytes: number): PendingRecord;
  /** The commit that operations encoded now will be part of. */
  readonly pending: PendingCommit;
  /** Closes the open record and hands over the pending commit; a new one starts. */
  takeCommit(): PendingCommit;
  readonly currentSegment: number;
}

export function createLogAppender(
  groups: ReadonlyMap<number, GroupLog>,
  limits: AppenderLimits,
  lastSequence: number,
  firstCommitNumber: number,
): LogAppender {
  let currentSegment = lastSequence;
  let segmentEnd = 0;
  let open: PendingRecord | undefined;
  let pending = createPendingCommit(firstCommitNumber);
  const pool = new ScratchPool(scratchBuffersKept);

  const closeOpenRecord = (): void => {
    if (open === undefined) return;
    segmentEnd = open.position + recordHeaderBytes + open.writer.length;
    open = undefined;
  };
  const roll = (): void => {
    closeOpenRecord();
    currentSegment++;
    const writer = new ByteWriter();
    encodeSegmentHeader(writer, {
      sequence: currentSegment,
      lowestLiveSequence: lowestLiveSegment(groups, currentSegment),
      groups: checkpointOf(groups),
    });
    pending.records.push({ segment: currentSegment, position: 0, writer, createsSegment: true });
    pending.deleteBelow = lowestLiveSegment(groups, currentSegment);
    segmentEnd = recordHeaderBytes + writer.length;
  };
  roll(); // every open starts a fresh segment, headed by a checkpoint

  return {
    recordFor(estimateBytes: number): PendingRecord {
      const openEnd =
        open === undefined ? segmentEnd : open.position + recordHeaderBytes + open.writer.length;
      if (openEnd >= limits.segmentBytes) roll();
      if (open !== undefined && open.writer.length + estimateBytes > limits.maxRecordBytes)
        closeOpenRecord();
      if (open === undefined) {
        const writer = new ByteWriter(pool);
        writer.u8(RecordType.Commit);
        open = { segment: currentSegment, position: segmentEnd, writer, createsSegment: false };
        pending.records.push(open);
      }
      return open;
    },
    get pending(): PendingCommit {
      return pending;
    },
    takeCommit(): PendingCommit {
      closeOpenRecord();
      const taken = pending;
      pending = createPendingCommit(taken.commitNumber + 1);
      return taken;
    },
    get currentSegment(): number {
      return currentSegment;
    },
  };
}

/** The oldest segment any group still reads an entry from (or `current` if none does). */
function lowestLiveSegment(groups: ReadonlyMap<number, GroupLog>, current: number): number {
  let lowest = current;
  for (const log of groups.values()) {
    if (log.entries.length > 0 && log.entries.segment(0) < lowest) {
      lowest = log.entries.segment(0);
    }
  }
  assert(lowest >= 1, () => `lowest live segment ${lowest}`);
  return lowest;
}

function checkpointOf(groups: ReadonlyMap<number, GroupLog>): GroupCheckpoint[] {
  const checkpoint: GroupCheckpoint[] = [];
  for (const log of groups.values()) {
    checkpoint.push({
      groupId: log.groupId,
      hardState: hardStateOf(log),
      snapshot: log.snapshot,
      offsetIndex: log.offsetIndex,
      offsetTerm: log.offsetTerm,
      lastIndex: lastIndexOf(log),
    });
  }
  return checkpoint;
}
