import type { ConfState, Entry, HardState, NodeId, Snapshot } from "../raft/index.js";
import { EntryType } from "../raft/index.js";
import type { ByteReader } from "./byte-reader.js";
import type { ByteWriter } from "./byte-writer.js";
import { copyLimitBytes } from "./byte-writer.js";

/**
 * Payload layouts of the log's records (see docs/storage.md). Every payload
 * starts with a RecordType byte. A segment's first record is its header (with
 * a checkpoint of every group's small state); every later record is a commit
 * record: a sequence of operations up to the payload's end.
 * @internal
 */
export enum RecordType {
  SegmentHeader = 1,
  Commit = 2,
}

/** @internal */
export enum OperationType {
  HardState = 1,
  Entries = 2,
  Snapshot = 3,
  Compact = 4,
  RemoveGroup = 5,
}

export const segmentMagic = 0x524b4c47; // "RKLG"
export const segmentFormatVersion = 1;

/** One group's state as of a segment's start, minus the entries (they live in segments). */
export interface GroupCheckpoint {
  readonly groupId: number;
  readonly hardState: HardState;
  readonly snapshot: Snapshot;
  /** Index and term of the entry before the first one (snapshot or compaction point). */
  readonly offsetIndex: number;
  readonly offsetTerm: number;
  readonly lastIndex: number;
}

export interface SegmentHeader {
  readonly sequence: number;
  /** Segments below this one were no longer needed when this segment was started. */
  readonly lowestLiveSequence: number;
  readonly groups: readonly GroupCheckpoint[];
}

export interface DecodedEntry {
  readonly entry: Entry;
  /** Where the entry's data starts inside the payload. */
  readonly payloadOffset: number;
}

export type DecodedOperation =
  | {
      readonly type: OperationType.HardState;
      readonly groupId: number;
      readonly hardState: HardState;
    }
  | {
      readonly type: OperationType.Entries;
      readonly groupId: number;
      readonly entries: readonly DecodedEntry[];
    }
  | { readonly type: OperationType.Snapshot; readonly groupId: number; readonly snapshot: Snapshot }
  | {
      readonly type: OperationType.Compact;
      readonly groupId: number;
      readonly index: number;
      readonly term: number;
    }
  | { readonly type: OperationType.RemoveGroup; readonly groupId: number };

export function encodeSegmentHeader(writer: ByteWriter, header: SegmentHeader): void {
  writer.u8(RecordType.SegmentHeader);
  writer.u32(segmentMagic);
  writer.u32(segmentFormatVersion);
  writer.u64(header.sequence);
  writer.u64(header.lowestLiveSequence);
  writer.u32(header.groups.length);
  for (const group of header.groups) {
    writer.u64(group.groupId);
    writeHardState(writer, group.hardState);
    writeSnapshot(writer, group.snapshot);
    writer.u64(group.offsetIndex);
    writer.u64(group.offsetTerm);
    writer.u64(group.lastIndex);
  }
}

export function decodeSegmentHeader(reader: ByteReader): SegmentHeader {
  if (reader.u8() !== RecordType.SegmentHeader)
    reader.corrupt("first record is not a segment header");
  if (reader.u32() !== segmentMagic) reader.corrupt("bad magic in segment header");
  const version = reader.u32();
  if (version !== segmentFormatVersion) reader.corrupt(`unknown format version ${version}`);
  const sequence = reader.u64();
  const lowestLiveSequence = reader.u64();
  const count = reader.u32();
  const groups: GroupCheckpoint[] = [];
  for (let i = 0; i < count; i++) {
    const groupId = reader.u64();
    const hardState = readHardState(reader);
    const snapshot = readSnapshot(reader);
    const offsetIndex = reader.u64();
    const offsetTerm = reader.u64();
    const lastIndex = reader.u64();
    if (lastIndex < offsetIndex) reader.corrupt(`group ${groupId} last ${lastIndex} < offset`);
    groups.push({ groupId, hardState, snapshot, offsetIndex, offsetTerm, lastIndex });
  }
  if (reader.remaining !== 0) reader.corrupt(`${reader.remaining} bytes after segment header`);
  return { sequence, lowestLiveSequence, groups };
}

export function encodeHardStateOperation(
  writer: ByteWriter,
  groupId: number,
  hardState: HardState,
): void {
  // Fields checked by checkUpdateShape: one reservation, no per-field checks.
  writer.reserveRun(hardStateOperationBytes);
  writer.putU8(OperationType.HardState);
  writer.putU64(groupId);
  writer.putU64(hardState.term);
  writer.putU64(hardState.vote);
  writer.putU64(hardState.commit);
}

const hardStateOperationBytes = 1 + 4 * 8;

/** Bytes before each entry's data: u64 term, u8 type, u32 data length. */
export const entryFieldBytes = 13;

/**
 * Encodes an Entries operation. Returns the payload offset where the first
 * entry's fields start: entry j's data starts after its `entryFieldBytes` of
 * fields, and each entry's fields follow the data of the one before.
 */
export function encodeEntriesOperation(
  writer: ByteWriter,
  groupId: number,
  entries: readonly Entry[],
): number {
  writer.u8(OperationType.Entries);
  writer.u64(groupId);
  writer.u64(entries[0]?.index ?? 0);
  writer.u32(entries.length);
  const start = writer.length;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const length = entry.data.byteLength;
    if (length <= copyLimitBytes) {
      // The common case in one piece: fields and data copied without per-field checks
      // (term and type were checked by checkUpdateShape).
      writer.reserveRun(entryFieldBytes + length);
      writer.putU64(entry.term);
      writer.putU8(entry.type);
      writer.putU32(length);
      writer.putBytes(entry.data);
    } else {
      writer.u64(entry.term);
      writer.u8(entry.type);
      writer.u32(length);
      writer.bytes(entry.data);
    }
  }
  return start;
}

export function encodeSnapshotOperation(
  writer: ByteWriter,
  groupId: number,
  snapshot: Snapshot,
): void {
  writer.u8(OperationType.Snapshot);
  writer.u64(groupId);
  writeSnapshot(writer, snapshot);
}

export function encodeCompactOperation(
  writer: ByteWriter,
  groupId: number,
  index: number,
  term: number,
): void {
  writer.u8(OperationType.Compact);
  writer.u64(groupId);
  writer.u64(index);
  writer.u64(term);
}

export function encodeRemoveGroupOperation(writer: ByteWriter, groupId: number): void {
  writer.u8(OperationType.RemoveGroup);
  writer.u64(groupId);
}

/** Decodes a commit record's payload (after its RecordType byte has been checked). */
export function decodeCommitOperations(reader: ByteReader): DecodedOperation[] {
  const operations: DecodedOperation[] = [];
  while (reader.remaining > 0) operations.push(decodeOperation(reader));
  return operations;
}

function decodeOperation(reader: ByteReader): DecodedOperation {
  const type = reader.u8();
  const groupId = reader.u64();
  if (groupId === 0) reader.corrupt("group id 0");
  switch (type) {
    case OperationType.HardState:
      return { type, groupId, hardState: readHardState(reader) };
    case OperationType.Entries:
      return { type, groupId, entries: readEntries(reader) };
    case OperationType.Snapshot:
      return { type, groupId, snapshot: readSnapshot(reader) };
    case OperationType.Compact:
      return { type, groupId, index: reader.u64(), term: reader.u64() };
    case OperationType.RemoveGroup:
      return { type, groupId };
    default:
      return reader.corrupt(`unknown operation type ${type}`);
  }
}

function readEntries(reader: ByteReader): DecodedEntry[] {
  const firstIndex = reader.u64();
  const count = reader.u32();
  if (count === 0 || firstIndex === 0)
    reader.corrupt(`entries: first ${firstIndex}, count ${count}`);
  const entries: DecodedEntry[] = [];
  for (let i = 0; i < count; i++) {
    const term = reader.u64();
    const type = reader.u8();
    if (type !== EntryType.Normal && type !== EntryType.ConfChange) {
      reader.corrupt(`unknown entry type ${type}`);
    }
    const length = reader.u32();
    const payloadOffset = reader.position;
    const data = reader.bytes(length);
    entries.push({ entry: { index: firstIndex + i, term, type, data }, payloadOffset });
  }
  return entries;
}

function writeHardState(writer: ByteWriter, hardState: HardState): void {
  writer.u64(hardState.term);
  writer.u64(hardState.vote);
  writer.u64(hardState.commit);
}

function readHardState(reader: ByteReader): HardState {
  return { term: reader.u64(), vote: reader.u64(), commit: reader.u64() };
}

function writeSnapshot(writer: ByteWriter, snapshot: Snapshot): void {
  writer.u64(snapshot.metadata.index);
  writer.u64(snapshot.metadata.term);
  writeConfState(writer, snapshot.metadata.confState);
  writer.u32(snapshot.data.byteLength);
  writer.bytes(snapshot.data);
}

function readSnapshot(reader: ByteReader): Snapshot {
  const index = reader.u64();
  const term = reader.u64();
  const confState = readConfState(reader);
  // Copied: the snapshot outlives the record buffer it was read from.
  const data = reader.bytes(reader.u32()).slice();
  return { metadata: { index, term, confState }, data };
}

function writeConfState(writer: ByteWriter, confState: ConfState): void {
  writeNodeIds(writer, confState.voters);
  writeNodeIds(writer, confState.learners);
  writeNodeIds(writer, confState.votersOutgoing);
  writeNodeIds(writer, confState.learnersNext);
  writer.u8(confState.autoLeave ? 1 : 0);
}

function readConfState(reader: ByteReader): ConfState {
  const voters = readNodeIds(reader);
  const learners = readNodeIds(reader);
  const votersOutgoing = readNodeIds(reader);
  const learnersNext = readNodeIds(reader);
  const autoLeave = reader.u8();
  if (autoLeave > 1) reader.corrupt(`autoLeave byte ${autoLeave}`);
  return { voters, learners, votersOutgoing, learnersNext, autoLeave: autoLeave === 1 };
}

function writeNodeIds(writer: ByteWriter, ids: readonly NodeId[]): void {
  writer.u32(ids.length);
  for (const id of ids) writer.u64(id);
}

function readNodeIds(reader: ByteReader): NodeId[] {
  const count = reader.u32();
  if (count > reader.remaining / 8) reader.corrupt(`node id count ${count}`);
  const ids: NodeId[] = [];
  for (let i = 0; i < count; i++) ids.push(reader.u64());
  return ids;
}
