/**
 * The file access the engine needs, and nothing more; injected so a test or
 * a simulator can run the store on memory and crash it (memory-file-system.ts).
 * The shape matches framework/storage's FileSystem, so that one fits too.
 * Paths are plain strings joined with "/".
 */
export type OpenMode =
  /** Existing file, reads only. */
  | "read"
  /** Existing file, reads and writes. */
  | "readWrite"
  /** New file that must not exist yet, reads and writes. */
  | "create";

export interface EngineFile {
  readonly path: string;
  /** Writes every byte of `buffers` at `position`, or throws; never a silent short write. */
  write(buffers: readonly Uint8Array[], position: number): Promise<void>;
  /** Makes written data durable (fdatasync). */
  datasync(): Promise<void>;
  /** Reads up to `buffer.byteLength` bytes at `position`; returns how many (0 at the end). */
  read(buffer: Uint8Array, position: number): Promise<number>;
  /**
   * `read`, synchronously: fills `buffer` as far as the file goes (a short
   * count only at the end). The block cache reads evicted blocks back with
   * it, inside synchronous queries.
   */
  readSync(buffer: Uint8Array, position: number): number;
  size(): Promise<number>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

export interface EngineFileSystem {
  open(path: string, mode: OpenMode): Promise<EngineFile>;
  /** Names (not paths) of the entries of `directory`. */
  readdir(directory: string): Promise<string[]>;
  /** Creates `directory` and its parents if missing. */
  mkdir(directory: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync of a directory: makes creations, renames and removals in it durable. */
  syncDirectory(directory: string): Promise<void>;
}

/** Reads exactly `length` bytes at `position` into a fresh 8-aligned buffer (short at EOF). */
export async function readExactly(file: EngineFile, position: number,
  length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const read = await file.read(buffer.subarray(done), position + done);
    if (read === 0) return buffer.subarray(0, done);
    done += read;
  }
  return buffer;
}
