import { crc32c } from "@node-rs/crc32";
import { assert } from "./assert.js";
import { ByteReader, ByteWriter } from "./byte-cursor.js";
import { isValidBlockBytes } from "./block-layout.js";
import { corrupt } from "./errors.js";
import type { StreamSchema } from "./schema.js";
import { readSchema, schemaBytes, writeSchema } from "./schema-codec.js";

/**
 * The manifest names the durable state: checkpoint generation (whose WAL
 * continues it), applied index at the checkpoint, block size, and per stream
 * its schema, counters and the slots of its blocks in time order.
 *
 *   0 magic "EVM1" | 4 crc32c of [8, length) | 8 length u32 | 12 version u32 |
 *   16 generation u32 | 20 block bytes u32 | 24 applied index f64 |
 *   32 slot count u32 | 36 stream count u32 | streams: schema, u32 block count,
 *   f64 late events, f64 block splits, u32 slot per block |
 *   (version 2) u32 annex length, annex bytes
 * Version 1 files (no annex) are read as an empty annex.
 * @internal
 */
export const MANIFEST_MAGIC = 0x314d5645;
export const MANIFEST_VERSION = 2;

export interface ManifestStream {
  readonly name: string;
  readonly schema: StreamSchema;
  readonly lateEventCount: number;
  readonly blockSplitCount: number;
  readonly slots: readonly number[];
}

export interface Manifest {
  readonly generation: number;
  readonly blockBytes: number;
  readonly appliedIndex: number;
  readonly slotCount: number;
  readonly streams: readonly ManifestStream[];
  /** The store's annex (store-state.ts) at the checkpoint. */
  readonly annex: Uint8Array;
}

export function encodeManifest(manifest: Manifest): Uint8Array {
  let length = 40 + 4 + manifest.annex.byteLength;
  for (const stream of manifest.streams) {
    length += schemaBytes(stream.name, stream.schema) + 20 + 4 * stream.slots.length;
  }
  const writer = new ByteWriter(length);
  writer.u32(MANIFEST_MAGIC);
  writer.u32(0);
  writer.u32(length);
  writer.u32(MANIFEST_VERSION);
  writer.u32(manifest.generation);
  writer.u32(manifest.blockBytes);
  writer.f64(manifest.appliedIndex);
  writer.u32(manifest.slotCount);
  writer.u32(manifest.streams.length);
  for (const stream of manifest.streams) {
    writeSchema(writer, stream.name, stream.schema);
    writer.u32(stream.slots.length);
    writer.f64(stream.lateEventCount);
    writer.f64(stream.blockSplitCount);
    for (const slot of stream.slots) writer.u32(slot);
  }
  writer.u32(manifest.annex.byteLength);
  writer.bytes.set(manifest.annex, writer.at);
  writer.at += manifest.annex.byteLength;
  assert(writer.at === length, () => `manifest: wrote ${writer.at} of ${length} bytes`);
  writer.view.setUint32(4, crc32c(writer.bytes.subarray(8)), true);
  return writer.bytes;
}

export function decodeManifest(bytes: Uint8Array, file: string): Manifest {
  if (bytes.byteLength < 40) throw corrupt(`manifest of ${bytes.byteLength} bytes`, file, 0);
  const reader = new ByteReader(bytes, file, 0);
  if (reader.u32("magic") !== MANIFEST_MAGIC) throw corrupt("manifest: bad magic", file, 0);
  const checksum = reader.u32("checksum");
  const length = reader.u32("length");
  if (length !== bytes.byteLength) throw corrupt(`manifest length ${length}`, file, 8);
  if (crc32c(bytes.subarray(8)) !== checksum) throw corrupt("manifest checksum mismatch", file, 4);
  const version = reader.u32("version");
  if (version !== 1 && version !== MANIFEST_VERSION) {
    throw corrupt(`manifest version ${version}`, file, 12);
  }
  const generation = reader.u32("generation");
  const blockBytes = reader.u32("block bytes");
  if (!isValidBlockBytes(blockBytes)) throw corrupt(`block size ${blockBytes}`, file, 20);
  const appliedIndex = reader.f64("applied index");
  const slotCount = reader.u32("slot count");
  const streamCount = reader.u32("stream count");
  const streams: ManifestStream[] = [];
  for (let index = 0; index < streamCount; index++) {
    const { name, schema } = readSchema(reader);
    const blockCount = reader.u32("block count");
    const lateEventCount = reader.f64("late events");
    const blockSplitCount = reader.f64("block splits");
    const slots: number[] = [];
    for (let block = 0; block < blockCount; block++) {
      const slot = reader.u32("slot");
      if (slot >= slotCount) reader.fail(`slot ${slot} of ${slotCount}`);
      slots.push(slot);
    }
    streams.push({ name, schema, lateEventCount, blockSplitCount, slots });
  }
  const annex = version === 1 ? new Uint8Array(0) : reader.take(reader.u32("annex length"), "annex");
  if (reader.at !== length) reader.fail(`${length - reader.at} trailing bytes`);
  return { generation, blockBytes, appliedIndex, slotCount, streams, annex };
}
