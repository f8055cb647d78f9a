/**
 * A checkpoint writes its blocks in slices: the blocks file is fdatasync'ed
 * after every CHECKPOINT_SYNC_BYTES written, not once at the end. One sync of
 * a whole checkpoint (tens to hundreds of MiB on a busy node) held every
 * durable write sharing the disk — the raft log's entry writes — for its whole
 * duration (docs/benchmarks.md, session 13, WRITES). The checkpoint is still
 * durable as a whole when it resolves, and a crash right after keeps it.
 */
import { describe, expect, it } from "vitest";
import {
  createMemoryFileSystem, openEventStore, type EngineFile, type EngineFileSystem, type MemoryFileSystem,
  type StreamSchema,
} from "../../../examples/event-store/engine/index.js";
import { CHECKPOINT_SYNC_BYTES } from "../../../examples/event-store/engine/checkpoint.js";

/** The most bytes one write of a checkpoint carries (checkpoint.ts WRITE_RUN_BYTES). */
const WRITE_RUN_BYTES = 1024 * 1024;

interface BlocksWrites {
  /** Bytes written to the blocks file since its last datasync. */
  unsynced: number;
  /** The most bytes written between two datasyncs (or before the first). */
  mostBetweenSyncs: number;
  written: number;
  syncs: number;
}

/** `fileSystem` with the blocks file's writes and syncs counted. */
function countingBlocks(fileSystem: EngineFileSystem, counts: BlocksWrites): EngineFileSystem {
  const wrap = (file: EngineFile): EngineFile => ({
    path: file.path,
    async write(buffers, position) {
      await file.write(buffers, position);
      for (const buffer of buffers) {
        counts.unsynced += buffer.byteLength;
        counts.written += buffer.byteLength;
      }
      counts.mostBetweenSyncs = Math.max(counts.mostBetweenSyncs, counts.unsynced);
    },
    async datasync() {
      // Bytes written once the sync started are not covered by it: count them as unsynced.
      const covered = counts.unsynced;
      await file.datasync();
      counts.unsynced -= covered;
      counts.syncs++;
    },
    read: (buffer, position) => file.read(buffer, position),
    readSync: (buffer, position) => file.readSync(buffer, position),
    size: () => file.size(),
    truncate: (size) => file.truncate(size),
    close: () => file.close(),
  });
  return {
    async open(path, mode) {
      const file = await fileSystem.open(path, mode);
      return path.endsWith("/blocks") ? wrap(file) : file;
    },
    readdir: (directory) => fileSystem.readdir(directory),
    mkdir: (directory) => fileSystem.mkdir(directory),
    rename: (from, to) => fileSystem.rename(from, to),
    unlink: (path) => fileSystem.unlink(path),
    syncDirectory: (directory) => fileSystem.syncDirectory(directory),
  };
}

const schema: StreamSchema = { fields: [{ name: "value", type: "double", aggregated: true }] };

describe("checkpoint sync slices", () => {
  it("syncs the blocks file after every few MiB of a large checkpoint, and the checkpoint survives a crash", async () => {
    const memory: MemoryFileSystem = createMemoryFileSystem();
    const counts: BlocksWrites = { unsynced: 0, mostBetweenSyncs: 0, written: 0, syncs: 0 };
    // walCheckpointBytes beyond the data: the only checkpoint is the explicit one below.
    const store = await openEventStore({ fileSystem: countingBlocks(memory, counts), directory: "/s",
      walSync: false, walCheckpointBytes: 2 ** 40 });
    await store.applyBatch([{ kind: "createStream", stream: "narrow", schema }], 1);
    const batchEvents = 50_000;
    const batches = 16;
    for (let batch = 0; batch < batches; batch++) {
      const timestamps = new Float64Array(batchEvents);
      const values = new Array<number>(batchEvents);
      for (let row = 0; row < batchEvents; row++) {
        timestamps[row] = batch * batchEvents + row;
        values[row] = (row * 7919) % 1000 + 0.5;
      }
      await store.applyBatch([{ kind: "insert", stream: "narrow", timestamps, columns: { value: values } }],
        batch + 2);
    }
    const writtenBefore = counts.written;
    await store.checkpoint();
    const checkpointBytes = counts.written - writtenBefore;
    // Large enough to need several slices (else the test shows nothing).
    expect(checkpointBytes).toBeGreaterThan(3 * CHECKPOINT_SYNC_BYTES);
    expect(counts.mostBetweenSyncs).toBeLessThan(CHECKPOINT_SYNC_BYTES + WRITE_RUN_BYTES);
    expect(counts.syncs).toBeGreaterThanOrEqual(Math.floor(checkpointBytes / (CHECKPOINT_SYNC_BYTES + WRITE_RUN_BYTES)));
    expect(counts.unsynced).toBe(0);

    // Nothing unsynced is kept by the crash: the checkpoint alone brings every event back.
    const reopened = await openEventStore({ fileSystem: memory.crash(), directory: "/s", walSync: false });
    try {
      expect(reopened.appliedIndex()).toBe(batches + 1);
      const statistics = reopened.statistics("narrow");
      expect(statistics.eventCount).toBe(batches * batchEvents);
      expect(statistics.maxTimestamp).toBe(batches * batchEvents - 1);
      reopened.checkIntegrity();
    } finally {
      await reopened.close();
    }
  });
});
