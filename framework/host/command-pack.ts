import { HostError, HostErrorCode } from "./errors.js";

/**
 * Several commands in one raft log entry (the "pack" of a group whose state
 * machine declares `packedCommands`): the proposals of one group that arrive
 * within one loop iteration travel, persist and replicate as one entry, so
 * the per-entry costs (append, progress, storage framing and CRC, transport
 * encoding, apply bookkeeping) are paid once per pack.
 *
 * Wire format: tag u8 (0xB1) | count varint | (length varint | bytes)*count.
 * count ≥ 1; varints are unsigned LEB128 of at most 5 bytes (< 2^32).
 * In a packing group every non-empty normal entry the host proposes is a
 * pack, a single command too (a pack of 1), so the format is never guessed.
 */
export const packTag = 0xb1;

/** Bytes a pack needs around its commands: the tag and the count. */
export const packHeaderBytes = 1 + 5;

/** Bytes a command adds to a pack: its length's varint and itself. */
export function packedSize(commandBytes: number): number {
  return varintSize(commandBytes) + commandBytes;
}

export function encodePack(commands: readonly Uint8Array[]): Uint8Array {
  if (commands.length === 0) throw new RangeError("a command pack holds at least one command");
  let size = 1 + varintSize(commands.length);
  for (const command of commands) size += packedSize(command.byteLength);
  const bytes = new Uint8Array(size);
  bytes[0] = packTag;
  let offset = writeVarint(bytes, 1, commands.length);
  for (const command of commands) {
    offset = writeVarint(bytes, offset, command.byteLength);
    bytes.set(command, offset);
    offset += command.byteLength;
  }
  if (offset !== size) throw new Error(`command pack: wrote ${offset} bytes, sized ${size}`);
  return bytes;
}

/**
 * The commands of a pack, as views into `bytes` (no copies). A malformed
 * pack is a HostError naming the group, the entry and what is wrong: the
 * log of a packing group holds nothing else.
 */
export function decodePack(bytes: Uint8Array, where: { groupId: number; index: number }): Uint8Array[] {
  const fail = (what: string): never => {
    throw new HostError(
      HostErrorCode.StateMachineFailed,
      `group ${where.groupId}: entry ${where.index} of ${bytes.byteLength} bytes is not a command pack: ${what}`,
    );
  };
  if (bytes.byteLength < 2 || bytes[0] !== packTag) fail(`first byte ${String(bytes[0])}, expected ${packTag}`);
  const reader = { offset: 1 };
  const count = readVarint(bytes, reader, fail);
  if (count === 0) fail("count 0, allowed ≥ 1");
  // Each command takes at least its one-byte length: a larger count is a lie.
  if (count > bytes.byteLength - reader.offset) fail(`count ${count} exceeds the bytes left`);
  const commands = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) {
    const length = readVarint(bytes, reader, fail);
    const end = reader.offset + length;
    if (end > bytes.byteLength) fail(`command ${i} of ${length} bytes runs past the end`);
    commands[i] = bytes.subarray(reader.offset, end);
    reader.offset = end;
  }
  if (reader.offset !== bytes.byteLength) fail(`${bytes.byteLength - reader.offset} bytes after ${count} commands`);
  return commands;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(bytes: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    bytes[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  bytes[offset++] = value;
  return offset;
}

function readVarint(bytes: Uint8Array, reader: { offset: number }, fail: (what: string) => never): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 5; i++) {
    if (reader.offset >= bytes.byteLength) fail(`varint truncated at byte ${reader.offset}`);
    const byte = bytes[reader.offset++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (value > 0xffff_ffff) fail(`varint ${value} at byte ${reader.offset} above 2^32-1`);
      return value;
    }
    scale *= 128;
  }
  return fail(`varint longer than 5 bytes at byte ${reader.offset}`);
}
