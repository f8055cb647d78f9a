import { ByteReader } from "./byte-reader.js";
import type { EntryCache } from "./entry-cache.js";
import type { GroupLog } from "./group-log.js";
import {
  applySnapshotToLog,
  compactLog,
  createGroupLog,
  lastIndexOf,
  setHardState,
  truncateLogFrom,
} from "./group-log.js";
import type { DecodedOperation, GroupCheckpoint } from "./record-codec.js";
import { decodeCommitOperations, OperationType, RecordType } from "./record-codec.js";
import { recordHeaderBytes } from "./record-frame.js";

/** Resets the model to a segment header's checkpoint (the state where replay starts). */
export function applyCheckpoint(
  groups: Map<number, GroupLog>,
  checkpoint: readonly GroupCheckpoint[],
): void {
  groups.clear();
  for (const group of checkpoint) {
    const log = createGroupLog(group.groupId);
    setHardState(log, group.hardState);
    log.snapshot = group.snapshot;
    log.offsetIndex = group.offsetIndex;
    log.offsetTerm = group.offsetTerm;
    // Entries of segments before replay's first one: a complete log compacts or overwrites
    // every one of them; one left at the end means a needed segment is gone.
    log.entries.pushUnknown(group.lastIndex - group.offsetIndex);
    groups.set(group.groupId, log);
  }
}

export interface ReplayRecord {
  readonly file: string;
  readonly segment: number;
  /** File offset of the record's header. */
  readonly position: number;
  readonly payload: Uint8Array;
}

/** Applies one commit record to the model, checking each operation against it. */
export function replayCommitRecord(
  groups: Map<number, GroupLog>,
  cache: EntryCache,
  record: ReplayRecord,
): void {
  const reader = new ByteReader(record.payload, record.file, record.position);
  if (reader.u8() !== RecordType.Commit) reader.corrupt("expected a commit record");
  for (const operation of decodeCommitOperations(reader)) {
    replayOperation(groups, cache, record, reader, operation);
  }
}

function replayOperation(
  groups: Map<number, GroupLog>,
  cache: EntryCache,
  record: ReplayRecord,
  reader: ByteReader,
  operation: DecodedOperation,
): void {
  if (operation.type === OperationType.RemoveGroup) {
    groups.delete(operation.groupId);
    return;
  }
  let log = groups.get(operation.groupId);
  if (log === undefined) {
    log = createGroupLog(operation.groupId);
    groups.set(operation.groupId, log);
  }
  const groupId = operation.groupId;
  switch (operation.type) {
    case OperationType.HardState:
      setHardState(log, operation.hardState);
      return;
    case OperationType.Snapshot:
      if (operation.snapshot.metadata.index <= log.snapshot.metadata.index) {
        reader.corrupt(
          `group ${groupId}: snapshot ${operation.snapshot.metadata.index} ` +
            `not after ${log.snapshot.metadata.index}`,
        );
      }
      applySnapshotToLog(log, operation.snapshot);
      return;
    case OperationType.Compact:
      if (operation.index <= log.offsetIndex || operation.index > lastIndexOf(log)) {
        reader.corrupt(
          `group ${groupId}: compact to ${operation.index} outside ` +
            `(${log.offsetIndex}, ${lastIndexOf(log)}]`,
        );
      }
      compactLog(log, operation.index, operation.term);
      return;
    case OperationType.Entries:
      replayEntries(log, cache, record, reader, operation.entries);
      return;
  }
}

function replayEntries(
  log: GroupLog,
  cache: EntryCache,
  record: ReplayRecord,
  reader: ByteReader,
  entries: Extract<DecodedOperation, { type: OperationType.Entries }>["entries"],
): void {
  const first = entries[0]!.entry.index;
  if (first <= log.offsetIndex || first > lastIndexOf(log) + 1) {
    reader.corrupt(
      `group ${log.groupId}: entries at ${first} outside ` +
        `(${log.offsetIndex}, ${lastIndexOf(log) + 1}]`,
    );
  }
  const payloadStart = record.position + recordHeaderBytes;
  truncateLogFrom(log, first);
  const batch = cache.nextBatchNumber;
  const data: Uint8Array[] = [];
  for (const { entry, payloadOffset } of entries) {
    const position = payloadStart + payloadOffset;
    const length = entry.data.byteLength;
    const slot = data.length;
    log.entries.push(entry.term, entry.type, record.segment, position, length, 0, batch, slot);
    data.push(entry.data.slice()); // a copy: the record buffer is reused
  }
  cache.add(0, data);
  cache.evict(0);
}
