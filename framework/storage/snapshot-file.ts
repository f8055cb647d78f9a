import { crc32c } from "@node-rs/crc32";
import type { ConfState, SnapshotMetadata } from "../raft/index.js";
import { StorageError, StorageErrorCode } from "./errors.js";

/**
 * Layout of one snapshot file (see docs/storage.md):
 * [u32 magic "RKSN"][u32 version][u32 metadata length][u32 crc32c(metadata)][metadata JSON]
 * [data ...][u64 data length][u32 crc32c(data)][u32 magic]
 * The trailer comes last because the data arrives as a stream of unknown length.
 * @internal
 */
export const snapshotMagic = 0x52534e4b; // "RKSN"
export const snapshotFormatVersion = 1;
export const snapshotPrefixBytes = 16;
export const snapshotTrailerBytes = 16;

export function encodeSnapshotHeader(metadata: SnapshotMetadata): Uint8Array {
  const json = new TextEncoder().encode(
    JSON.stringify({
      index: metadata.index,
      term: metadata.term,
      confState: metadata.confState,
    }),
  );
  const header = new Uint8Array(snapshotPrefixBytes + json.byteLength);
  const view = new DataView(header.buffer);
  view.setUint32(0, snapshotMagic, true);
  view.setUint32(4, snapshotFormatVersion, true);
  view.setUint32(8, json.byteLength, true);
  view.setUint32(12, crc32c(json), true);
  header.set(json, snapshotPrefixBytes);
  return header;
}

export function encodeSnapshotTrailer(dataBytes: number, dataCrc: number): Uint8Array {
  const trailer = new Uint8Array(snapshotTrailerBytes);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, dataBytes % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(dataBytes / 0x1_0000_0000), true);
  view.setUint32(8, dataCrc, true);
  view.setUint32(12, snapshotMagic, true);
  return trailer;
}

/** Reads the fixed prefix; returns the metadata JSON's length and CRC. */
export function decodeSnapshotPrefix(
  prefix: Uint8Array,
  file: string,
): { length: number; crc: number } {
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  if (prefix.byteLength < snapshotPrefixBytes || view.getUint32(0, true) !== snapshotMagic) {
    throw corruptSnapshot(file, 0, "bad magic");
  }
  const version = view.getUint32(4, true);
  if (version !== snapshotFormatVersion)
    throw corruptSnapshot(file, 4, `unknown version ${version}`);
  return { length: view.getUint32(8, true), crc: view.getUint32(12, true) };
}

export function decodeSnapshotMetadata(
  json: Uint8Array,
  crc: number,
  file: string,
): SnapshotMetadata {
  if (crc32c(json) !== crc)
    throw corruptSnapshot(file, snapshotPrefixBytes, "metadata CRC mismatch");
  const value: unknown = JSON.parse(new TextDecoder().decode(json));
  if (
    !isRecord(value) ||
    !isIndex(value["index"]) ||
    !isIndex(value["term"]) ||
    !isConfState(value["confState"])
  ) {
    throw corruptSnapshot(file, snapshotPrefixBytes, "metadata has the wrong shape");
  }
  return { index: value["index"], term: value["term"], confState: value["confState"] };
}

export function decodeSnapshotTrailer(
  trailer: Uint8Array,
  file: string,
  offset: number,
): { dataBytes: number; dataCrc: number } {
  const view = new DataView(trailer.buffer, trailer.byteOffset, trailer.byteLength);
  if (view.getUint32(12, true) !== snapshotMagic)
    throw corruptSnapshot(file, offset, "bad trailer");
  const dataBytes = view.getUint32(4, true) * 0x1_0000_0000 + view.getUint32(0, true);
  return { dataBytes, dataCrc: view.getUint32(8, true) };
}

export function corruptSnapshot(file: string, offset: number, what: string): StorageError {
  return new StorageError(StorageErrorCode.Corrupt, `snapshot file: ${what}`, { file, offset });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isIndex(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isIdList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every(isIndex);
}

function isConfState(value: unknown): value is ConfState {
  return (
    isRecord(value) &&
    isIdList(value["voters"]) &&
    isIdList(value["learners"]) &&
    isIdList(value["votersOutgoing"]) &&
    isIdList(value["learnersNext"]) &&
    typeof value["autoLeave"] === "boolean"
  );
}
