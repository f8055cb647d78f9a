import { crc32c } from "@node-rs/crc32";
import type { SnapshotMetadata } from "../raft/index.js";
import { StorageError, StorageErrorCode } from "./errors.js";
import type { FileSystem, StorageFile } from "./file-system.js";
import { checkGroupId, invalidArgument } from "./log-update.js";
import type { StorageLogger } from "./logger.js";
import { silentStorageLogger } from "./logger.js";
import { createNodeFileSystem } from "./node-file-system.js";
import { joinPath } from "./segment-name.js";
import {
  corruptSnapshot,
  decodeSnapshotMetadata,
  decodeSnapshotPrefix,
  decodeSnapshotTrailer,
  encodeSnapshotHeader,
  encodeSnapshotTrailer,
  snapshotPrefixBytes,
  snapshotTrailerBytes,
} from "./snapshot-file.js";
import { snapshotFileName, parseSnapshotFileName, isTemporaryFileName } from "./snapshot-name.js";

export interface SnapshotStoreOptions {
  /** Holds one subdirectory per group; created if missing. */
  readonly directory: string;
  readonly fileSystem?: FileSystem;
  readonly logger?: StorageLogger;
  /** Snapshots kept per group after each write, newest first. Default 2. */
  readonly keepPerGroup?: number;
}

export interface SnapshotInfo {
  readonly groupId: number;
  readonly metadata: SnapshotMetadata;
  /** Size of the snapshot's data (without header and trailer). */
  readonly dataBytes: number;
}

export interface SnapshotReader {
  readonly info: SnapshotInfo;
  /**
   * The data in chunks of at most `chunkBytes` (default 1 MiB). The CRC is
   * checked at the end: a damaged file throws Corrupt from the last step.
   */
  chunks(chunkBytes?: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

/**
 * Snapshot files per group, each written atomically: a temporary file,
 * fdatasync, rename, fsync of the directory. A crash leaves either the old set
 * of snapshots or the new one, plus maybe a temporary file that the next open
 * removes.
 */
export interface SnapshotStore {
  /** Writes a snapshot from a stream of chunks; resolves once it is durable. */
  write(
    groupId: number,
    metadata: SnapshotMetadata,
    chunks: AsyncIterable<Uint8Array>,
  ): Promise<SnapshotInfo>;
  /** The group's snapshots, newest (highest index, then term) first. */
  list(groupId: number): Promise<SnapshotInfo[]>;
  /** Opens a snapshot for reading; NotFound if there is none at that index and term. */
  open(groupId: number, index: number, term: number): Promise<SnapshotReader>;
  /** Deletes every snapshot of the group. */
  removeGroup(groupId: number): Promise<void>;
}

export async function openSnapshotStore(options: SnapshotStoreOptions): Promise<SnapshotStore> {
  const keepPerGroup = options.keepPerGroup ?? 2;
  if (!Number.isSafeInteger(keepPerGroup) || keepPerGroup < 1) {
    throw invalidArgument(`keepPerGroup = ${keepPerGroup}, allowed ≥ 1`);
  }
  const fileSystem = options.fileSystem ?? createNodeFileSystem();
  const logger = options.logger ?? silentStorageLogger;
  await fileSystem.mkdir(options.directory);
  for (const name of await fileSystem.readdir(options.directory)) {
    if (!/^[1-9][0-9]*$/.test(name)) continue;
    await removeTemporaryFiles(fileSystem, logger, joinPath(options.directory, name));
  }
  return createSnapshotStore({ fileSystem, logger, directory: options.directory, keepPerGroup });
}

interface SnapshotStoreContext {
  readonly fileSystem: FileSystem;
  readonly logger: StorageLogger;
  readonly directory: string;
  readonly keepPerGroup: number;
}

function createSnapshotStore(context: SnapshotStoreContext): SnapshotStore {
  // Writes of one group run one at a time, so collection never races a rename.
  const writesByGroup = new Map<number, Promise<unknown>>();
  let temporaryCounter = 0;
  const groupDirectory = (groupId: number): string => {
    checkGroupId(groupId);
    return joinPath(context.directory, String(groupId));
  };
  const list = async (groupId: number): Promise<SnapshotInfo[]> => {
    const directory = groupDirectory(groupId);
    const infos: SnapshotInfo[] = [];
    for (const name of await readdirOrEmpty(context.fileSystem, directory)) {
      if (parseSnapshotFileName(name) === undefined) continue;
      const reader = await openReader(context.fileSystem, groupId, joinPath(directory, name));
      await reader.close();
      infos.push(reader.info);
    }
    return infos.sort(
      (a, b) => b.metadata.index - a.metadata.index || b.metadata.term - a.metadata.term,
    );
  };
  return {
    write(groupId, metadata, chunks): Promise<SnapshotInfo> {
      let directory: string;
      try {
        directory = groupDirectory(groupId);
        checkMetadata(metadata);
      } catch (error) {
        return Promise.reject(error);
      }
      const finalName = snapshotFileName(metadata.index, metadata.term);
      const temporaryName = `${finalName}.${++temporaryCounter}.tmp`;
      const previous = writesByGroup.get(groupId) ?? Promise.resolve();
      const next = previous
        .catch(() => undefined)
        .then(async () => {
          const info = await writeSnapshotFile(context, {
            groupId,
            directory,
            temporaryName,
            metadata,
            chunks,
          });
          await collectOldSnapshots(context, directory, await list(groupId));
          return info;
        });
      writesByGroup.set(groupId, next);
      return next;
    },
    list,
    async open(groupId, index, term): Promise<SnapshotReader> {
      const path = joinPath(groupDirectory(groupId), snapshotFileName(index, term));
      return openReader(context.fileSystem, groupId, path);
    },
    async removeGroup(groupId): Promise<void> {
      const directory = groupDirectory(groupId);
      await (writesByGroup.get(groupId) ?? Promise.resolve()).catch(() => undefined);
      const names = await readdirOrEmpty(context.fileSystem, directory);
      for (const name of names) await context.fileSystem.unlink(joinPath(directory, name));
      if (names.length > 0) await context.fileSystem.syncDirectory(directory);
    },
  };
}

function checkMetadata(metadata: SnapshotMetadata): void {
  for (const [what, value] of [
    ["index", metadata.index],
    ["term", metadata.term],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw invalidArgument(`snapshot ${what} = ${value}, allowed integers 0..2^53-1`);
    }
  }
}

interface SnapshotWrite {
  readonly groupId: number;
  readonly directory: string;
  readonly temporaryName: string;
  readonly metadata: SnapshotMetadata;
  readonly chunks: AsyncIterable<Uint8Array>;
}

const writeBatchBytes = 1024 * 1024;

async function writeSnapshotFile(
  context: SnapshotStoreContext,
  write: SnapshotWrite,
): Promise<SnapshotInfo> {
  const { fileSystem } = context;
  await fileSystem.mkdir(write.directory);
  const temporaryPath = joinPath(write.directory, write.temporaryName);
  const finalPath = joinPath(
    write.directory,
    snapshotFileName(write.metadata.index, write.metadata.term),
  );
  const file = await fileSystem.open(temporaryPath, "create");
  let dataBytes = 0;
  try {
    const header = encodeSnapshotHeader(write.metadata);
    let position = header.byteLength;
    await file.write([header], 0);
    let batch: Uint8Array[] = [];
    let batchBytes = 0;
    let dataCrc = 0;
    for await (const chunk of write.chunks) {
      dataCrc = crc32c(chunk, dataCrc);
      batch.push(chunk);
      batchBytes += chunk.byteLength;
      if (batchBytes < writeBatchBytes) continue;
      await file.write(batch, position);
      position += batchBytes;
      dataBytes += batchBytes;
      batch = [];
      batchBytes = 0;
    }
    await file.write([...batch, encodeSnapshotTrailer(dataBytes + batchBytes, dataCrc)], position);
    dataBytes += batchBytes;
    await file.datasync();
    await file.close();
  } catch (error) {
    await discardTemporary(context, file, error);
    throw StorageError.from(error, temporaryPath);
  }
  await fileSystem.rename(temporaryPath, finalPath);
  await fileSystem.syncDirectory(write.directory);
  return { groupId: write.groupId, metadata: write.metadata, dataBytes };
}

/** Best effort after a failed write: the caller gets the write's error; open removes leftovers. */
async function discardTemporary(
  context: SnapshotStoreContext,
  file: StorageFile,
  cause: unknown,
): Promise<void> {
  try {
    await file.close();
    await context.fileSystem.unlink(file.path);
  } catch (cleanupError) {
    context.logger.warn("could not remove temporary snapshot file after a failed write", {
      file: file.path,
      error: String(cleanupError),
      cause: String(cause),
    });
  }
}

async function collectOldSnapshots(
  context: SnapshotStoreContext,
  directory: string,
  newestFirst: readonly SnapshotInfo[],
): Promise<void> {
  const old = newestFirst.slice(context.keepPerGroup);
  for (const info of old) {
    await context.fileSystem.unlink(
      joinPath(directory, snapshotFileName(info.metadata.index, info.metadata.term)),
    );
  }
  if (old.length > 0) await context.fileSystem.syncDirectory(directory);
}

async function removeTemporaryFiles(
  fileSystem: FileSystem,
  logger: StorageLogger,
  directory: string,
): Promise<void> {
  const temporary = (await fileSystem.readdir(directory)).filter(isTemporaryFileName);
  for (const name of temporary) {
    logger.warn("removing half-written snapshot file", { file: joinPath(directory, name) });
    await fileSystem.unlink(joinPath(directory, name));
  }
  if (temporary.length > 0) await fileSystem.syncDirectory(directory);
}

async function readdirOrEmpty(fileSystem: FileSystem, directory: string): Promise<string[]> {
  try {
    return await fileSystem.readdir(directory);
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return [];
    throw StorageError.from(error, directory);
  }
}

async function openReader(
  fileSystem: FileSystem,
  groupId: number,
  path: string,
): Promise<SnapshotReader> {
  let file: StorageFile;
  try {
    file = await fileSystem.open(path, "read");
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") {
      throw new StorageError(StorageErrorCode.NotFound, "no such snapshot", { file: path });
    }
    throw StorageError.from(error, path);
  }
  try {
    const layout = await readLayout(file);
    const info: SnapshotInfo = { groupId, metadata: layout.metadata, dataBytes: layout.dataBytes };
    return {
      info,
      chunks: (chunkBytes = 1024 * 1024) => readChunks(file, layout, chunkBytes),
      close: () => file.close(),
    };
  } catch (error) {
    await file.close();
    throw error;
  }
}

interface SnapshotLayout {
  readonly metadata: SnapshotMetadata;
  readonly dataStart: number;
  readonly dataBytes: number;
  readonly dataCrc: number;
}

async function readLayout(file: StorageFile): Promise<SnapshotLayout> {
  const size = await file.size();
  if (size < snapshotPrefixBytes + snapshotTrailerBytes) {
    throw corruptSnapshot(file.path, 0, `file of ${size} bytes is too short`);
  }
  const prefix = await readExactly(file, 0, snapshotPrefixBytes);
  const { length, crc } = decodeSnapshotPrefix(prefix, file.path);
  const dataStart = snapshotPrefixBytes + length;
  if (dataStart + snapshotTrailerBytes > size) {
    throw corruptSnapshot(file.path, 8, `metadata length ${length} runs past the file end`);
  }
  const metadata = decodeSnapshotMetadata(
    await readExactly(file, snapshotPrefixBytes, length),
    crc,
    file.path,
  );
  const trailerOffset = size - snapshotTrailerBytes;
  const trailer = decodeSnapshotTrailer(
    await readExactly(file, trailerOffset, snapshotTrailerBytes),
    file.path,
    trailerOffset,
  );
  if (dataStart + trailer.dataBytes !== trailerOffset) {
    throw corruptSnapshot(
      file.path,
      trailerOffset,
      `trailer says ${trailer.dataBytes} data bytes, file holds ${trailerOffset - dataStart}`,
    );
  }
  return { metadata, dataStart, dataBytes: trailer.dataBytes, dataCrc: trailer.dataCrc };
}

async function* readChunks(
  file: StorageFile,
  layout: SnapshotLayout,
  chunkBytes: number,
): AsyncGenerator<Uint8Array> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1)
    throw invalidArgument(`chunkBytes = ${chunkBytes}`);
  let crc = 0;
  for (let done = 0; done < layout.dataBytes; done += chunkBytes) {
    const chunk = await readExactly(
      file,
      layout.dataStart + done,
      Math.min(chunkBytes, layout.dataBytes - done),
    );
    crc = crc32c(chunk, crc);
    if (done + chunk.byteLength >= layout.dataBytes && crc !== layout.dataCrc) {
      throw corruptSnapshot(file.path, layout.dataStart, "data CRC mismatch");
    }
    yield chunk;
  }
  if (layout.dataBytes === 0 && layout.dataCrc !== 0) {
    throw corruptSnapshot(file.path, layout.dataStart, "data CRC mismatch");
  }
}

async function readExactly(
  file: StorageFile,
  position: number,
  length: number,
): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const count = await file.read(buffer.subarray(done), position + done);
    if (count === 0) throw corruptSnapshot(file.path, position + done, "file ends early");
    done += count;
  }
  return buffer;
}
