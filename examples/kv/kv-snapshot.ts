import { assert } from "../../framework/raft/index.js";

/** One key's value and version (1 on first put, +1 on every change). */
export interface KvRecord {
  readonly value: Uint8Array;
  readonly version: bigint;
}

const magic = "KVS1";

/**
 * The snapshot of a kv partition: "KVS1", then per key (sorted, so every
 * replica writes the same bytes) u32 key length, key, u64 version, u32 value
 * length, value. Big-endian.
 */
export function encodeKvSnapshot(records: ReadonlyMap<string, KvRecord>): Uint8Array {
  const keys = [...records.keys()].sort();
  const parts: Buffer[] = [Buffer.from(magic, "latin1")];
  for (const key of keys) {
    const record = records.get(key);
    assert(record !== undefined, `snapshot: key ${JSON.stringify(key)} vanished while encoding`);
    const keyBytes = Buffer.from(key, "utf8");
    const head = Buffer.alloc(4 + keyBytes.length + 8 + 4);
    head.writeUInt32BE(keyBytes.length, 0);
    keyBytes.copy(head, 4);
    head.writeBigUInt64BE(record.version, 4 + keyBytes.length);
    head.writeUInt32BE(record.value.length, 4 + keyBytes.length + 8);
    parts.push(head, Buffer.from(record.value));
  }
  return Buffer.concat(parts);
}

/** Reads what encodeKvSnapshot wrote; a truncated or foreign stream fails an assertion. */
export function decodeKvSnapshot(bytes: Buffer): Map<string, KvRecord> {
  const head = bytes.subarray(0, 4).toString("latin1");
  assert(head === magic, `kv snapshot starts with ${JSON.stringify(head)}, expected "${magic}"`);
  const records = new Map<string, KvRecord>();
  let offset = 4;
  const need = (count: number): void => {
    assert(offset + count <= bytes.length,
      `kv snapshot truncated at byte ${offset}: needs ${count} more, has ${bytes.length - offset}`);
  };
  while (offset < bytes.length) {
    need(4);
    const keyLength = bytes.readUInt32BE(offset);
    need(4 + keyLength + 12);
    const key = bytes.toString("utf8", offset + 4, offset + 4 + keyLength);
    offset += 4 + keyLength;
    const version = bytes.readBigUInt64BE(offset);
    const valueLength = bytes.readUInt32BE(offset + 8);
    offset += 12;
    need(valueLength);
    const value = new Uint8Array(bytes.subarray(offset, offset + valueLength));
    records.set(key, { value, version });
    offset += valueLength;
  }
  return records;
}
