import { crc32c } from "@node-rs/crc32";
import { createBlockLayout } from "./block-layout.js";
import { decodeBlock } from "./block-decode.js";
import { detachRows } from "./block.js";
import { ChunkReader } from "./chunk-reader.js";
import { corrupt, EventStoreError, EventStoreErrorCode } from "./errors.js";
import type { EngineFileSystem } from "./file-system.js";
import type { ManifestStream } from "./manifest-codec.js";
import {
  decodeSnapshotHeader, SNAPSHOT_TRAILER_BYTES, SNAPSHOT_TRAILER_MAGIC, type SnapshotHeader,
} from "./snapshot-format.js";
import { BLOCKS_FILE, MANIFEST_FILE, MANIFEST_TEMPORARY_FILE } from "./store-state.js";
import { writeManifestFile } from "./store-open.js";
import { createBlockHome } from "./stream.js";
import { createWal } from "./wal-file.js";

const ORIGIN = "snapshot";

/**
 * Writes the store files for a snapshot stream into `directory`, which must
 * hold no store. Every block is checked (checksum, order) on the way; the
 * manifest is written last, so a failed or interrupted import leaves no
 * store behind (its partial files are removed on failure).
 * @internal
 */
export async function importSnapshotFiles(fileSystem: EngineFileSystem, directory: string,
  chunks: AsyncIterable<Uint8Array>): Promise<void> {
  await fileSystem.mkdir(directory);
  const names = await fileSystem.readdir(directory);
  if (names.includes(MANIFEST_FILE) || names.includes(BLOCKS_FILE)) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
      `${directory} already holds a store; import into an empty directory`);
  }
  try {
    await writeFiles(fileSystem, directory, chunks);
  } catch (error) {
    // Cleanup, then the original error goes on: nothing of a failed import may look like a store.
    for (const name of [BLOCKS_FILE, MANIFEST_TEMPORARY_FILE, "wal-1"]) {
      await fileSystem.unlink(`${directory}/${name}`).catch(() => undefined);
    }
    throw error;
  }
}

async function writeFiles(fileSystem: EngineFileSystem, directory: string,
  chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const reader = new ChunkReader(chunks, ORIGIN);
  const start = await reader.read(12, "snapshot header");
  const headerLength = new DataView(start.buffer).getUint32(8, true);
  if (headerLength < 32 || headerLength > 64 * 1024 * 1024) {
    throw corrupt(`snapshot header length ${headerLength}`, ORIGIN, 8);
  }
  const rest = await reader.read(headerLength - 12, "snapshot header");
  const headerBytes = new Uint8Array(headerLength);
  headerBytes.set(start);
  headerBytes.set(rest, 12);
  const header = decodeSnapshotHeader(headerBytes, ORIGIN);
  let checksum = crc32c(headerBytes);
  const blocksPath = `${directory}/${BLOCKS_FILE}`;
  const blocksFile = await fileSystem.open(blocksPath, "create");
  const streams: ManifestStream[] = [];
  let slot = 0;
  for (const stream of header.streams) {
    // Blocks are decoded only to check them: out of any cache, memory of their own.
    const home = createBlockHome(createBlockLayout(stream.schema, header.blockBytes), undefined);
    const slots: number[] = [];
    let previousMax = -Infinity;
    for (let index = 0; index < stream.blockCount; index++) {
      const offset = reader.offset;
      const blockStart = await reader.read(12, "block header");
      const length = new DataView(blockStart.buffer).getUint32(8, true);
      if (length < 32 || length > header.blockBytes) {
        throw corrupt(`block length ${length}`, ORIGIN, offset + 8);
      }
      const bytes = new Uint8Array(length);
      bytes.set(blockStart);
      bytes.set(await reader.read(length - 12, "block"), 12);
      const block = decodeBlock(home, bytes, { file: ORIGIN, offset }, 0);
      if (block.count > 0 && block.summary.minTimestamp < previousMax) {
        throw corrupt(`block of stream '${stream.name}' starts before its predecessor ends`,
          ORIGIN, offset);
      }
      previousMax = Math.max(previousMax, block.summary.maxTimestamp);
      detachRows(block); // its memory is reused by the next block
      checksum = crc32c(bytes, checksum);
      await blocksFile.write([bytes], slot * header.blockBytes);
      slots.push(slot++);
    }
    streams.push({ ...stream, slots });
  }
  await checkTrailer(reader, checksum);
  await blocksFile.datasync();
  await blocksFile.close();
  await finishFiles(fileSystem, directory, header, streams, slot);
}

async function checkTrailer(reader: ChunkReader, checksum: number): Promise<void> {
  const bytesBefore = reader.offset;
  const trailer = await reader.read(SNAPSHOT_TRAILER_BYTES, "snapshot trailer");
  const view = new DataView(trailer.buffer);
  if (view.getUint32(0, true) !== SNAPSHOT_TRAILER_MAGIC) {
    throw corrupt("snapshot trailer: bad magic", ORIGIN, bytesBefore);
  }
  if (view.getUint32(4, true) !== 0 || view.getUint32(20, true) !== 0) {
    throw corrupt("snapshot trailer: reserved bytes are not zero", ORIGIN, bytesBefore + 4);
  }
  if (view.getFloat64(8, true) !== bytesBefore) {
    throw corrupt(`snapshot trailer counts ${view.getFloat64(8, true)} bytes, read ` +
      `${bytesBefore}`, ORIGIN, bytesBefore + 8);
  }
  if (view.getUint32(16, true) !== checksum) {
    throw corrupt("snapshot checksum mismatch", ORIGIN, bytesBefore + 16);
  }
  if (!(await reader.atEnd())) throw corrupt("bytes after the snapshot trailer", ORIGIN,
    reader.offset);
}

async function finishFiles(fileSystem: EngineFileSystem, directory: string,
  header: SnapshotHeader, streams: ManifestStream[], slotCount: number): Promise<void> {
  const wal = await createWal(fileSystem, directory, 1);
  await wal.file.close();
  await writeManifestFile(fileSystem, directory, {
    generation: 1, blockBytes: header.blockBytes, appliedIndex: header.appliedIndex,
    slotCount, streams, annex: new Uint8Array(0),
  });
}
