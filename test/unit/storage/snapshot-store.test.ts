import { readdir, readFile, truncate, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SnapshotMetadata } from "../../../framework/raft/index.js";
import type { SnapshotReader, SnapshotStore } from "../../../framework/storage/index.js";
import {
  isStorageError,
  openSnapshotStore,
  StorageErrorCode,
} from "../../../framework/storage/index.js";
import {
  createFaultyFileSystem,
  createRecordingLogger,
  makeTemporaryDirectory,
} from "./helpers.js";

let directory: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  directory = await makeTemporaryDirectory();
});
afterEach(async () => {
  await directory.remove();
});

const confState = {
  voters: [1, 2, 3],
  learners: [4],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};

function metadata(index: number, term = 1): SnapshotMetadata {
  return { index, term, confState };
}

function bytes(length: number, seed: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (i * 7 + seed) % 256;
  return data;
}

async function* chunksOf(data: Uint8Array, chunkBytes: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += chunkBytes) yield data.subarray(at, at + chunkBytes);
}

async function readAll(
  reader: { chunks(chunkBytes?: number): AsyncIterable<Uint8Array> },
  chunkBytes?: number,
): Promise<{ data: Uint8Array; chunkCount: number }> {
  const parts: Uint8Array[] = [];
  for await (const chunk of reader.chunks(chunkBytes)) parts.push(chunk);
  return { data: new Uint8Array(Buffer.concat(parts)), chunkCount: parts.length };
}

describe("SnapshotStore", () => {
  it("writes a snapshot from a stream and reads it back in chunks with its metadata", async () => {
    const store = await openSnapshotStore({ directory: directory.path });
    const data = bytes(3 * 1024 * 1024 + 17, 1);
    const info = await store.write(5, metadata(100, 3), chunksOf(data, 64 * 1024 + 3));
    expect(info).toEqual({ groupId: 5, metadata: metadata(100, 3), dataBytes: data.byteLength });
    const reader = await store.open(5, 100, 3);
    expect(reader.info).toEqual(info);
    const { data: read, chunkCount } = await readAll(reader, 1024 * 1024);
    await reader.close();
    expect(chunkCount).toBe(4);
    // Buffer.equals: a deep toEqual over 3 MiB element by element takes half a minute.
    expect(Buffer.from(read).equals(Buffer.from(data))).toBe(true);
    expect(await store.list(5)).toEqual([info]);
    expect(await store.list(6)).toEqual([]);
  });

  it("handles an empty snapshot", async () => {
    const store = await openSnapshotStore({ directory: directory.path });
    await store.write(1, metadata(1), chunksOf(new Uint8Array(0), 10));
    const reader = await store.open(1, 1, 1);
    expect((await readAll(reader)).data.byteLength).toBe(0);
    await reader.close();
  });

  it("keeps the newest two per group by default, and N when configured", async () => {
    let store: SnapshotStore = await openSnapshotStore({ directory: directory.path });
    for (const index of [10, 30, 20, 40])
      await store.write(1, metadata(index), chunksOf(bytes(100, index), 30));
    await store.write(2, metadata(5), chunksOf(bytes(10, 5), 30));
    expect((await store.list(1)).map((info) => info.metadata.index)).toEqual([40, 30]);
    expect((await store.list(2)).map((info) => info.metadata.index)).toEqual([5]);
    store = await openSnapshotStore({ directory: directory.path, keepPerGroup: 3 });
    for (const index of [50, 60])
      await store.write(1, metadata(index), chunksOf(bytes(100, index), 30));
    expect((await store.list(1)).map((info) => info.metadata.index)).toEqual([60, 50, 40]);
    await expect(
      openSnapshotStore({ directory: directory.path, keepPerGroup: 0 }),
    ).rejects.toSatisfy((e) => isStorageError(e, StorageErrorCode.InvalidArgument));
  });

  it("leaves no snapshot and no temporary file when the disk fills up", async () => {
    const fileSystem = createFaultyFileSystem();
    const store = await openSnapshotStore({ directory: directory.path, fileSystem });
    await store.write(1, metadata(10), chunksOf(bytes(1000, 1), 100));
    fileSystem.writeBudgetBytes = 500;
    const error = await store
      .write(1, metadata(20), chunksOf(bytes(2 * 1024 * 1024, 2), 4096))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: StorageErrorCode.Io });
    expect(String(error)).toMatch(/ENOSPC/);
    expect(await readdir(join(directory.path, "1"))).toEqual([
      "000000000000000a-0000000000000001.snap",
    ]);
    expect((await store.list(1)).map((info) => info.metadata.index)).toEqual([10]);
  });

  it("leaves no snapshot when the chunk stream fails", async () => {
    const store = await openSnapshotStore({ directory: directory.path });
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield bytes(100, 1);
      throw new Error("sender went away");
    }
    await expect(store.write(1, metadata(10), failing())).rejects.toThrow(/sender went away/);
    expect(await readdir(join(directory.path, "1"))).toEqual([]);
  });

  it("removes a half-written temporary file from a crash on open", async () => {
    await mkdir(join(directory.path, "3"), { recursive: true });
    const leftover = join(directory.path, "3", "0000000000000009-0000000000000001.snap.1.tmp");
    await writeFile(leftover, bytes(50, 3));
    const logger = createRecordingLogger();
    const store = await openSnapshotStore({ directory: directory.path, logger });
    expect(logger.warnings.map((warning) => warning.fields["file"])).toEqual([leftover]);
    expect(await readdir(join(directory.path, "3"))).toEqual([]);
    expect(await store.list(3)).toEqual([]);
  });

  it("reports damaged files as Corrupt with the file, and a missing one as NotFound", async () => {
    const store = await openSnapshotStore({ directory: directory.path });
    await store.write(1, metadata(10), chunksOf(bytes(5000, 1), 1000));
    const path = join(directory.path, "1", "000000000000000a-0000000000000001.snap");
    const original = await readFile(path);
    const flipped = Buffer.from(original);
    flipped[original.byteLength - 100] = flipped[original.byteLength - 100]! ^ 1;
    await writeFile(path, flipped);
    const reader: SnapshotReader = await store.open(1, 10, 1);
    const error = await readAll(reader).catch((e: unknown) => e);
    await reader.close();
    expect(error).toMatchObject({ code: StorageErrorCode.Corrupt, file: path });
    expect(String(error)).toMatch(/data CRC mismatch/);

    await writeFile(path, original);
    await truncate(path, original.byteLength - 10);
    await expect(store.open(1, 10, 1)).rejects.toMatchObject({
      code: StorageErrorCode.Corrupt,
      file: path,
    });
    await expect(store.open(1, 11, 1)).rejects.toSatisfy((e) =>
      isStorageError(e, StorageErrorCode.NotFound),
    );
  });

  it("removes a group's snapshots and rejects bad ids", async () => {
    const store = await openSnapshotStore({ directory: directory.path });
    await store.write(4, metadata(10), chunksOf(bytes(10, 1), 10));
    await store.removeGroup(4);
    expect(await store.list(4)).toEqual([]);
    await expect(store.list(0)).rejects.toSatisfy((e) =>
      isStorageError(e, StorageErrorCode.InvalidArgument),
    );
    await expect(store.write(1, metadata(-1), chunksOf(bytes(1, 1), 1))).rejects.toSatisfy((e) =>
      isStorageError(e, StorageErrorCode.InvalidArgument),
    );
  });
});
