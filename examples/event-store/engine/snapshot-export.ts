import { crc32c } from "@node-rs/crc32";
import { encodeBlock } from "./block-codec.js";
import type { Block } from "./block.js";
import type { BlockLayout } from "./block-layout.js";
import { EventStoreError, EventStoreErrorCode } from "./errors.js";
import { encodeSnapshotHeader, encodeSnapshotTrailer } from "./snapshot-format.js";
import type { StoreState } from "./store-state.js";
import { streamBlocks } from "./stream.js";

/** Chunks are cut at block boundaries once they reach this size (a block is never split). */
export const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;

/**
 * The store's content at the moment of the call (applied index, schemas,
 * blocks) as a single-use stream of chunks. Later applies do not change it:
 * the blocks it holds are pinned, and a write to a pinned block copies it
 * first (copy-on-write). The pin ends when the iteration ends or is abandoned
 * through `return()`; an export that is never iterated keeps its pin, which
 * costs at most one copy per block changed afterwards.
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
  const pin = state.epoch;
  state.pins.push(pin);
  state.epoch++;
  let started = false;
  const release = (): void => {
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
      return generateChunks(header, parts, release);
    },
  };
}

async function* generateChunks(header: Uint8Array,
  parts: readonly { layout: BlockLayout; blocks: readonly Block[] }[],
  release: () => void): AsyncGenerator<Uint8Array> {
  try {
    let checksum = crc32c(header);
    let total = header.byteLength;
    yield header;
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    for (const part of parts) {
      for (const block of part.blocks) {
        const bytes = encodeBlock(part.layout, block);
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
  }
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
