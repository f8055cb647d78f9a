import { readdir, readFile, truncate, unlink, writeFile, appendFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LogStore } from "../../../framework/storage/index.js";
import {
  isStorageError,
  openLogStore,
  StorageErrorCode,
} from "../../../framework/storage/index.js";
import {
  createFaultyFileSystem,
  createRecordingLogger,
  makeEntries,
  makeEntry,
  makeTemporaryDirectory,
} from "./helpers.js";

let directory: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  directory = await makeTemporaryDirectory();
});
afterEach(async () => {
  await directory.remove();
});

/** Writes 40 saves of one 300-byte entry into 4 KiB segments; returns the segment paths. */
async function writeLog(): Promise<string[]> {
  const store = await openLogStore({ directory: directory.path, segmentBytes: 4096 });
  for (let i = 1; i <= 40; i++)
    await store.save([{ groupId: 1, entries: [makeEntry(1, i, 1, 300)] }]);
  await store.close();
  return (await readdir(directory.path)).sort().map((name) => join(directory.path, name));
}

/** Byte offsets of the records of a segment file, read with the framing of docs/storage.md. */
async function recordOffsets(path: string): Promise<number[]> {
  const bytes = await readFile(path);
  const offsets: number[] = [];
  for (let at = 0; at + 12 <= bytes.byteLength; at += 12 + bytes.readUInt32LE(at)) offsets.push(at);
  return offsets;
}

async function flipByte(path: string, offset: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[offset] = bytes[offset]! ^ 0x40;
  await writeFile(path, bytes);
}

async function openExpectingError(): Promise<unknown> {
  return openLogStore({ directory: directory.path, segmentBytes: 4096 }).then(
    async (store) => {
      await store.close();
      return undefined;
    },
    (error: unknown) => error,
  );
}

describe("LogStore damage on disk", () => {
  it("reports a CRC mismatch in the middle of a segment with file and record offset", async () => {
    const segments = await writeLog();
    expect(segments.length).toBeGreaterThan(3);
    const target = segments[1]!;
    const offsets = await recordOffsets(target);
    const record = offsets[Math.floor(offsets.length / 2)]!;
    await flipByte(target, record + 12 + 20);
    const error = await openExpectingError();
    expect(isStorageError(error, StorageErrorCode.Corrupt)).toBe(true);
    expect(error).toMatchObject({ file: target, offset: record });
    expect(String(error)).toMatch(/payload CRC mismatch/);
  });

  it("reports a damaged length before the tail as corruption, not a torn tail", async () => {
    const segments = await writeLog();
    const target = segments.at(-1)!;
    const offsets = await recordOffsets(target);
    expect(offsets.length).toBeGreaterThan(2);
    await flipByte(target, offsets[1]! + 1);
    const error = await openExpectingError();
    expect(error).toMatchObject({
      code: StorageErrorCode.Corrupt,
      file: target,
      offset: offsets[1],
    });
    expect(String(error)).toMatch(/length field fails its CRC/);
  });

  it("reports a CRC mismatch in the last record (a complete record is not torn)", async () => {
    const segments = await writeLog();
    const target = segments.at(-1)!;
    const last = (await recordOffsets(target)).at(-1)!;
    await flipByte(target, last + 12 + 5);
    expect(await openExpectingError()).toMatchObject({
      code: StorageErrorCode.Corrupt,
      file: target,
      offset: last,
    });
  });

  it("cuts a torn tail off the last segment with a warning, keeping all before", async () => {
    const segments = await writeLog();
    const target = segments.at(-1)!;
    const last = (await recordOffsets(target)).at(-1)!;
    await truncate(target, last + 12 + 100);
    const logger = createRecordingLogger();
    let store: LogStore = await openLogStore({
      directory: directory.path,
      segmentBytes: 4096,
      logger,
    });
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]!.fields).toMatchObject({ file: target, offset: last });
    expect(store.storage(1).lastIndex()).toBe(39);
    const entries = store.storage(1).entries(1, 40, Number.MAX_SAFE_INTEGER);
    entries.forEach((entry, i) => expect(entry.data).toEqual(makeEntry(1, i + 1, 1, 300).data));
    await store.save([{ groupId: 1, entries: [makeEntry(1, 40, 2, 10)] }]);
    await store.close();
    const quiet = createRecordingLogger();
    store = await openLogStore({ directory: directory.path, segmentBytes: 4096, logger: quiet });
    expect(quiet.warnings).toEqual([]);
    expect(store.storage(1).term(40)).toBe(2);
    await store.close();
  });

  it("treats a zero-filled tail of the last segment as torn", async () => {
    const segments = await writeLog();
    await appendFile(segments.at(-1)!, new Uint8Array(5000));
    const logger = createRecordingLogger();
    const store = await openLogStore({ directory: directory.path, segmentBytes: 4096, logger });
    expect(logger.warnings[0]!.fields["reason"]).toMatch(/zero-filled/);
    expect(store.storage(1).lastIndex()).toBe(40);
    await store.close();
  });

  it("reports a truncated segment that is not the last one as corruption", async () => {
    const segments = await writeLog();
    const target = segments[1]!;
    const offsets = await recordOffsets(target);
    const record = offsets.at(-1)!;
    await truncate(target, record + 30);
    const error = await openExpectingError();
    expect(error).toMatchObject({ code: StorageErrorCode.Corrupt, file: target, offset: record });
    expect(String(error)).toMatch(/not the last segment/);
  });

  it("names a missing segment", async () => {
    const segments = await writeLog();
    await unlink(segments[2]!);
    const error = await openExpectingError();
    expect(error).toMatchObject({ code: StorageErrorCode.MissingSegment, file: segments[2] });
  });

  it("names a missing first segment", async () => {
    const segments = await writeLog();
    await unlink(segments[0]!);
    expect(await openExpectingError()).toMatchObject({
      code: StorageErrorCode.MissingSegment,
      file: segments[0],
    });
  });

  it("removes a newest segment whose header was cut short (crash while rolling)", async () => {
    const segments = await writeLog();
    const next = join(
      directory.path,
      `${(segments.length + 1).toString(16).padStart(16, "0")}.wal`,
    );
    await writeFile(next, new Uint8Array([1, 2, 3]));
    const logger = createRecordingLogger();
    const store = await openLogStore({ directory: directory.path, segmentBytes: 4096, logger });
    expect(logger.warnings.map((warning) => warning.fields["file"])).toContain(next);
    expect(store.storage(1).lastIndex()).toBe(40);
    await store.close();
  });
});

describe("LogStore write failures", () => {
  it("surfaces a full disk as Io, then Failed; only acknowledged data survives", async () => {
    const fileSystem = createFaultyFileSystem();
    const store = await openLogStore({ directory: directory.path, fileSystem });
    await store.save([{ groupId: 1, entries: makeEntries(1, 1, 5, 1, 100) }]);
    fileSystem.writeBudgetBytes = 150;
    const failed = await store
      .save([{ groupId: 1, entries: makeEntries(1, 6, 5, 1, 100) }])
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: StorageErrorCode.Io });
    expect(String(failed)).toMatch(/ENOSPC/);
    expect(String(failed)).toMatch(/\.wal/);
    const refused = await store
      .save([{ groupId: 2, entries: makeEntries(2, 1, 1, 1) }])
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: StorageErrorCode.Failed });
    expect(String(refused)).toMatch(/ENOSPC/);
    await expect(store.compact(1, 2)).rejects.toSatisfy((e) =>
      isStorageError(e, StorageErrorCode.Failed),
    );
    expect(store.failure?.code).toBe(StorageErrorCode.Io);
    await store.close();

    const logger = createRecordingLogger();
    const reopened = await openLogStore({ directory: directory.path, logger });
    expect(logger.warnings.some((warning) => /torn tail/.test(warning.message))).toBe(true);
    expect(reopened.storage(1).lastIndex()).toBe(5);
    expect(reopened.groupIds()).toEqual([1]);
    await reopened.close();
  });

  it("treats a failed fdatasync as a failed commit: not acknowledged, writes refused", async () => {
    const fileSystem = createFaultyFileSystem();
    const store = await openLogStore({ directory: directory.path, fileSystem });
    await store.save([{ groupId: 1, entries: makeEntries(1, 1, 2, 1) }]);
    fileSystem.failDatasync = true;
    const failed = await store
      .save([{ groupId: 1, entries: makeEntries(1, 3, 2, 1) }])
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: StorageErrorCode.Io });
    expect(String(failed)).toMatch(/EIO/);
    fileSystem.failDatasync = false;
    await expect(
      store.save([{ groupId: 1, hardState: { term: 2, vote: 0, commit: 0 } }]),
    ).rejects.toSatisfy((e) => isStorageError(e, StorageErrorCode.Failed));
    await store.close();
  });

  it("fails the waiting saves of the next commit too, with Failed", async () => {
    const fileSystem = createFaultyFileSystem();
    const store = await openLogStore({ directory: directory.path, fileSystem });
    fileSystem.writeBudgetBytes = 10;
    const first = store
      .save([{ groupId: 1, entries: makeEntries(1, 1, 1, 1) }])
      .catch((e: unknown) => e);
    const second = store
      .save([{ groupId: 2, entries: makeEntries(2, 1, 1, 1) }])
      .catch((e: unknown) => e);
    expect(await first).toMatchObject({ code: StorageErrorCode.Io });
    expect(await second).toMatchObject({ code: StorageErrorCode.Failed });
    await store.close();
  });
});
