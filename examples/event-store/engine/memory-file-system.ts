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

/** An unsynced change, with what it replaced so a crash can take it back. */
type PendingChange =
  | { readonly kind: "write"; readonly position: number; readonly bytes: Uint8Array;
    readonly replaced: Uint8Array; readonly sizeBefore: number }
  | { readonly kind: "truncate"; readonly size: number; readonly replaced: Uint8Array;
    readonly sizeBefore: number };

/** A file: bytes [0, size) of `buffer` (bytes past `size` are always zero). */
interface MemoryNode {
  buffer: Uint8Array;
  size: number;
  pending: PendingChange[];
}

function reserve(file: MemoryNode, size: number): void {
  if (size <= file.buffer.byteLength) return;
  const grown = new Uint8Array(Math.max(size, file.buffer.byteLength * 2, 4096));
  grown.set(file.buffer.subarray(0, file.size));
  file.buffer = grown;
}

function setSize(file: MemoryNode, size: number): void {
  if (size < file.size) file.buffer.fill(0, size, file.size);
  else reserve(file, size);
  file.size = size;
}

function writeBytes(file: MemoryNode, position: number, bytes: Uint8Array,
  record: boolean): void {
  const end = position + bytes.byteLength;
  if (record) {
    file.pending.push({ kind: "write", position, bytes: bytes.slice(), sizeBefore: file.size,
      replaced: file.buffer.slice(position, Math.max(position, Math.min(end, file.size))) });
  }
  if (end > file.size) setSize(file, end);
  file.buffer.set(bytes, position);
}

function truncateTo(file: MemoryNode, size: number, record: boolean): void {
  if (record) {
    file.pending.push({ kind: "truncate", size, sizeBefore: file.size,
      replaced: file.buffer.slice(Math.min(size, file.size), file.size) });
  }
  setSize(file, size);
}

/** Takes back every unsynced change, newest first. */
function undoPending(file: MemoryNode): void {
  for (let index = file.pending.length - 1; index >= 0; index--) {
    const change = file.pending[index]!;
    if (change.kind === "write") {
      file.buffer.set(change.replaced, change.position);
      setSize(file, change.sizeBefore);
    } else {
      setSize(file, change.sizeBefore);
      file.buffer.set(change.replaced, Math.min(change.size, change.sizeBefore));
    }
  }
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
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
        disk.entries.set(path, { buffer: new Uint8Array(0), size: 0, pending: [] });
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
      syncDirectoryOf(disk, directory);
    },
    crash(random?: () => number) {
      crashDisk(disk, random);
      return facade(disk);
    },
    readFile: (path) => node(path).buffer.slice(0, node(path).size),
    damage(path, offset, bytes) {
      const file = node(path);
      if (file.pending.length > 0) throw new Error(`damage of '${path}' with unsynced changes`);
      if (offset + bytes.byteLength > file.size) throw new RangeError("damage past the end");
      file.buffer.set(bytes, offset);
    },
    listFiles: () => [...disk.entries.keys()].sort(),
  };
}

/** Makes the names in `directory` (creations, renames, removals) durable. */
function syncDirectoryOf(disk: Disk, directory: string): void {
  for (const path of [...disk.durableEntries.keys()]) {
    if (parentOf(path) === directory && !disk.entries.has(path)) {
      disk.durableEntries.delete(path);
    }
  }
  for (const [path, file] of disk.entries) {
    if (parentOf(path) === directory) disk.durableEntries.set(path, file);
  }
}

/** Ends the current "process": durable names only, each file back to its synced bytes. */
function crashDisk(disk: Disk, random: (() => number) | undefined): void {
  disk.generation++;
  disk.entries = new Map(disk.durableEntries);
  for (const file of new Set(disk.entries.values())) keepSomePending(file, random);
}

function openFile(path: string, readOnly: boolean, live: () => MemoryNode): EngineFile {
  return {
    path,
    async write(buffers, position) {
      if (readOnly) throw new Error(`EBADF: '${path}' is open for reading`);
      const target = live();
      let at = position;
      for (const buffer of buffers) {
        writeBytes(target, at, buffer, true);
        at += buffer.byteLength;
      }
    },
    async datasync() {
      live().pending = [];
    },
    async read(buffer, position) {
      return readAt(live(), buffer, position);
    },
    readSync(buffer, position) {
      return readAt(live(), buffer, position);
    },
    size: async () => live().size,
    async truncate(size) {
      truncateTo(live(), size, true);
    },
    async close() {},
  };
}

function readAt(file: MemoryNode, buffer: Uint8Array, position: number): number {
  if (position >= file.size) return 0;
  const length = Math.min(buffer.byteLength, file.size - position);
  buffer.set(file.buffer.subarray(position, position + length));
  return length;
}

/** Back to the synced state, then, with `random`, a random prefix of the unsynced changes. */
function keepSomePending(file: MemoryNode, random: (() => number) | undefined): void {
  const pending = file.pending;
  undoPending(file);
  file.pending = [];
  if (random === undefined) return;
  const kept = Math.floor(random() * (pending.length + 1));
  for (let index = 0; index < kept; index++) {
    const change = pending[index]!;
    if (change.kind === "truncate") {
      truncateTo(file, change.size, false);
      continue;
    }
    const torn = index === kept - 1 && random() < 0.5;
    const bytes = torn ? change.bytes.subarray(0, Math.floor(random() * change.bytes.byteLength)) :
      change.bytes;
    writeBytes(file, change.position, bytes, false);
  }
}
