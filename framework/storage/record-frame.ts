import { crc32c } from "@node-rs/crc32";
import { StorageError, StorageErrorCode } from "./errors.js";
import type { StorageFile } from "./file-system.js";

/**
 * Record framing: [u32 length][u32 crc32c(length bytes)][u32 crc32c(payload)][payload],
 * little-endian. The length has its own CRC so a damaged length is told apart
 * from a torn write: a record whose authentic length runs past the end of the
 * file was cut short by a crash; a length that fails its CRC is corruption.
 * @internal
 */
export const recordHeaderBytes = 12;

export function encodeRecordHeader(payload: readonly Uint8Array[], length: number): Uint8Array {
  const header = new Uint8Array(recordHeaderBytes);
  const view = new DataView(header.buffer);
  view.setUint32(0, length, true);
  view.setUint32(4, crc32c(header.subarray(0, 4)), true);
  let crc = 0;
  for (const part of payload) crc = crc32c(part, crc);
  view.setUint32(8, crc, true);
  return header;
}

export interface ScannedRecord {
  /** Byte offset of the record's header in the file. */
  readonly position: number;
  readonly payload: Uint8Array;
}

export interface SegmentScan {
  /** Bytes of complete, valid records from the start of the file. */
  readonly validBytes: number;
  /** Set when the file ends in a torn record (only allowed in the last segment). */
  readonly tornReason: string | undefined;
}

export interface ScanOptions {
  readonly file: StorageFile;
  readonly size: number;
  /** Only the last segment may end in a torn record; anywhere else it is corruption. */
  readonly tornTailAllowed: boolean;
  readonly maxRecordBytes: number;
  /** Called per valid record, in order; return false to stop early. */
  readonly visit: (record: ScannedRecord) => boolean;
}

/** Reads a segment record by record, verifying every length and CRC. */
export async function scanSegment(options: ScanOptions): Promise<SegmentScan> {
  const reader = createChunkReader(options.file, options.size);
  let position = 0;
  while (position < options.size) {
    const problem = await checkRecordAt(reader, position, options);
    if (problem !== undefined) return { validBytes: position, tornReason: problem };
    const header = await reader.take(position, recordHeaderBytes);
    const length = new DataView(header.buffer, header.byteOffset, 12).getUint32(0, true);
    const payloadCrc = new DataView(header.buffer, header.byteOffset, 12).getUint32(8, true);
    const payload = await reader.take(position + recordHeaderBytes, length);
    if (crc32c(payload) !== payloadCrc) {
      throw corrupt(options.file, position, `payload CRC mismatch in record of ${length} bytes`);
    }
    if (!options.visit({ position, payload })) break;
    position += recordHeaderBytes + length;
  }
  return { validBytes: position, tornReason: undefined };
}

/** Why the record at `position` is a torn tail; throws if it is corrupt; undefined if sound. */
async function checkRecordAt(
  reader: ChunkReader,
  position: number,
  options: ScanOptions,
): Promise<string | undefined> {
  const remaining = options.size - position;
  const torn = (reason: string): string => {
    if (!options.tornTailAllowed)
      throw corrupt(options.file, position, `${reason} (not the last segment)`);
    return reason;
  };
  if (remaining < recordHeaderBytes) return torn(`record header cut short: ${remaining} bytes`);
  const header = await reader.take(position, recordHeaderBytes);
  const view = new DataView(header.buffer, header.byteOffset, recordHeaderBytes);
  const length = view.getUint32(0, true);
  if (crc32c(header.subarray(0, 4)) !== view.getUint32(4, true)) {
    if (await reader.isZeroFrom(position)) return torn(`zero-filled tail of ${remaining} bytes`);
    throw corrupt(options.file, position, `length field fails its CRC (length ${length})`);
  }
  if (length === 0 || length > options.maxRecordBytes) {
    throw corrupt(
      options.file,
      position,
      `bad record length ${length}, allowed 1..${options.maxRecordBytes}`,
    );
  }
  if (recordHeaderBytes + length > remaining) {
    return torn(`record of ${length} bytes cut short: ${remaining - recordHeaderBytes} present`);
  }
  return undefined;
}

export function corrupt(file: StorageFile, offset: number, what: string): StorageError {
  return new StorageError(StorageErrorCode.Corrupt, what, { file: file.path, offset });
}

interface ChunkReader {
  /** `length` bytes at `position` (all inside the file). The view is valid until the next call. */
  take(position: number, length: number): Promise<Uint8Array>;
  isZeroFrom(position: number): Promise<boolean>;
}

const chunkBytes = 1024 * 1024;

function createChunkReader(file: StorageFile, size: number): ChunkReader {
  let chunk = new Uint8Array(0);
  let chunkStart = 0;
  const readFully = async (buffer: Uint8Array, position: number): Promise<void> => {
    let done = 0;
    while (done < buffer.byteLength) {
      const count = await file.read(buffer.subarray(done), position + done);
      if (count === 0) throw corrupt(file, position + done, "file shorter than its size");
      done += count;
    }
  };
  const take = async (position: number, length: number): Promise<Uint8Array> => {
    if (position >= chunkStart && position + length <= chunkStart + chunk.byteLength) {
      return chunk.subarray(position - chunkStart, position - chunkStart + length);
    }
    if (length >= chunkBytes) {
      const buffer = new Uint8Array(length);
      await readFully(buffer, position);
      return buffer;
    }
    chunk = new Uint8Array(Math.min(chunkBytes, size - position));
    chunkStart = position;
    await readFully(chunk, position);
    return chunk.subarray(0, length);
  };
  const isZeroFrom = async (position: number): Promise<boolean> => {
    for (let at = position; at < size; at += chunkBytes) {
      const part = await take(at, Math.min(chunkBytes, size - at));
      if (part.some((byte) => byte !== 0)) return false;
    }
    return true;
  };
  return { take, isZeroFrom };
}
