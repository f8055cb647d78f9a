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
import { assert } from "./assert.js";
import { malformed, WireReader, WireTypeLengthDelimited, WireTypeVarint } from "./wire-reader.js";
import {
  bytesFieldSize,
  nestedFieldSize,
  referencedAsIs,
  uint53FieldSize,
  varintSize,
  WireWriter,
} from "./wire-writer.js";

/**
 * The hot-path codec between the core's records and proto/raftkit/v1/raft.proto
 * (GroupMessage of transport.proto). It writes exactly the bytes protobuf-es
 * toBinary writes for the same message (fields in number order, proto3 zero
 * values omitted, repeated uint64 packed), so any decoder of the schema reads
 * them; it reads any valid encoding (packed or not, unknown fields skipped).
 * Encoding sizes the message first and writes into one exact buffer.
 * Decoded `data` and `context` are views into the input buffer, not copies.
 * See test/bench/transport-codec.ts for why it exists (vs create()+toBinary).
 */

const varint = (field: number): number => field * 8 + WireTypeVarint;
const delimited = (field: number): number => field * 8 + WireTypeLengthDelimited;

export function encodeGroupMessage(groupMessage: GroupMessage): Uint8Array {
  const groupId = checkedUint53(groupMessage.groupId, "GroupMessage.groupId");
  const messageSize = sizeOfMessage(groupMessage.message);
  const writer = new WireWriter(uint53FieldSize(groupId) + nestedFieldSize(messageSize));
  writer.uint53Field(varint(1), groupId);
  writer.nestedHeader(delimited(2), messageSize);
  writeMessage(writer, groupMessage.message);
  assertFilled(writer);
  return writer.bytes;
}

/**
 * A GroupMessage's encoding (the same bytes as encodeGroupMessage) as parts
 * to be sent in order: bytes values (entry data, snapshot data, context) of
 * at least `referenceFrom` bytes are not copied but listed as they are
 * between the encoded pieces, so they must not change until sent. The
 * connect transport hands the parts to the HTTP/2 stream as they are: a
 * proposal's entry goes to each follower without a copy of its data.
 */
export function encodeGroupMessageParts(
  groupMessage: GroupMessage,
  referenceFrom: number,
): { readonly parts: Uint8Array[]; readonly byteLength: number } {
  const groupId = checkedUint53(groupMessage.groupId, "GroupMessage.groupId");
  const message = groupMessage.message;
  const messageSize = sizeOfMessage(message);
  const byteLength = uint53FieldSize(groupId) + nestedFieldSize(messageSize);
  const writer = new WireWriter(byteLength - referencedBytes(message, referenceFrom), referenceFrom);
  writer.uint53Field(varint(1), groupId);
  writer.nestedHeader(delimited(2), messageSize);
  writeMessage(writer, message);
  assertFilled(writer);
  return { parts: writer.finishParts(), byteLength };
}

/** How many bytes of `message`'s bytes values a writer with `referenceFrom` does not copy. */
function referencedBytes(message: Message, referenceFrom: number): number {
  const counted = (value: Uint8Array): number => (referencedAsIs(value, referenceFrom) ? value.byteLength : 0);
  let bytes = counted(message.context);
  for (const entry of message.entries) bytes += counted(entry.data);
  if (message.snapshot !== undefined) bytes += counted(message.snapshot.data);
  return bytes;
}

export function encodeMessage(message: Message): Uint8Array {
  const writer = new WireWriter(sizeOfMessage(message));
  writeMessage(writer, message);
  assertFilled(writer);
  return writer.bytes;
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

function assertFilled(writer: WireWriter): void {
  assert(
    writer.position === writer.bytes.length,
    () => `encoded ${writer.position} bytes into a buffer sized ${writer.bytes.length}`,
  );
}

function checkedUint53(value: number, what: string): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw new TransportError(
      TransportErrorCode.InvalidMessage,
      `${what} = ${value}, allowed integer in [0, 2^53 - 1]`,
    );
  }
  return value;
}

// Sizing validates every number; writing trusts the sizing pass.
function sizeOfMessage(message: Message): number {
  checkedMessageType(message.type);
  let size = 2; // type: a one-byte tag and a one-byte value (1..12)
  size += uint53FieldSize(checkedUint53(message.to, "Message.to"));
  size += uint53FieldSize(checkedUint53(message.from, "Message.from"));
  size += uint53FieldSize(checkedUint53(message.term, "Message.term"));
  size += uint53FieldSize(checkedUint53(message.logTerm, "Message.logTerm"));
  size += uint53FieldSize(checkedUint53(message.index, "Message.index"));
  for (const entry of message.entries) size += nestedFieldSize(sizeOfEntry(entry));
  size += uint53FieldSize(checkedUint53(message.commit, "Message.commit"));
  if (message.snapshot !== undefined) size += nestedFieldSize(sizeOfSnapshot(message.snapshot));
  if (message.reject) size += 2;
  size += uint53FieldSize(checkedUint53(message.rejectHint, "Message.rejectHint"));
  size += bytesFieldSize(message.context.byteLength);
  return size;
}

function sizeOfEntry(entry: Entry): number {
  checkedEntryType(entry.type);
  return (
    uint53FieldSize(checkedUint53(entry.term, "Entry.term")) +
    uint53FieldSize(checkedUint53(entry.index, "Entry.index")) +
    (entry.type === EntryType.Normal ? 0 : 2) +
    bytesFieldSize(entry.data.byteLength)
  );
}

function sizeOfSnapshot(snapshot: Snapshot): number {
  const metadataSize = sizeOfMetadata(snapshot.metadata);
  return nestedFieldSize(metadataSize) + bytesFieldSize(snapshot.data.byteLength);
}

function sizeOfMetadata(metadata: SnapshotMetadata): number {
  return (
    uint53FieldSize(checkedUint53(metadata.index, "SnapshotMetadata.index")) +
    uint53FieldSize(checkedUint53(metadata.term, "SnapshotMetadata.term")) +
    nestedFieldSize(sizeOfConfState(metadata.confState))
  );
}

function sizeOfConfState(confState: ConfState): number {
  return (
    packedFieldSize(sizeOfPacked(confState.voters, "ConfState.voters")) +
    packedFieldSize(sizeOfPacked(confState.learners, "ConfState.learners")) +
    packedFieldSize(sizeOfPacked(confState.votersOutgoing, "ConfState.votersOutgoing")) +
    packedFieldSize(sizeOfPacked(confState.learnersNext, "ConfState.learnersNext")) +
    (confState.autoLeave ? 2 : 0)
  );
}

function sizeOfPacked(values: readonly number[], what: string): number {
  let size = 0;
  for (const value of values) size += varintSize(checkedUint53(value, what));
  return size;
}

function packedFieldSize(payloadSize: number): number {
  return payloadSize === 0 ? 0 : nestedFieldSize(payloadSize);
}

function writeMessage(writer: WireWriter, message: Message): void {
  writer.varint(varint(1));
  writer.varint(message.type);
  writer.uint53Field(varint(2), message.to);
  writer.uint53Field(varint(3), message.from);
  writer.uint53Field(varint(4), message.term);
  writer.uint53Field(varint(5), message.logTerm);
  writer.uint53Field(varint(6), message.index);
  for (const entry of message.entries) {
    writer.nestedHeader(delimited(7), sizeOfEntry(entry));
    writer.uint53Field(varint(1), entry.term);
    writer.uint53Field(varint(2), entry.index);
    writer.uint53Field(varint(3), entry.type);
    writer.bytesField(delimited(4), entry.data);
  }
  writer.uint53Field(varint(8), message.commit);
  if (message.snapshot !== undefined) {
    writer.nestedHeader(delimited(9), sizeOfSnapshot(message.snapshot));
    writeSnapshot(writer, message.snapshot);
  }
  writer.uint53Field(varint(10), message.reject ? 1 : 0);
  writer.uint53Field(varint(11), message.rejectHint);
  writer.bytesField(delimited(12), message.context);
}

function writeSnapshot(writer: WireWriter, snapshot: Snapshot): void {
  const metadata = snapshot.metadata;
  const confState = metadata.confState;
  writer.nestedHeader(delimited(1), sizeOfMetadata(metadata));
  writer.uint53Field(varint(1), metadata.index);
  writer.uint53Field(varint(2), metadata.term);
  writer.nestedHeader(delimited(3), sizeOfConfState(confState));
  writePacked(writer, 1, confState.voters);
  writePacked(writer, 2, confState.learners);
  writePacked(writer, 3, confState.votersOutgoing);
  writePacked(writer, 4, confState.learnersNext);
  writer.uint53Field(varint(5), confState.autoLeave ? 1 : 0);
  writer.bytesField(delimited(2), snapshot.data);
}

function writePacked(writer: WireWriter, field: number, values: readonly number[]): void {
  if (values.length === 0) return;
  writer.nestedHeader(delimited(field), sizeOfPacked(values, "packed"));
  for (const value of values) writer.varint(value);
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
  return {
    type, to, from, term, logTerm, index, entries, commit, snapshot, reject, rejectHint, context,
  };
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
