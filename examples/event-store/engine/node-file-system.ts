import { readSync } from "node:fs";
import { open, mkdir, readdir, rename, unlink, type FileHandle } from "node:fs/promises";
import type { EngineFile, EngineFileSystem, OpenMode } from "./file-system.js";

/** The real disk, through node:fs. */
export function createNodeFileSystem(): EngineFileSystem {
  return {
    async open(path: string, mode: OpenMode): Promise<EngineFile> {
      const flags = mode === "read" ? "r" : mode === "readWrite" ? "r+" : "wx+";
      return wrapHandle(path, await open(path, flags));
    },
    readdir: (directory) => readdir(directory),
    mkdir: async (directory) => {
      await mkdir(directory, { recursive: true });
    },
    rename: (from, to) => rename(from, to),
    unlink: (path) => unlink(path),
    async syncDirectory(directory: string): Promise<void> {
      const handle = await open(directory, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
  };
}

function wrapHandle(path: string, handle: FileHandle): EngineFile {
  return {
    path,
    async write(buffers, position) {
      let at = position;
      for (const buffer of buffers) {
        let done = 0;
        while (done < buffer.byteLength) {
          const { bytesWritten } = await handle.write(buffer, done, buffer.byteLength - done,
            at + done);
          done += bytesWritten;
        }
        at += buffer.byteLength;
      }
    },
    datasync: () => handle.datasync(),
    async read(buffer, position) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position);
      return bytesRead;
    },
    readSync(buffer, position) {
      let done = 0;
      while (done < buffer.byteLength) {
        const read = readSync(handle.fd, buffer, done, buffer.byteLength - done, position + done);
        if (read === 0) break;
        done += read;
      }
      return done;
    },
    size: async () => (await handle.stat()).size,
    truncate: (size) => handle.truncate(size),
    close: () => handle.close(),
  };
}

