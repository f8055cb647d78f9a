/**
 * The executable layer's part of a snapshot stream, before the user state's
 * own chunks:
 *
 *   "RKSM" | size-delimited ExecutableSnapshotHeader (version, clock, count)
 *          | count × size-delimited SessionRecord (least recently active first)
 *          | the user state's snapshot bytes, untouched
 *
 * Sessions are written in chunks of about 64 KiB, so a large table streams.
 */
import { create, fromBinary } from "@bufbuild/protobuf";
import { sizeDelimitedEncode } from "@bufbuild/protobuf/wire";
import {
  ExecutableSnapshotHeaderSchema,
  SessionRecordSchema,
} from "../../gen/raftkit/v1/envelope_pb.js";
import type { SessionRecord } from "../../gen/raftkit/v1/envelope_pb.js";
import { assert } from "./assert.js";
import { createByteStreamReader } from "./byte-stream-reader.js";
import type { ByteStreamReader } from "./byte-stream-reader.js";
import { resultFromProto, resultToProto } from "./envelope-codec.js";
import type { SessionState, SessionTable } from "./session-table.js";

const magic = new Uint8Array([0x52, 0x4b, 0x53, 0x4d]); // "RKSM"
const formatVersion = 1;
const chunkBytesTarget = 64 * 1024;
const recordBytesMax = 256 * 1024 * 1024;

/** @internal */
export interface SnapshotHead {
  readonly clockMs: number;
  readonly sessions: readonly SessionState[];
}

/** @internal Encodes lazily, chunk by chunk; `head` must not change meanwhile (pass a copy). */
export async function* writeSnapshotHead(head: SnapshotHead): AsyncGenerator<Uint8Array> {
  const header = create(ExecutableSnapshotHeaderSchema, {
    version: formatVersion,
    clockMs: BigInt(head.clockMs),
    sessionCount: head.sessions.length,
  });
  let pending: Uint8Array[] = [magic, sizeDelimitedEncode(ExecutableSnapshotHeaderSchema, header)];
  let pendingBytes = 0;
  for (const session of head.sessions) {
    const record = sizeDelimitedEncode(SessionRecordSchema, sessionToRecord(session));
    pending.push(record);
    pendingBytes += record.length;
    if (pendingBytes >= chunkBytesTarget) {
      yield join(pending);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pending.length > 0) yield join(pending);
}

/** @internal Reads the head; the reader is left at the user state's first byte. */
export async function readSnapshotHead(reader: ByteStreamReader): Promise<SnapshotHead> {
  const start = await reader.readExactly(magic.length, "snapshot magic");
  assert(start.every((byte, at) => byte === magic[at]), () =>
    `not an executable state machine snapshot: starts with [${[...start].join(", ")}], ` +
      `expected "RKSM"`,
  );
  const header = fromBinary(ExecutableSnapshotHeaderSchema, await readDelimited(reader, "header"));
  assert(header.version === formatVersion, () =>
    `snapshot format version ${header.version}, this build reads ${formatVersion}`,
  );
  const sessions: SessionState[] = [];
  for (let at = 0; at < header.sessionCount; at++) {
    const bytes = await readDelimited(reader, `session record ${at} of ${header.sessionCount}`);
    sessions.push(recordToSession(fromBinary(SessionRecordSchema, bytes)));
  }
  return { clockMs: safeNumber(header.clockMs, "clock_ms"), sessions };
}

async function readDelimited(reader: ByteStreamReader, what: string): Promise<Uint8Array> {
  const length = await reader.readVarint32(`${what} length`);
  assert(length <= recordBytesMax, () =>
    `${what}: ${length} bytes, allowed at most ${recordBytesMax}`,
  );
  return reader.readExactly(length, what);
}

function sessionToRecord(session: SessionState): SessionRecord {
  return create(SessionRecordSchema, {
    clientId: session.clientId,
    respondedTo: BigInt(session.respondedTo),
    lastActiveMs: BigInt(session.lastActiveMs),
    results: [...session.results].sort(([left], [right]) => left - right).map(([sequence, result]) => ({
      sequence: BigInt(sequence),
      result: resultToProto(result),
    })),
  });
}

function recordToSession(record: SessionRecord): SessionState {
  const results = new Map(
    record.results.map((cached) => {
      assert(cached.result !== undefined, () =>
        `session ${record.clientId}: cached result missing`,
      );
      return [safeNumber(cached.sequence, "sequence"), resultFromProto(cached.result)] as const;
    }),
  );
  return {
    clientId: record.clientId,
    respondedTo: safeNumber(record.respondedTo, "responded_to"),
    lastActiveMs: safeNumber(record.lastActiveMs, "last_active_ms"),
    results,
  };
}

function safeNumber(value: bigint, field: string): number {
  assert(value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER), () =>
    `snapshot ${field} = ${value}, allowed [0, 2^53)`,
  );
  return Number(value);
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/**
 * @internal Encodes the framework's state (the snapshot head, alone) for
 * durable states after every applied batch. Incremental: a session's record
 * is encoded again only when the table reports it changed (protobuf-es
 * encodes ~100k records/s here; re-encoding 10,000 sessions per batch cost
 * ~100 ms), the rest is copied from the cache.
 */
export interface FrameworkStateEncoder {
  /** `table` must track changes (createSessionTable(limits, true)). */
  encode(clockMs: number, table: SessionTable): Uint8Array;
}

export function createFrameworkStateEncoder(): FrameworkStateEncoder {
  const records = new Map<bigint, Uint8Array>();
  return {
    encode(clockMs, table) {
      for (const clientId of table.takeChanged()) records.delete(clientId);
      const header = create(ExecutableSnapshotHeaderSchema, {
        version: formatVersion,
        clockMs: BigInt(clockMs),
        sessionCount: table.size,
      });
      const parts = [magic, sizeDelimitedEncode(ExecutableSnapshotHeaderSchema, header)];
      for (const session of table.values()) {
        let record = records.get(session.clientId);
        if (record === undefined) {
          record = sizeDelimitedEncode(SessionRecordSchema, sessionToRecord(session));
          records.set(session.clientId, record);
        }
        parts.push(record);
      }
      assert(records.size === table.size, () => `encoder cache holds ${records.size} sessions, table ${table.size}`);
      return join(parts);
    },
  };
}

/** @internal Reads what a FrameworkStateEncoder wrote; fails on anything else or trailing bytes. */
export async function decodeFrameworkState(bytes: Uint8Array): Promise<SnapshotHead> {
  const reader = createByteStreamReader(
    (async function* () {
      yield bytes;
    })(),
  );
  const head = await readSnapshotHead(reader);
  let trailing = 0;
  for await (const chunk of reader.rest()) trailing += chunk.length;
  assert(trailing === 0, () => `framework state: ${trailing} bytes after the session records`);
  return head;
}
