import type { EngineFile, EngineFileSystem, OpenMode } from "./file-system.js";

/**
 * A file system in memory that can crash: data written but not synced
 * (datasync for a file's bytes, syncDirectory for creations, renames and
 * removals) is lost by `crash()`, or, given a random source, kept in part —
 * a random prefix of the unsynced writes, the last one possibly torn. Handles
 * opened before a crash fail afterwards, as in a killed process.
 * Directories themselves are durable as soon as made.
 */
export interface MemoryFileSystem extends EngineFileSystem {
  /** Loses unsynced state. `random` in [0, 1) decides how much of it survives. */
  crash(random?: () => number): void;
  /** The current bytes of a file (a copy), for tests. */
  readFile(path: string): Uint8Array;
  /** Overwrites bytes of a file in place, durably (bit rot, for corruption tests). */
  damage(path: string, offset: number, bytes: Uint8Array): void;
  /** Paths of all files. */
  listFiles(): string[];
}

type PendingChange =
  | { readonly kind: "write"; readonly position: number; readonly bytes: Uint8Array }
  | { readonly kind: "truncate"; readonly size: number };

interface MemoryNode {
  data: Uint8Array;
  durable: Uint8Array;
  pending: PendingChange[];
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

function applyChange(data: Uint8Array, change: PendingChange): Uint8Array {
  if (change.kind === "truncate") {
    const result = new Uint8Array(change.size);
    result.set(data.subarray(0, Math.min(change.size, data.byteLength)));
    return result;
  }
  const end = change.position + change.bytes.byteLength;
  const result = end > data.byteLength ? new Uint8Array(end) : data;
  if (result !== data) result.set(data);
  result.set(change.bytes, change.position);
  return result;
}

function notFound(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory '${path}'`),
    { code: "ENOENT" });
}

export function createMemoryFileSystem(): MemoryFileSystem {
  let entries = new Map<string, MemoryNode>();
  const durableEntries = new Map<string, MemoryNode>();
  const directories = new Set<string>(["/"]);
  let generation = 0;

  const node = (path: string): MemoryNode => {
    const found = entries.get(path);
    if (found === undefined) throw notFound(path);
    return found;
  };

  const openFile = (path: string, readOnly: boolean): EngineFile => {
    const opened = generation;
    const live = (): MemoryNode => {
      if (generation !== opened) throw new Error(`EBADF: '${path}' was open before a crash`);
      return node(path);
    };
    return {
      path,
      async write(buffers, position) {
        if (readOnly) throw new Error(`EBADF: '${path}' is open for reading`);
        const target = live();
        let at = position;
        for (const buffer of buffers) {
          const change: PendingChange = { kind: "write", position: at, bytes: buffer.slice() };
          target.data = applyChange(target.data, change);
          target.pending.push(change);
          at += buffer.byteLength;
        }
      },
      async datasync() {
        const target = live();
        target.durable = target.data.slice();
        target.pending = [];
      },
      async read(buffer, position) {
        const data = live().data;
        if (position >= data.byteLength) return 0;
        const length = Math.min(buffer.byteLength, data.byteLength - position);
        buffer.set(data.subarray(position, position + length));
        return length;
      },
      size: async () => live().data.byteLength,
      async truncate(size) {
        const target = live();
        const change: PendingChange = { kind: "truncate", size };
        target.data = applyChange(target.data, change);
        target.pending.push(change);
      },
      async close() {},
    };
  };

  return {
    async open(path: string, mode: OpenMode): Promise<EngineFile> {
      if (!directories.has(parentOf(path))) throw notFound(parentOf(path));
      if (mode === "create") {
        if (entries.has(path)) {
          throw Object.assign(new Error(`EEXIST: '${path}'`), { code: "EEXIST" });
        }
        entries.set(path, { data: new Uint8Array(0), durable: new Uint8Array(0), pending: [] });
      } else {
        node(path);
      }
      return openFile(path, mode === "read");
    },
    async readdir(directory) {
      if (!directories.has(directory)) throw notFound(directory);
      const names: string[] = [];
      for (const path of entries.keys()) {
        if (parentOf(path) === directory) names.push(path.slice(directory.length + 1));
      }
      for (const path of directories) {
        if (path !== "/" && parentOf(path) === directory) {
          names.push(path.slice(directory.length + 1));
        }
      }
      return names.sort();
    },
    async mkdir(directory) {
      for (let path = directory; path !== "/" && !directories.has(path); path = parentOf(path)) {
        directories.add(path);
      }
    },
    async rename(from, to) {
      const moved = node(from);
      entries.delete(from);
      entries.set(to, moved);
    },
    async unlink(path) {
      node(path);
      entries.delete(path);
    },
    async syncDirectory(directory) {
      for (const path of [...durableEntries.keys()]) {
        if (parentOf(path) === directory && !entries.has(path)) durableEntries.delete(path);
      }
      for (const [path, file] of entries) {
        if (parentOf(path) === directory) durableEntries.set(path, file);
      }
    },
    crash(random?: () => number) {
      generation++;
      entries = new Map(durableEntries);
      for (const file of new Set(entries.values())) {
        file.data = survivingData(file, random);
        file.durable = file.data.slice();
        file.pending = [];
      }
    },
    readFile: (path) => node(path).data.slice(),
    damage(path, offset, bytes) {
      const file = node(path);
      file.data.set(bytes, offset);
      file.durable = file.data.slice();
    },
    listFiles: () => [...entries.keys()].sort(),
  };
}

/** The durable bytes plus, with `random`, a random prefix of the unsynced changes. */
function survivingData(file: MemoryNode, random: (() => number) | undefined): Uint8Array {
  let data: Uint8Array = file.durable.slice();
  if (random === undefined) return data;
  const kept = Math.floor(random() * (file.pending.length + 1));
  for (let index = 0; index < kept; index++) {
    const change = file.pending[index]!;
    const torn = index === kept - 1 && change.kind === "write" && random() < 0.5;
    data = applyChange(data, torn && change.kind === "write" ? {
      kind: "write", position: change.position,
      bytes: change.bytes.subarray(0, Math.floor(random() * change.bytes.byteLength)),
    } : change);
  }
  return data;
}
