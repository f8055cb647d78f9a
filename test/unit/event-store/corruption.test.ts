import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, EventStoreErrorCode, isEventStoreError, openEventStore,
  type MemoryFileSystem,
} from "../../../examples/event-store/engine/index.js";
import { insertOf, SCHEMAS } from "./harness.js";

const events = (batch: number) => Array.from({ length: 100 }, (_, row) => ({
  timestamp: batch * 1000 + row, values: { value: row + batch / 4 },
}));

/** A store with checkpointed blocks and, after them, three WAL records. */
async function storeOnDisk(): Promise<MemoryFileSystem> {
  const fileSystem = createMemoryFileSystem();
  const store = await openEventStore({ fileSystem, directory: "/s", blockBytes: 1024 });
  await store.applyBatch([{ kind: "createStream", stream: "narrow", schema: SCHEMAS.narrow! }], 1);
  for (let batch = 2; batch <= 4; batch++) {
    await store.applyBatch([insertOf("narrow", SCHEMAS.narrow!, events(batch))], batch);
  }
  await store.checkpoint();
  for (let batch = 5; batch <= 7; batch++) {
    await store.applyBatch([insertOf("narrow", SCHEMAS.narrow!, events(batch))], batch);
  }
  return fileSystem.crash();
}

async function openError(fileSystem: MemoryFileSystem): Promise<unknown> {
  return openEventStore({ fileSystem, directory: "/s" }).then(() => undefined,
    (error: unknown) => error);
}

/** The current WAL: the newest generation (an older one may survive a crash until reopen). */
function walName(fileSystem: MemoryFileSystem): string {
  const generations = fileSystem.listFiles().filter((path) => path.startsWith("/s/wal-"))
    .map((path) => Number(path.slice("/s/wal-".length)));
  if (generations.length === 0) throw new Error("no WAL");
  return `/s/wal-${Math.max(...generations)}`;
}

describe("corruption is detected and named", () => {
  it("a damaged block names the blocks file and the slot's offset", async () => {
    const fileSystem = await storeOnDisk();
    fileSystem.damage("/s/blocks", 1024 + 100, new Uint8Array([0xff, 0xee]));
    const error = await openError(fileSystem);
    expect(isEventStoreError(error, EventStoreErrorCode.Corrupt)).toBe(true);
    expect(String(error)).toMatch(/block: checksum mismatch \(file \/s\/blocks, offset 1028\)/);
  });

  it("a damaged manifest names the manifest", async () => {
    const fileSystem = await storeOnDisk();
    fileSystem.damage("/s/manifest", 30, new Uint8Array([0x12]));
    expect(String(await openError(fileSystem)))
      .toMatch(/\[corrupt\] manifest checksum mismatch \(file \/s\/manifest, offset 4\)/);
  });

  it("a damaged WAL record followed by valid ones names the WAL and the record", async () => {
    const fileSystem = await storeOnDisk();
    const wal = walName(fileSystem);
    const bytes = fileSystem.readFile(wal);
    const firstLength = new DataView(bytes.buffer).getUint32(8, true);
    fileSystem.damage(wal, firstLength + 100, new Uint8Array([0x01]));
    const error = await openError(fileSystem);
    expect(isEventStoreError(error, EventStoreErrorCode.Corrupt)).toBe(true);
    expect(String(error)).toContain(`(file ${wal}, offset ${firstLength})`);
  });

  it("a torn last WAL record is cut off: the store opens at the batch before it", async () => {
    const fileSystem = await storeOnDisk();
    const wal = walName(fileSystem);
    const bytes = fileSystem.readFile(wal);
    const view = new DataView(bytes.buffer);
    const first = view.getUint32(8, true);
    const second = view.getUint32(first + 8, true);
    // Zero the second half of the last record, as a write cut short by a power loss would leave it.
    const lastStart = first + second;
    fileSystem.damage(wal, lastStart + 40, new Uint8Array(bytes.byteLength - lastStart - 40));
    const store = await openEventStore({ fileSystem, directory: "/s" });
    expect(store.appliedIndex()).toBe(6);
    expect(store.statistics("narrow").eventCount).toBe(500);
    store.checkIntegrity();
    await store.applyBatch([insertOf("narrow", SCHEMAS.narrow!, events(7))], 7);
    await store.close();
    const reopened = await openEventStore({ fileSystem, directory: "/s" });
    expect(reopened.appliedIndex()).toBe(7);
    expect(reopened.statistics("narrow").eventCount).toBe(600);
  });

  it("store files without a manifest are refused, not overwritten", async () => {
    const fileSystem = await storeOnDisk();
    await fileSystem.unlink("/s/manifest");
    expect(String(await openError(fileSystem))).toMatch(/manifest is missing/);
  });
});
