import { open as openFile, mkdir, readdir, rename, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { constants, readSync } from "node:fs";
import type { FileSystem, OpenMode, StorageFile } from "./file-system.js";

/**
 * O_DSYNC where the platform has it (node leaves it undefined on Windows,
 * and `O_WRONLY | undefined` would open without it: writes that are not
 * durable). Without it files offer no writeDurable and commits are synced.
 */
const dsyncFlag: number | undefined = typeof constants.O_DSYNC === "number" ? constants.O_DSYNC : undefined;

const flagsByMode: Readonly<Record<OpenMode, string>> = {
  read: "r",
  readWrite: "r+",
  create: "wx+",
};

/** The FileSystem of node:fs. */
export function createNodeFileSystem(): FileSystem {
  return {
    async open(path: string, mode: OpenMode): Promise<StorageFile> {
      const handle = await openFile(path, flagsByMode[mode]);
      return wrapHandle(path, handle, mode !== "read");
    },
    readdir: (directory: string) => readdir(directory),
    async mkdir(directory: string): Promise<void> {
      await mkdir(directory, { recursive: true });
    },
    rename: (from: string, to: string) => rename(from, to),
    unlink: (path: string) => unlink(path),
    async syncDirectory(directory: string): Promise<void> {
      const handle = await openFile(directory, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
  };
}

function wrapHandle(path: string, handle: FileHandle, writable: boolean): StorageFile {
  // The same file opened with O_DSYNC, on first use: each of its writes returns once durable.
  let durableHandle: Promise<FileHandle> | undefined;
  let closed = false;
  const file: StorageFile = {
    path,
    write: (buffers: readonly Uint8Array[], position: number) => writeAll(handle, buffers, position),
    datasync: () => handle.datasync(),
    async read(buffer: Uint8Array, position: number): Promise<number> {
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position);
      return bytesRead;
    },
    readSync: (buffer: Uint8Array, position: number) =>
      readSync(handle.fd, buffer, 0, buffer.byteLength, position),
    async size(): Promise<number> {
      return (await handle.stat()).size;
    },
    truncate: (size: number) => handle.truncate(size),
    async close(): Promise<void> {
      closed = true;
      const durable = durableHandle;
      durableHandle = undefined;
      try {
        await handle.close();
      } finally {
        if (durable !== undefined) await (await durable.catch(() => undefined))?.close();
      }
    },
  };
  if (!writable || dsyncFlag === undefined) return file;
  const openDurable = dsyncFlag | constants.O_WRONLY;
  return {
    ...file,
    async writeDurable(buffers: readonly Uint8Array[], position: number): Promise<void> {
      if (closed) {
        throw Object.assign(new Error(`EBADF: file closed, write ${path}`), { code: "EBADF" });
      }
      durableHandle ??= openFile(path, openDurable);
      await writeAll(await durableHandle, buffers, position);
    },
  };
}

/** Writes every byte of `buffers` at `position` (writev again after a short write). */
async function writeAll(
  handle: FileHandle,
  buffers: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let pending = buffers.filter((buffer) => buffer.byteLength > 0);
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    at += bytesWritten;
    pending = dropWritten(pending, bytesWritten);
  }
}

/** What is left of `buffers` after the first `count` bytes were written (a short writev). */
function dropWritten(buffers: Uint8Array[], count: number): Uint8Array[] {
  let skip = count;
  const rest: Uint8Array[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.byteLength) {
      skip -= buffer.byteLength;
      continue;
    }
    rest.push(skip === 0 ? buffer : buffer.subarray(skip));
    skip = 0;
  }
  return rest;
}
