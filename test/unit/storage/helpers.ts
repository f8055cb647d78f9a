import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "../../../framework/raft/index.js";
import { EntryType } from "../../../framework/raft/index.js";
import type { FileSystem, StorageFile, StorageLogger } from "../../../framework/storage/index.js";
import { createNodeFileSystem } from "../../../framework/storage/index.js";

export async function makeTemporaryDirectory(): Promise<{
  path: string;
  remove: () => Promise<void>;
}> {
  const path = await mkdtemp(join(tmpdir(), "raftkit-storage-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Entry whose data encodes (group, index, term) so content can be checked after a restart. */
export function makeEntry(groupId: number, index: number, term: number, size = 8): Entry {
  const data = new Uint8Array(size);
  const view = new DataView(data.buffer);
  if (size >= 8) {
    view.setUint32(0, groupId, true);
    view.setUint16(4, index % 65536, true);
    view.setUint16(6, term % 65536, true);
  }
  for (let i = 8; i < size; i++) data[i] = (groupId + index + term + i) % 256;
  return { index, term, type: EntryType.Normal, data };
}

export function makeEntries(
  groupId: number,
  first: number,
  count: number,
  term: number,
  size = 8,
): Entry[] {
  return Array.from({ length: count }, (_, i) => makeEntry(groupId, first + i, term, size));
}

export interface RecordingLogger extends StorageLogger {
  readonly warnings: { message: string; fields: Readonly<Record<string, string | number>> }[];
}

export function createRecordingLogger(): RecordingLogger {
  const warnings: RecordingLogger["warnings"] = [];
  return { warnings, warn: (message, fields) => warnings.push({ message, fields }) };
}

/**
 * The node file system with knobs: counts fdatasyncs, durable (O_DSYNC)
 * writes and directory syncs, and fails writes once `writeBudgetBytes` is
 * spent (writing what fits first, like a disk that fills up mid-write), with
 * an ENOSPC error.
 */
export interface FaultyFileSystem extends FileSystem {
  datasyncCount: number;
  /** Calls of writeDurable (each makes its own bytes durable, like a write and an fdatasync). */
  durableWriteCount: number;
  directorySyncCount: number;
  writeBudgetBytes: number;
  /**
   * When set, every fdatasync fails with EIO (after the write went to the page
   * cache), and so does every durable write (after its bytes were written).
   */
  failDatasync: boolean;
  /** Files opened from now on offer writeDurable (the node file system's O_DSYNC write); default true. */
  durableWrites: boolean;
}

export function createFaultyFileSystem(): FaultyFileSystem {
  const real = createNodeFileSystem();
  const faulty: FaultyFileSystem = {
    datasyncCount: 0,
    durableWriteCount: 0,
    directorySyncCount: 0,
    writeBudgetBytes: Number.POSITIVE_INFINITY,
    failDatasync: false,
    durableWrites: true,
    open: async (path, mode) => wrapFile(await real.open(path, mode)),
    readdir: (directory) => real.readdir(directory),
    mkdir: (directory) => real.mkdir(directory),
    rename: (from, to) => real.rename(from, to),
    unlink: (path) => real.unlink(path),
    async syncDirectory(directory) {
      faulty.directorySyncCount++;
      await real.syncDirectory(directory);
    },
  };
  /** Writes within the budget with `write`; past it, what fits, then ENOSPC. */
  const budgeted = async (
    write: (buffers: readonly Uint8Array[], position: number) => Promise<void>,
    buffers: readonly Uint8Array[],
    position: number,
  ): Promise<void> => {
    const total = buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0);
    if (total <= faulty.writeBudgetBytes) {
      faulty.writeBudgetBytes -= total;
      return write(buffers, position);
    }
    const fits = joinPrefix(buffers, faulty.writeBudgetBytes);
    faulty.writeBudgetBytes = 0;
    await write([fits], position);
    throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
  };
  const wrapFile = (file: StorageFile): StorageFile => {
    const { writeDurable, ...plain } = file;
    const wrapped: StorageFile = {
      ...plain,
      path: file.path,
      write: (buffers, position) => budgeted((b, at) => file.write(b, at), buffers, position),
      async datasync() {
        faulty.datasyncCount++;
        if (faulty.failDatasync) {
          throw Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
        }
        await file.datasync();
      },
    };
    if (writeDurable === undefined || !faulty.durableWrites) return wrapped;
    return {
      ...wrapped,
      async writeDurable(buffers, position) {
        faulty.durableWriteCount++;
        // A failing durable write is modelled as a plain write whose sync failed.
        const write = faulty.failDatasync
          ? (b: readonly Uint8Array[], at: number) => file.write(b, at)
          : (b: readonly Uint8Array[], at: number) => writeDurable.call(file, b, at);
        await budgeted(write, buffers, position);
        if (faulty.failDatasync) {
          throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
        }
      },
    };
  };
  return faulty;
}

function joinPrefix(buffers: readonly Uint8Array[], length: number): Uint8Array {
  const result = new Uint8Array(length);
  let at = 0;
  for (const buffer of buffers) {
    if (at >= length) break;
    const part = buffer.subarray(0, Math.min(buffer.byteLength, length - at));
    result.set(part, at);
    at += part.byteLength;
  }
  return result;
}
