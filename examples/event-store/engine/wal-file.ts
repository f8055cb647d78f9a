import { crc32c } from "@node-rs/crc32";
import type { BlockLayout } from "./block-layout.js";
import { ByteReader } from "./byte-cursor.js";
import { corrupt, EventStoreError } from "./errors.js";
import { readExactly, type EngineFile, type EngineFileSystem } from "./file-system.js";
import { decodeWalRecord, WAL_HEADER_BYTES, WAL_MAGIC, type WalRecord } from "./wal-codec.js";

/**
 * The write-ahead log of one checkpoint generation (file `wal-<generation>`):
 * records appended and fdatasync'ed one per batch. On open every record is
 * checked; an incomplete or unchecksummed LAST record is a torn write from a
 * crash and is cut off (its batch was never acknowledged); a bad record with
 * valid data after it is corruption, reported with file and offset.
 * @internal
 */
export interface WalFile {
  readonly file: EngineFile;
  readonly generation: number;
  /** Bytes of valid records; the next record goes here. */
  size: number;
}

export function walPath(directory: string, generation: number): string {
  return `${directory}/wal-${generation}`;
}

export async function createWal(fileSystem: EngineFileSystem, directory: string,
  generation: number): Promise<WalFile> {
  const path = walPath(directory, generation);
  const file = await fileSystem.open(path, "create").catch((error: unknown) => {
    throw EventStoreError.from(error, path);
  });
  return { file, generation, size: 0 };
}

export async function appendWal(wal: WalFile, record: Uint8Array, sync: boolean): Promise<void> {
  await wal.file.write([record], wal.size);
  if (sync) await wal.file.datasync();
  wal.size += record.byteLength;
}

/** Opens the WAL, returns its records in order and cuts a torn tail. */
export async function openWal(fileSystem: EngineFileSystem, directory: string, generation: number,
  blockBytes: number, layoutOf: (stream: string) => BlockLayout | undefined,
  apply: (record: WalRecord) => void, cutAtDamage = false): Promise<WalFile> {
  const path = walPath(directory, generation);
  const file = await fileSystem.open(path, "readWrite");
  const bytes = await readExactly(file, 0, await file.size());
  let at = 0;
  let lastIndex = -Infinity;
  while (at < bytes.byteLength) {
    let length: number | undefined;
    try {
      length = recordLength(bytes, at, path);
    } catch (error) {
      // Unsynced WAL (walSync false): a damaged record ends what survived.
      if (!cutAtDamage) throw error;
      length = undefined;
    }
    if (length === undefined) break;
    const reader = new ByteReader(bytes.subarray(at, at + length), path, at);
    const record = decodeWalRecord(reader, blockBytes, layoutOf);
    if (record.generation !== generation) {
      throw corrupt(`record of generation ${record.generation} in WAL ${generation}`, path, at);
    }
    // An annex-only record may repeat the index before it (event-store.ts applyBatch).
    const annexOnly = record.operations.length === 0 && record.annex !== undefined;
    if (!(record.appliedIndex > lastIndex || (annexOnly && record.appliedIndex === lastIndex))) {
      throw corrupt(`applied index ${record.appliedIndex} after ${lastIndex}`, path, at);
    }
    lastIndex = record.appliedIndex;
    apply(record);
    at += length;
  }
  if (at < bytes.byteLength) {
    await file.truncate(at);
    await file.datasync();
  }
  return { file, generation, size: at };
}

/** The length of the valid record at `at`, or undefined for a torn tail. */
function recordLength(bytes: Uint8Array, at: number, path: string): number | undefined {
  const rest = bytes.byteLength - at;
  if (rest < WAL_HEADER_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, rest);
  if (view.getUint32(0, true) !== WAL_MAGIC) return tornTail(bytes, at, path, "bad magic");
  const length = view.getUint32(8, true);
  if (length < WAL_HEADER_BYTES || length % 8 !== 0) {
    return tornTail(bytes, at, path, `bad length ${length}`);
  }
  if (length > rest) return undefined;
  if (crc32c(bytes.subarray(at + 8, at + length)) !== view.getUint32(4, true)) {
    if (at + length === bytes.byteLength || isZero(bytes, at + length)) return undefined;
    throw corrupt("WAL record checksum mismatch with records after it", path, at);
  }
  return length;
}

/**
 * A header with a bad magic or length is a torn write only when less than its
 * first 12 bytes reached the disk: everything after them must be zero.
 */
function tornTail(bytes: Uint8Array, at: number, path: string, what: string): undefined {
  if (isZero(bytes, Math.min(at + 12, bytes.byteLength))) return undefined;
  throw corrupt(`WAL record: ${what}`, path, at);
}

function isZero(bytes: Uint8Array, from: number): boolean {
  for (let index = from; index < bytes.byteLength; index++) if (bytes[index] !== 0) return false;
  return true;
}
