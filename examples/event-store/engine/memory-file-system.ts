import type { EngineFile, EngineFileSystem, OpenMode } from "./file-system.js";

/**
 * A file system in memory that can crash: data written but not synced
 * (datasync for a file's bytes, syncDirectory for creations, renames and
 * removals) is lost by `crash()`, or, given a random source, kept in part —
 * a random prefix of the unsynced writes, the last one possibly torn. The
 * crashed view and its open files fail from then on, as in a killed process;
 * `crash` returns the view of the restarted process.
 * Directories themselves are durable as soon as made.
 */
export interface MemoryFileSystem extends EngineFileSystem {
  /** Loses unsynced state (`random` in [0, 1) decides how much survives); returns the new view. */
  crash(random?: () => number): MemoryFileSystem;
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

interface Disk {
  entries: Map<string, MemoryNode>;
  readonly durableEntries: Map<string, MemoryNode>;
  readonly directories: Set<string>;
  generation: number;
}

export function createMemoryFileSystem(): MemoryFileSystem {
  return facade({ entries: new Map(), durableEntries: new Map(),
    directories: new Set(["/"]), generation: 0 });
}

/** A view of the disk for one "process": dead (every call throws) after a crash. */
function facade(disk: Disk): MemoryFileSystem {
  const generation = disk.generation;
  const alive = (): void => {
    if (disk.generation !== generation) throw new Error("EIO: the process crashed");
  };
  const node = (path: string): MemoryNode => {
    alive();
    const found = disk.entries.get(path);
    if (found === undefined) throw notFound(path);
    return found;
  };
  return {
    async open(path: string, mode: OpenMode): Promise<EngineFile> {
      alive();
      if (!disk.directories.has(parentOf(path))) throw notFound(parentOf(path));
      if (mode === "create") {
        if (disk.entries.has(path)) {
          throw Object.assign(new Error(`EEXIST: '${path}'`), { code: "EEXIST" });
        }
        disk.entries.set(path, { data: new Uint8Array(0), durable: new Uint8Array(0),
          pending: [] });
      } else {
        node(path);
      }
      return openFile(path, mode === "read", () => node(path));
    },
    async readdir(directory) {
      alive();
      if (!disk.directories.has(directory)) throw notFound(directory);
      const names: string[] = [];
      for (const path of [...disk.entries.keys(), ...disk.directories]) {
        if (path !== "/" && parentOf(path) === directory) {
          names.push(path.slice(directory.length + 1));
        }
      }
      return names.sort();
    },
    async mkdir(directory) {
      alive();
      for (let path = directory; path !== "/" && !disk.directories.has(path);
        path = parentOf(path)) {
        disk.directories.add(path);
      }
    },
    async rename(from, to) {
      const moved = node(from);
      disk.entries.delete(from);
      disk.entries.set(to, moved);
    },
    async unlink(path) {
      node(path);
      disk.entries.delete(path);
    },
    async syncDirectory(directory) {
      alive();
      for (const path of [...disk.durableEntries.keys()]) {
        if (parentOf(path) === directory && !disk.entries.has(path)) {
          disk.durableEntries.delete(path);
        }
      }
      for (const [path, file] of disk.entries) {
        if (parentOf(path) === directory) disk.durableEntries.set(path, file);
      }
    },
    crash(random?: () => number) {
      disk.generation++;
      disk.entries = new Map(disk.durableEntries);
      for (const file of new Set(disk.entries.values())) {
        file.data = survivingData(file, random);
        file.durable = file.data.slice();
        file.pending = [];
      }
      return facade(disk);
    },
    readFile: (path) => node(path).data.slice(),
    damage(path, offset, bytes) {
      const file = node(path);
      file.data.set(bytes, offset);
      file.durable = file.data.slice();
    },
    listFiles: () => [...disk.entries.keys()].sort(),
  };
}

function openFile(path: string, readOnly: boolean, live: () => MemoryNode): EngineFile {
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
