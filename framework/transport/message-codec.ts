import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type {
  ConfState,
  Entry,
  Message,
  Snapshot,
  SnapshotMetadata,
} from "../raft/index.js";
import { EntryType, MessageType } from "../raft/index.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import type { GroupMessage } from "./group-message.js";
import { malformed, WireReader, WireTypeLengthDelimited, WireTypeVarint } from "./wire-reader.js";

/**
 * The hot-path codec between the core's records and proto/raftkit/v1/raft.proto
 * (GroupMessage of transport.proto). It writes exactly the bytes protobuf-es
 * toBinary writes for the same message (fields in number order, proto3 zero
 * values omitted, repeated uint64 packed), so any decoder of the schema reads
 * them; it reads any valid encoding (packed or not, unknown fields skipped).
 * Decoded `data` and `context` are views into the input buffer, not copies.
 * See test/bench/transport-codec.ts for why it exists (vs create()+toBinary).
 */

const varint = (field: number): number => field * 8 + WireTypeVarint;
const delimited = (field: number): number => field * 8 + WireTypeLengthDelimited;

// One writer, reused: encoding is synchronous and finish() resets it. A
// failed encode leaves forks open, so the writer is replaced then.
let writer = new BinaryWriter();

export function encodeGroupMessage(groupMessage: GroupMessage): Uint8Array {
  try {
    writeUint53(varint(1), groupMessage.groupId, "GroupMessage.groupId");
    writer.uint32(delimited(2)).fork();
    writeMessage(groupMessage.message);
    writer.join();
    return writer.finish();
  } catch (error) {
    writer = new BinaryWriter();
    throw error;
  }
}

export function encodeMessage(message: Message): Uint8Array {
  try {
    writeMessage(message);
    return writer.finish();
  } catch (error) {
    writer = new BinaryWriter();
    throw error;
  }
}

export function decodeGroupMessage(bytes: Uint8Array): GroupMessage {
  const reader = new WireReader(bytes);
  let groupId = 0;
  let message: Message | undefined;
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === varint(1)) groupId = reader.uint53("GroupMessage.group_id");
    else if (tag === delimited(2)) message = readMessage(reader.nested("GroupMessage.message"));
    else skipUnknown(reader, tag, 2);
  }
  if (message === undefined) throw malformed("GroupMessage without a message");
  return { groupId, message };
}

export function decodeMessage(bytes: Uint8Array): Message {
  return readMessage(new WireReader(bytes));
}

function writeUint53(tag: number, value: number, what: string): void {
  if (value === 0) return;
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new TransportError(
      TransportErrorCode.InvalidMessage,
      `${what} = ${value}, allowed integer in [0, 2^53 - 1]`,
    );
  }
  writer.uint32(tag);
  if (value <= 0xffffffff) writer.uint32(value);
  else writer.uint64(value);
}

function writeBytes(tag: number, value: Uint8Array): void {
  if (value.byteLength === 0) return;
  writer.uint32(tag).bytes(value);
}

function writeMessage(message: Message): void {
  writer.uint32(varint(1)).int32(checkedMessageType(message.type));
  writeUint53(varint(2), message.to, "Message.to");
  writeUint53(varint(3), message.from, "Message.from");
  writeUint53(varint(4), message.term, "Message.term");
  writeUint53(varint(5), message.logTerm, "Message.logTerm");
  writeUint53(varint(6), message.index, "Message.index");
  for (const entry of message.entries) {
    writer.uint32(delimited(7)).fork();
    writeUint53(varint(1), entry.term, "Entry.term");
    writeUint53(varint(2), entry.index, "Entry.index");
    if (entry.type !== EntryType.Normal) writer.uint32(varint(3)).int32(entry.type);
    writeBytes(delimited(4), entry.data);
    writer.join();
  }
  writeUint53(varint(8), message.commit, "Message.commit");
  if (message.snapshot !== undefined) {
    writer.uint32(delimited(9)).fork();
    writeSnapshot(message.snapshot);
    writer.join();
  }
  if (message.reject) writer.uint32(varint(10)).bool(true);
  writeUint53(varint(11), message.rejectHint, "Message.rejectHint");
  writeBytes(delimited(12), message.context);
}

function writeSnapshot(snapshot: Snapshot): void {
  const metadata = snapshot.metadata;
  writer.uint32(delimited(1)).fork();
  writeUint53(varint(1), metadata.index, "SnapshotMetadata.index");
  writeUint53(varint(2), metadata.term, "SnapshotMetadata.term");
  writer.uint32(delimited(3)).fork();
  writePacked(1, metadata.confState.voters, "ConfState.voters");
  writePacked(2, metadata.confState.learners, "ConfState.learners");
  writePacked(3, metadata.confState.votersOutgoing, "ConfState.votersOutgoing");
  writePacked(4, metadata.confState.learnersNext, "ConfState.learnersNext");
  if (metadata.confState.autoLeave) writer.uint32(varint(5)).bool(true);
  writer.join();
  writer.join();
  writeBytes(delimited(2), snapshot.data);
}

function writePacked(field: number, values: readonly number[], what: string): void {
  if (values.length === 0) return;
  writer.uint32(delimited(field)).fork();
  for (const value of values) {
    if (!(Number.isSafeInteger(value) && value >= 0)) {
      throw new TransportError(
        TransportErrorCode.InvalidMessage,
        `${what} holds ${value}, allowed integers in [0, 2^53 - 1]`,
      );
    }
    if (value <= 0xffffffff) writer.uint32(value);
    else writer.uint64(value);
  }
  writer.join();
}

function skipUnknown(reader: WireReader, tag: number, fieldMax: number): void {
  // A known field number with the wrong wire type is corruption, not an extension.
  if (tag >>> 3 <= fieldMax) {
    throw malformed(`field ${tag >>> 3} has wire type ${tag & 7}, not the schema's`);
  }
  reader.skip(tag);
}

function checkedMessageType(value: number): MessageType {
  if (!(value >= MessageType.Append && value <= MessageType.ReadIndexResponse)) {
    throw new TransportError(
      TransportErrorCode.InvalidMessage,
      `Message.type = ${value}, allowed [${MessageType.Append}, ${MessageType.ReadIndexResponse}]`,
    );
  }
  return value;
}

function checkedEntryType(value: number): EntryType {
  if (value !== EntryType.Normal && value !== EntryType.ConfChange) {
    throw new TransportError(
      TransportErrorCode.InvalidMessage,
      `Entry.type = ${value}, allowed ${EntryType.Normal} or ${EntryType.ConfChange}`,
    );
  }
  return value;
}

const emptyBytes: Uint8Array = new Uint8Array(0);

function readMessage(reader: WireReader): Message {
  let type = 0;
  let to = 0;
  let from = 0;
  let term = 0;
  let logTerm = 0;
  let index = 0;
  const entries: Entry[] = [];
  let commit = 0;
  let snapshot: Snapshot | undefined;
  let reject = false;
  let rejectHint = 0;
  let context = emptyBytes;
  while (!reader.done()) {
    const tag = reader.tag();
    switch (tag) {
      case varint(1): type = reader.uint53("Message.type"); break;
      case varint(2): to = reader.uint53("Message.to"); break;
      case varint(3): from = reader.uint53("Message.from"); break;
      case varint(4): term = reader.uint53("Message.term"); break;
      case varint(5): logTerm = reader.uint53("Message.log_term"); break;
      case varint(6): index = reader.uint53("Message.index"); break;
      case delimited(7): entries.push(readEntry(reader.nested("Entry"))); break;
      case varint(8): commit = reader.uint53("Message.commit"); break;
      case delimited(9): snapshot = readSnapshot(reader.nested("Snapshot")); break;
      case varint(10): reject = reader.bool("Message.reject"); break;
      case varint(11): rejectHint = reader.uint53("Message.reject_hint"); break;
      case delimited(12): context = reader.bytesField("Message.context"); break;
      default: skipUnknown(reader, tag, 12);
    }
  }
  type = checkedMessageType(type);
  return { type, to, from, term, logTerm, index, entries, commit, snapshot, reject, rejectHint, context };
}

function readEntry(reader: WireReader): Entry {
  let term = 0;
  let index = 0;
  let type: EntryType = EntryType.Normal;
  let data = emptyBytes;
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === varint(1)) term = reader.uint53("Entry.term");
    else if (tag === varint(2)) index = reader.uint53("Entry.index");
    else if (tag === varint(3)) type = checkedEntryType(reader.uint53("Entry.type"));
    else if (tag === delimited(4)) data = reader.bytesField("Entry.data");
    else skipUnknown(reader, tag, 4);
  }
  return { term, index, type, data };
}

function readSnapshot(reader: WireReader): Snapshot {
  let metadata: SnapshotMetadata = { index: 0, term: 0, confState: readConfState(undefined) };
  let data = emptyBytes;
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === delimited(1)) metadata = readMetadata(reader.nested("SnapshotMetadata"));
    else if (tag === delimited(2)) data = reader.bytesField("Snapshot.data");
    else skipUnknown(reader, tag, 2);
  }
  return { metadata, data };
}

function readMetadata(reader: WireReader): SnapshotMetadata {
  let index = 0;
  let term = 0;
  let confState = readConfState(undefined);
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === varint(1)) index = reader.uint53("SnapshotMetadata.index");
    else if (tag === varint(2)) term = reader.uint53("SnapshotMetadata.term");
    else if (tag === delimited(3)) confState = readConfState(reader.nested("ConfState"));
    else skipUnknown(reader, tag, 3);
  }
  return { index, term, confState };
}

function readConfState(reader: WireReader | undefined): ConfState {
  const lists: [number[], number[], number[], number[]] = [[], [], [], []];
  let autoLeave = false;
  while (reader !== undefined && !reader.done()) {
    const tag = reader.tag();
    const field = tag >>> 3;
    const list = field >= 1 && field <= 4 ? lists[field - 1] : undefined;
    if (list !== undefined && (tag & 7) === WireTypeVarint) {
      list.push(reader.uint53("ConfState node id"));
    } else if (list !== undefined && (tag & 7) === WireTypeLengthDelimited) {
      const packed = reader.nested("ConfState packed node ids");
      while (!packed.done()) list.push(packed.uint53("ConfState node id"));
    } else if (tag === varint(5)) {
      autoLeave = reader.bool("ConfState.auto_leave");
    } else {
      skipUnknown(reader, tag, 5);
    }
  }
  const [voters, learners, votersOutgoing, learnersNext] = lists;
  return { voters, learners, votersOutgoing, learnersNext, autoLeave };
}
