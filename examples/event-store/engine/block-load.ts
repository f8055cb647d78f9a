import { assert } from "./assert.js";
import { admitBlock, attachRows, dropRows, type Block } from "./block.js";
import { encodedBlockBytes } from "./block-layout.js";
import { decodeRows } from "./block-decode.js";
import { corrupt, EventStoreError } from "./errors.js";

/**
 * The block with its rows in memory: read back from its slot when evicted
 * (checked by magic, length and CRC32C, and against the header the index
 * kept: `corrupt` naming the blocks file and the offset otherwise), and
 * marked most recently used. Every reader of a block's rows goes through
 * here (or through a path from `residentPath`).
 * @internal
 */
export function residentBlock(block: Block): Block {
  if (!block.resident) loadBlock(block);
  else if (block.home.cache !== undefined && block.home.cache.last !== block) admitBlock(block);
  return block;
}

function loadBlock(block: Block): void {
  const home = block.home;
  const cache = home.cache;
  assert(cache !== undefined && block.slot >= 0 && !block.replaced,
    () => `a block without rows in memory and without a slot (slot ${block.slot})`);
  const length = encodedBlockBytes(home.layout, block.count, block.stringBytes);
  if (cache.scratch === undefined || cache.scratch.byteLength < length) {
    cache.scratch = new Uint8Array(Math.max(length, cache.blockBytes));
  }
  const bytes = cache.scratch.subarray(0, length);
  const offset = block.slot * cache.blockBytes;
  let read: number;
  try {
    read = cache.file.readSync(bytes, offset);
  } catch (error) {
    throw EventStoreError.from(error, home.path);
  }
  if (read !== length) {
    throw corrupt(`block: ${read} bytes in the slot, expected ${length}`, home.path, offset);
  }
  const count = block.count;
  const stringBytes = block.stringBytes;
  attachRows(block);
  try {
    decodeRows(home.layout, block, bytes, { file: home.path, offset });
    if (block.count !== count || block.stringBytes !== stringBytes) {
      throw corrupt(`block: ${block.count} rows and ${block.stringBytes} string bytes in the ` +
        `slot, the index expects ${count} and ${stringBytes}`, home.path, offset);
    }
  } catch (error) {
    block.count = count;
    block.stringBytes = stringBytes;
    dropRows(block);
    throw error;
  }
  cache.loads++;
  admitBlock(block);
}
