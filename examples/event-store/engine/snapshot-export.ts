import { crc32c } from "@node-rs/crc32";
import { encodeBlock } from "./block-codec.js";
import { assert } from "./assert.js";
import { createBlock, releaseExported, type Block } from "./block.js";
import { encodedBlockBytes, type BlockLayout } from "./block-layout.js";
import { decodeRows } from "./block-decode.js";
import { readExactly, type EngineFile } from "./file-system.js";
import { corrupt, EventStoreError, EventStoreErrorCode } from "./errors.js";
import { encodeSnapshotHeader, encodeSnapshotTrailer } from "./snapshot-format.js";
import type { StoreState } from "./store-state.js";
import { createBlockHome, streamBlocks } from "./stream.js";

/** Chunks are cut at block boundaries once they reach this size (a block is never split). */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/**
 * The store's content at the moment of the call (applied index, schemas,
 * blocks) as a single-use stream of chunks. Later applies do not change it:
 * the blocks it holds are pinned, and a write to a pinned block copies it
 * first (copy-on-write). The pin ends when the iteration ends or is abandoned
 * through `return()`; an export that is never iterated keeps its pin, which
 * costs at most one copy per block changed afterwards.
 *
 * With the block cache: a held block is not evicted until the export has
 * passed it (`exports` count). A block already evicted at the call is read
 * from its slot when its turn comes (and checked): it is clean and stays in
 * the stream unchanged — a change would first read it back, and then the
 * copy-on-write keeps the rows in memory for the export — so the durable
 * manifest keeps naming its slot and no checkpoint overwrites it.
 * @internal
 */
export function exportSnapshot(state: StoreState): AsyncIterable<Uint8Array> {
  const header = encodeSnapshotHeader({
    appliedIndex: state.appliedIndex,
    blockBytes: state.blockBytes,
    streams: [...state.streams.values()].map((stream) => ({
      name: stream.name, schema: stream.schema, blockCount: stream.blockCount,
      lateEventCount: stream.lateEventCount, blockSplitCount: stream.blockSplitCount,
    })),
  });
  const parts = [...state.streams.values()].map((stream) => ({
    layout: stream.layout, blocks: [...streamBlocks(stream)],
  }));
  for (const part of parts) for (const block of part.blocks) block.exports++;
  const pin = state.epoch;
  state.pins.push(pin);
  state.epoch++;
  let started = false;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    const index = state.pins.indexOf(pin);
    if (index >= 0) state.pins.splice(index, 1);
  };
  return {
    [Symbol.asyncIterator]: () => {
      if (started) {
        throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
          "a snapshot export can be iterated once");
      }
      started = true;
      return generateChunks(header, parts, release, state.blocksFile);
    },
  };
}

async function* generateChunks(header: Uint8Array,
  parts: readonly { layout: BlockLayout; blocks: readonly Block[] }[],
  release: () => void, file: EngineFile): AsyncGenerator<Uint8Array> {
  let passed = 0;
  try {
    let checksum = crc32c(header);
    let total = header.byteLength;
    yield header;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    for (const part of parts) {
      for (const block of part.blocks) {
        const bytes = block.resident ? encodeBlock(part.layout, block) :
          await readEvicted(part.layout, block, file);
        releaseExported(block);
        passed++;
        checksum = crc32c(bytes, checksum);
        total += bytes.byteLength;
        pending.push(bytes);
        pendingBytes += bytes.byteLength;
        if (pendingBytes >= SNAPSHOT_CHUNK_BYTES) {
          yield concatenate(pending, pendingBytes);
          pending = [];
          pendingBytes = 0;
        }
      }
    }
    if (pendingBytes > 0) yield concatenate(pending, pendingBytes);
    yield encodeSnapshotTrailer(total, checksum);
  } finally {
    release();
    // Abandoned part way: the blocks not passed yet are released too.
    let index = 0;
    for (const part of parts) {
      for (const block of part.blocks) if (index++ >= passed) releaseExported(block);
    }
  }
}

/** The bytes of an evicted block, as its slot holds them, checked (CRC, header, rows). */
async function readEvicted(layout: BlockLayout, block: Block,
  file: EngineFile): Promise<Uint8Array> {
  const cache = block.home.cache;
  assert(cache !== undefined && block.slot >= 0, "an evicted block without a slot");
  const length = encodedBlockBytes(layout, block.count, block.stringBytes);
  const offset = block.slot * cache.blockBytes;
  const bytes = await readExactly(file, offset, length);
  const check = createBlock(createBlockHome(layout, undefined), 0);
  decodeRows(layout, check, bytes, { file: file.path, offset });
  if (check.count !== block.count || check.stringBytes !== block.stringBytes) {
    throw corrupt(`block: ${check.count} rows and ${check.stringBytes} string bytes in the ` +
      `slot, the index expects ${block.count} and ${block.stringBytes}`, file.path, offset);
  }
  return bytes;
}

function concatenate(parts: readonly Uint8Array[], length: number): Uint8Array {
  const result = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    result.set(part, at);
    at += part.byteLength;
  }
  return result;
}
