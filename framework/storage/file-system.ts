/**
 * The file access the storage part needs, and nothing more. Injected so tests
 * can fail writes (disk full) or count syncs; `createNodeFileSystem` is the
 * real one. Paths are plain strings joined with "/".
 */
export type OpenMode =
  /** Existing file, reads only. */
  | "read"
  /** Existing file, reads and writes. */
  | "readWrite"
  /** New file that must not exist yet, reads and writes. */
  | "create";

export interface StorageFile {
  readonly path: string;
  /** Writes every byte of `buffers` at `position`, or throws; never a silent short write. */
  write(buffers: readonly Uint8Array[], position: number): Promise<void>;
  /** Makes written data durable (fdatasync). */
  datasync(): Promise<void>;
  /**
   * Optional: writes like `write` and returns once those bytes are durable, as
   * `write` then `datasync` would, in one call (the node file system opens the
   * file a second time with O_DSYNC: one thread-pool round trip instead of
   * two). It makes only its own bytes durable, not earlier plain writes. The
   * log's committer uses it when everything written before is durable.
   */
  writeDurable?(buffers: readonly Uint8Array[], position: number): Promise<void>;
  /** Reads up to `buffer.byteLength` bytes at `position`; returns how many (0 at the end). */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /** The same, synchronously: for the rare read of an old log entry by the raft core. */
  readSync(buffer: Uint8Array, position: number): number;
  size(): Promise<number>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<StorageFile>;
  /** Names (not paths) of the entries of `directory`. */
  readdir(directory: string): Promise<string[]>;
  /** Creates `directory` and its parents if missing. */
  mkdir(directory: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory: makes creations, renames and removals in it durable. */
  syncDirectory(directory: string): Promise<void>;
}
