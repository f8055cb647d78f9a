import type { FileSystem, OpenMode, StorageFile } from "../../../framework/storage/index.js";
import type { RandomSource } from "../../../framework/raft/index.js";

/**
 * A node's file system for framework/storage's real LogStore and
 * SnapshotStore, with POSIX-like crash semantics:
 *
 * - writes land in the page cache at once; `datasync` makes a file's
 *   content as of the call durable at a simulated fsync;
 * - creating, renaming and removing a name change the namespace at once;
 *   `syncDirectory` makes the directory's names as of the call durable;
 * - a crash keeps the durable namespace, and for each file its durable
 *   content plus a random prefix of the writes not yet synced (a torn tail,
 *   as a real disk may leave): recovery must cope with either.
 *
 * Directories are made durable by mkdir at once (a simplification).
 *
 * With `durableWrites`, files opened for writing also offer `writeDurable`
 * as an O_DSYNC write behaves: once it returns its own bytes are durable,
 * and nothing else — an earlier plain write not yet synced may still be
 * lost, leaving a hole of zeros before them after a crash.
 */
export interface SimFileSystemDisk {
  /** The file system one incarnation sees; dead once `crash` is called. */
  open(env: FileSystemEnvironment): { readonly fileSystem: FileSystem; crash(): number };
}

export interface FileSystemEnvironment {
  readonly random: RandomSource;
  /** Files opened for writing offer writeDurable (O_DSYNC semantics, above). */
  readonly durableWrites?: boolean;
  /** Runs `run` after a simulated fsync latency. */
  afterSync(run: () => void, label: string): void;
}

type Operation =
  | { readonly kind: "write"; readonly position: number; readonly bytes: Uint8Array }
  | { readonly kind: "truncate"; readonly size: number };

interface Inode {
  content: Uint8Array;
  length: number;
  durable: Uint8Array;
  /** Changes since the durable content, in order. */
  operations: Operation[];
  /** Durable writes, numbered as they complete; a datasync re-applies those that completed after its call. */
  durableWrites: { readonly order: number; readonly write: Operation }[];
  durableWriteCount: number;
}

class FileSystemError extends Error {
  constructor(
    readonly code: "ENOENT" | "EEXIST" | "ENOTDIR",
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export function createSimFileSystemDisk(): SimFileSystemDisk {
  let names = new Map<string, Inode>();
  let durableNames = new Map<string, Inode>();
  const directories = new Set<string>(["/"]);
  return {
    open(env) {
      let dead = false;
      let unsynced = 0;
      const state: FileSystemState = {
        names: () => names,
        directories,
        isDead: () => dead,
        env,
        syncStarted: () => unsynced++,
        syncDone: () => unsynced--,
        syncDirectory(directory) {
          const snapshot = [...names].filter(([path]) => parentOf(path) === directory);
          return () => {
            for (const path of [...durableNames.keys()]) {
              if (parentOf(path) === directory) durableNames.delete(path);
            }
            for (const [path, inode] of snapshot) durableNames.set(path, inode);
          };
        },
      };
      return {
        fileSystem: createFileSystem(state),
        crash() {
          dead = true;
          const inodes = new Set([...names.values(), ...durableNames.values()]);
          for (const inode of inodes) surviveCrash(inode, env.random);
          names = new Map(durableNames);
          return unsynced;
        },
      };
    },
  };
}

interface FileSystemState {
  names(): Map<string, Inode>;
  readonly directories: Set<string>;
  isDead(): boolean;
  readonly env: FileSystemEnvironment;
  syncStarted(): void;
  syncDone(): void;
  /** Captures the directory's names now; the returned function makes them durable. */
  syncDirectory(directory: string): () => void;
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

/** Durable content plus a random prefix of the unsynced operations. */
function surviveCrash(inode: Inode, random: RandomSource): void {
  const kept = random.nextInt(inode.operations.length + 1);
  let content: Uint8Array = inode.durable.slice();
  for (const operation of inode.operations.slice(0, kept)) {
    content = applyOperation(content, operation);
  }
  inode.content = content;
  inode.length = content.length;
  inode.durable = content.slice();
  inode.operations = [];
  inode.durableWrites = [];
}

function applyOperation(content: Uint8Array, operation: Operation): Uint8Array {
  if (operation.kind === "truncate") {
    const next = new Uint8Array(operation.size);
    next.set(content.subarray(0, Math.min(content.length, operation.size)));
    return next;
  }
  const end = operation.position + operation.bytes.length;
  const next = new Uint8Array(Math.max(content.length, end));
  next.set(content);
  next.set(operation.bytes, operation.position);
  return next;
}

const never = <T>(): Promise<T> => new Promise<T>(() => {});

function createFileSystem(state: FileSystemState): FileSystem {
  const names = state.names;
  const requireDirectory = (path: string): void => {
    if (!state.directories.has(parentOf(path))) {
      throw new FileSystemError("ENOENT", `no directory ${parentOf(path)} for ${path}`);
    }
  };
  return {
    async open(path: string, mode: OpenMode): Promise<StorageFile> {
      if (state.isDead()) return never();
      requireDirectory(path);
      let inode = names().get(path);
      if (mode === "create") {
        if (inode !== undefined) throw new FileSystemError("EEXIST", path);
        inode = {
          content: new Uint8Array(0),
          length: 0,
          durable: new Uint8Array(0),
          operations: [],
          durableWrites: [],
          durableWriteCount: 0,
        };
        names().set(path, inode);
      } else if (inode === undefined) {
        throw new FileSystemError("ENOENT", path);
      }
      return createFile(state, path, inode, mode);
    },
    async readdir(directory: string): Promise<string[]> {
      if (state.isDead()) return never();
      if (!state.directories.has(directory)) throw new FileSystemError("ENOENT", directory);
      const entries = new Set<string>();
      for (const path of names().keys()) {
        if (parentOf(path) === directory) entries.add(path.slice(directory.length + 1));
      }
      for (const path of state.directories) {
        if (path !== directory && parentOf(path) === directory) {
          entries.add(path.slice(directory.length + 1));
        }
      }
      return [...entries].sort();
    },
    async mkdir(directory: string): Promise<void> {
      if (state.isDead()) return never();
      for (let path = directory; path !== "/"; path = parentOf(path)) state.directories.add(path);
    },
    async rename(from: string, to: string): Promise<void> {
      if (state.isDead()) return never();
      const inode = names().get(from);
      if (inode === undefined) throw new FileSystemError("ENOENT", from);
      requireDirectory(to);
      names().delete(from);
      names().set(to, inode);
    },
    async unlink(path: string): Promise<void> {
      if (state.isDead()) return never();
      if (!names().delete(path)) throw new FileSystemError("ENOENT", path);
    },
    syncDirectory(directory: string): Promise<void> {
      if (state.isDead()) return never();
      const commit = state.syncDirectory(directory);
      return synced(state, commit, `fsync-dir ${directory}`);
    },
  };
}

function synced(state: FileSystemState, commit: () => void, label: string): Promise<void> {
  state.syncStarted();
  return new Promise<void>((resolve) => {
    state.env.afterSync(() => {
      if (state.isDead()) return;
      state.syncDone();
      commit();
      resolve();
    }, label);
  });
}

function createFile(state: FileSystemState, path: string, inode: Inode, mode: OpenMode): StorageFile {
  const ensure = (size: number): void => {
    if (size <= inode.content.length) return;
    const grown = new Uint8Array(Math.max(size, inode.content.length * 2, 4096));
    grown.set(inode.content.subarray(0, inode.length));
    inode.content = grown;
  };
  const readInto = (buffer: Uint8Array, position: number): number => {
    const count = Math.max(0, Math.min(buffer.byteLength, inode.length - position));
    buffer.set(inode.content.subarray(position, position + count));
    return count;
  };
  const writeToCache = (buffers: readonly Uint8Array[], position: number): Operation[] => {
    const written: Operation[] = [];
    let at = position;
    for (const buffer of buffers) {
      ensure(at + buffer.byteLength);
      inode.content.set(buffer, at);
      const operation: Operation = { kind: "write", position: at, bytes: buffer.slice() };
      inode.operations.push(operation);
      written.push(operation);
      at += buffer.byteLength;
      inode.length = Math.max(inode.length, at);
    }
    return written;
  };
  const file: StorageFile = {
    path,
    async write(buffers, position) {
      if (state.isDead()) return never();
      writeToCache(buffers, position);
    },
    datasync() {
      if (state.isDead()) return never();
      const content = inode.content.slice(0, inode.length);
      const covered = inode.operations.length;
      const durableWritesBefore = inode.durableWriteCount;
      return synced(
        state,
        () => {
          // Durable writes that completed since the call are newer than `content`: keep them.
          const later = inode.durableWrites.filter((done) => done.order > durableWritesBefore);
          let durable: Uint8Array = content;
          for (const done of later) durable = applyOperation(durable, done.write);
          inode.durable = durable;
          inode.durableWrites = later;
          inode.operations = inode.operations.slice(covered);
        },
        `fsync ${path}`,
      );
    },
    async read(buffer, position) {
      if (state.isDead()) return never();
      return readInto(buffer, position);
    },
    readSync: (buffer, position) => readInto(buffer, position),
    async size() {
      if (state.isDead()) return never();
      return inode.length;
    },
    async truncate(size) {
      if (state.isDead()) return never();
      ensure(size);
      if (size < inode.length) inode.content.fill(0, size, inode.length);
      inode.length = size;
      inode.operations.push({ kind: "truncate", size });
    },
    async close() {},
  };
  if (state.env.durableWrites !== true || mode === "read") return file;
  return {
    ...file,
    writeDurable(buffers, position) {
      if (state.isDead()) return never();
      const written = writeToCache(buffers, position);
      return synced(
        state,
        () => {
          // Only these bytes become durable (O_DSYNC), not earlier unsynced writes.
          for (const write of written) {
            inode.durable = applyOperation(inode.durable, write);
            inode.durableWrites.push({ order: ++inode.durableWriteCount, write });
          }
        },
        `dsync-write ${path}`,
      );
    },
  };
}
