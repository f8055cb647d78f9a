import { describe, expect, it } from "vitest";
import { createSeededRandom } from "../../../framework/raft/index.js";
import type { FileSystem } from "../../../framework/storage/index.js";
import { createSimFileSystemDisk } from "./sim-file-system.js";

/** Syncs complete when `flush` is called, in order (or the reverse: a disk may complete them in any). */
function manualSyncs(): {
  afterSync: (run: () => void) => void;
  flush: (options?: { reversed: boolean }) => Promise<void>;
} {
  let queued: (() => void)[] = [];
  return {
    afterSync: (run) => queued.push(run),
    async flush(options) {
      const now = options?.reversed === true ? queued.reverse() : queued;
      queued = [];
      for (const run of now) run();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

async function readAll(fileSystem: FileSystem, path: string): Promise<number[]> {
  const file = await fileSystem.open(path, "read");
  const buffer = new Uint8Array(await file.size());
  await file.read(buffer, 0);
  return [...buffer];
}

describe("simulated file system", () => {
  it("keeps synced content and synced names across a crash, and nothing unsynced", async () => {
    const disk = createSimFileSystemDisk();
    const syncs = manualSyncs();
    // A random source that keeps no unsynced write (prefix length 0).
    const first = disk.open({ random: { nextInt: () => 0 }, afterSync: syncs.afterSync });
    const fs = first.fileSystem;
    await fs.mkdir("/d");
    const file = await fs.open("/d/a", "create");
    await file.write([new Uint8Array([1, 2, 3])], 0);
    const synced = Promise.all([file.datasync(), fs.syncDirectory("/d")]);
    await syncs.flush();
    await synced;
    await file.write([new Uint8Array([9])], 3);
    const other = await fs.open("/d/b", "create"); // its name is never synced
    await other.write([new Uint8Array([7])], 0);
    void other.datasync();
    await syncs.flush();
    expect(first.crash()).toBe(0);
    const second = disk.open({ random: { nextInt: () => 0 }, afterSync: syncs.afterSync });
    expect(await second.fileSystem.readdir("/d")).toEqual(["a"]);
    expect(await readAll(second.fileSystem, "/d/a")).toEqual([1, 2, 3]);
    await expect(second.fileSystem.open("/d/b", "read")).rejects.toThrow(/ENOENT/);
  });

  it("may keep a prefix of the unsynced writes of a file (a torn tail)", async () => {
    const disk = createSimFileSystemDisk();
    const syncs = manualSyncs();
    const keepAll = { nextInt: (bound: number) => bound - 1 };
    const first = disk.open({ random: keepAll, afterSync: syncs.afterSync });
    await first.fileSystem.mkdir("/d");
    const file = await first.fileSystem.open("/d/a", "create");
    const named = first.fileSystem.syncDirectory("/d");
    await syncs.flush();
    await named;
    await file.write([new Uint8Array([1])], 0);
    await file.write([new Uint8Array([2])], 1);
    first.crash();
    const second = disk.open({ random: createSeededRandom(1), afterSync: syncs.afterSync });
    expect(await readAll(second.fileSystem, "/d/a")).toEqual([1, 2]);
  });

  it("with durableWrites, a durable write makes only its own bytes durable: an unsynced write before it leaves a hole", async () => {
    const disk = createSimFileSystemDisk();
    const syncs = manualSyncs();
    const keepNothing = { nextInt: () => 0 };
    const first = disk.open({ random: keepNothing, durableWrites: true, afterSync: syncs.afterSync });
    await first.fileSystem.mkdir("/d");
    const file = await first.fileSystem.open("/d/a", "create");
    const named = first.fileSystem.syncDirectory("/d");
    await syncs.flush();
    await named;
    await file.write([new Uint8Array([1, 1])], 0); // never synced
    const durable = file.writeDurable!([new Uint8Array([2, 2])], 2);
    await syncs.flush();
    await durable;
    first.crash();
    const second = disk.open({ random: keepNothing, afterSync: syncs.afterSync });
    expect(await readAll(second.fileSystem, "/d/a")).toEqual([0, 0, 2, 2]);
    expect((await second.fileSystem.open("/d/a", "readWrite")).writeDurable).toBeUndefined();
  });

  it("with durableWrites, a datasync keeps the durable writes that completed after its call", async () => {
    const disk = createSimFileSystemDisk();
    const syncs = manualSyncs();
    const keepNothing = { nextInt: () => 0 };
    const first = disk.open({ random: keepNothing, durableWrites: true, afterSync: syncs.afterSync });
    await first.fileSystem.mkdir("/d");
    const file = await first.fileSystem.open("/d/a", "create");
    await file.write([new Uint8Array([1])], 0);
    const named = first.fileSystem.syncDirectory("/d");
    await syncs.flush();
    await named;
    // The disk completes the durable write first, then the datasync called before it (content [1]):
    // the durable write's bytes must survive the datasync's older content.
    const synced = file.datasync();
    const durable = file.writeDurable!([new Uint8Array([2])], 1);
    await syncs.flush({ reversed: true });
    await Promise.all([synced, durable]);
    first.crash();
    const second = disk.open({ random: keepNothing, afterSync: syncs.afterSync });
    expect(await readAll(second.fileSystem, "/d/a")).toEqual([1, 2]);
  });

  it("renames take effect at once and become durable with the directory sync", async () => {
    const disk = createSimFileSystemDisk();
    const syncs = manualSyncs();
    const first = disk.open({ random: { nextInt: () => 0 }, afterSync: syncs.afterSync });
    const fs = first.fileSystem;
    await fs.mkdir("/s");
    const temporary = await fs.open("/s/x.tmp", "create");
    await temporary.write([new Uint8Array([5])], 0);
    const done = temporary.datasync();
    await syncs.flush();
    await done;
    await fs.rename("/s/x.tmp", "/s/x");
    expect(await fs.readdir("/s")).toEqual(["x"]);
    first.crash(); // the rename was never synced
    const second = disk.open({ random: { nextInt: () => 0 }, afterSync: syncs.afterSync });
    expect(await second.fileSystem.readdir("/s")).toEqual([]);
    await expect(second.fileSystem.open("/s/x", "create")).resolves.toBeDefined();
    await expect(second.fileSystem.open("/s/x", "create")).rejects.toThrow(/EEXIST/);
  });
});
