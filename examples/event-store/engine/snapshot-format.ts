import { crc32c } from "@node-rs/crc32";
import { assert } from "./assert.js";
import { ByteReader, ByteWriter } from "./byte-cursor.js";
import { isValidBlockBytes } from "./block-layout.js";
import { corrupt } from "./errors.js";
import type { StreamSchema } from "./schema.js";
import { readSchema, schemaBytes, writeSchema } from "./schema-codec.js";

/**
 * A snapshot is a byte stream, cut into chunks anywhere:
 *
 *   header: 0 magic "EVS1" | 4 crc32c of [8, length) | 8 length u32 | 12 version u32 |
 *           16 applied index f64 | 24 block bytes u32 | 28 stream count u32 |
 *           per stream: schema, u32 block count, f64 late events, f64 splits | pad to 8
 *   then every stream's blocks in time order, each as in the blocks file (block-codec.ts)
 *   trailer: 0 magic "EVT1" | 4 zero | 8 bytes before the trailer f64 |
 *            16 crc32c of all bytes before the trailer u32 | 20 zero
 *
 * Two stores with the same content export the same bytes.
 * @internal
 */
export const SNAPSHOT_MAGIC = 0x31535645;
export const SNAPSHOT_TRAILER_MAGIC = 0x31545645;
export const SNAPSHOT_VERSION = 1;
export const SNAPSHOT_TRAILER_BYTES = 24;

export interface SnapshotStreamHeader {
  readonly name: string;
  readonly schema: StreamSchema;
  readonly blockCount: number;
  readonly lateEventCount: number;
  readonly blockSplitCount: number;
}

export interface SnapshotHeader {
  readonly appliedIndex: number;
  readonly blockBytes: number;
  readonly streams: readonly SnapshotStreamHeader[];
}

export function encodeSnapshotHeader(header: SnapshotHeader): Uint8Array {
  let length = 32;
  for (const stream of header.streams) length += schemaBytes(stream.name, stream.schema) + 20;
  length = (length + 7) & ~7;
  const writer = new ByteWriter(length);
  writer.u32(SNAPSHOT_MAGIC);
  writer.u32(0);
  writer.u32(length);
  writer.u32(SNAPSHOT_VERSION);
  writer.f64(header.appliedIndex);
  writer.u32(header.blockBytes);
  writer.u32(header.streams.length);
  for (const stream of header.streams) {
    writeSchema(writer, stream.name, stream.schema);
    writer.u32(stream.blockCount);
    writer.f64(stream.lateEventCount);
    writer.f64(stream.blockSplitCount);
  }
  writer.align8();
  assert(writer.at === length, () => `snapshot header: wrote ${writer.at} of ${length}`);
  writer.view.setUint32(4, crc32c(writer.bytes.subarray(8)), true);
  return writer.bytes;
}

/** Decodes a header whose 12 first bytes said `length`; `bytes` holds exactly it. */
export function decodeSnapshotHeader(bytes: Uint8Array, origin: string): SnapshotHeader {
  const reader = new ByteReader(bytes, origin, 0);
  if (reader.u32("magic") !== SNAPSHOT_MAGIC) reader.fail("not a snapshot (bad magic)");
  const checksum = reader.u32("checksum");
  reader.u32("length");
  if (crc32c(bytes.subarray(8)) !== checksum) throw corrupt("snapshot header checksum", origin, 4);
  const version = reader.u32("version");
  if (version !== SNAPSHOT_VERSION) throw corrupt(`snapshot version ${version}`, origin, 12);
  const appliedIndex = reader.f64("applied index");
  const blockBytes = reader.u32("block bytes");
  if (!isValidBlockBytes(blockBytes)) throw corrupt(`block size ${blockBytes}`, origin, 24);
  const count = reader.u32("stream count");
  const streams: SnapshotStreamHeader[] = [];
  for (let index = 0; index < count; index++) {
    const { name, schema } = readSchema(reader);
    const blockCount = reader.u32("block count");
    const lateEventCount = reader.f64("late events");
    const blockSplitCount = reader.f64("block splits");
    if (blockCount === 0) reader.fail(`stream '${name}' without blocks`);
    streams.push({ name, schema, blockCount, lateEventCount, blockSplitCount });
  }
  return { appliedIndex, blockBytes, streams };
}

export function encodeSnapshotTrailer(bytesBefore: number, checksum: number): Uint8Array {
  const writer = new ByteWriter(SNAPSHOT_TRAILER_BYTES);
  writer.u32(SNAPSHOT_TRAILER_MAGIC);
  writer.u32(0);
  writer.f64(bytesBefore);
  writer.u32(checksum);
  writer.u32(0);
  return writer.bytes;
}
