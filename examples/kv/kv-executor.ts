import type {
  ApplyContext,
  ExecutableState,
  QueryContext,
} from "../../framework/statemachine/index.js";
import { StateMachineError, StateMachineErrorCode } from "../../framework/statemachine/index.js";
import type {
  CompareAndSetRequest,
  CompareAndSetResponse,
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  PutRequest,
  PutResponse,
} from "./gen/kv/v1/kv.js";
import type { KvServiceExecutor } from "./gen/kv/v1/kv_raftkit.js";
import { decodeKvSnapshot, encodeKvSnapshot } from "./kv-snapshot.js";
import type { KvRecord } from "./kv-snapshot.js";

/** Longest key accepted, in UTF-8 bytes. Part of the replicated logic: equal on every replica. */
export const kvKeyBytesMax = 1024;
/** Largest value accepted, in bytes. */
export const kvValueBytesMax = 1024 * 1024;

/**
 * The kv state machine: the executor of every rpc of kv.v1.KvService and
 * its state (an in-memory map, rebuilt from snapshot + log on restart).
 * One instance per partition replica. Deterministic: no clock, no random,
 * no I/O; a refused request changes nothing (checks come before changes).
 */
export class KvExecutor implements KvServiceExecutor, ExecutableState {
  private records = new Map<string, KvRecord>();

  put(request: PutRequest, _context: ApplyContext): PutResponse {
    checkKey(request.key);
    checkValue(request.value);
    const version = (this.records.get(request.key)?.version ?? 0n) + 1n;
    this.records.set(request.key, { value: request.value, version });
    return { version };
  }

  get(request: GetRequest, _context: QueryContext): GetResponse {
    checkKey(request.key);
    const record = this.records.get(request.key);
    if (record === undefined) return { found: false, value: new Uint8Array(0), version: 0n };
    return { found: true, value: record.value, version: record.version };
  }

  delete(request: DeleteRequest, _context: ApplyContext): DeleteResponse {
    checkKey(request.key);
    return { existed: this.records.delete(request.key) };
  }

  compareAndSet(request: CompareAndSetRequest, _context: ApplyContext): CompareAndSetResponse {
    checkKey(request.key);
    checkValue(request.value);
    const current = this.records.get(request.key)?.version ?? 0n;
    if (current !== request.expectedVersion) return { swapped: false, version: current };
    const version = current + 1n;
    this.records.set(request.key, { value: request.value, version });
    return { swapped: true, version };
  }

  /** In memory: nothing survives a restart but what snapshot + log replay rebuild. */
  async open(): Promise<number> {
    return 0;
  }

  saveSnapshot(): AsyncIterable<Uint8Array> {
    // Encoded now: the stream may be read while later commands change the map.
    const bytes = encodeKvSnapshot(this.records);
    return (async function* () {
      yield bytes;
    })();
  }

  async restoreSnapshot(_index: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    const parts: Uint8Array[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    this.records = decodeKvSnapshot(Buffer.concat(parts));
  }

  async close(): Promise<void> {
    this.records = new Map();
  }
}

function checkKey(key: string): void {
  if (key === "") {
    throw new StateMachineError(StateMachineErrorCode.InvalidArgument, "key is empty");
  }
  const bytes = Buffer.byteLength(key, "utf8");
  if (bytes > kvKeyBytesMax) {
    throw new StateMachineError(StateMachineErrorCode.InvalidArgument,
      `key of ${bytes} bytes, allowed at most ${kvKeyBytesMax}`);
  }
}

function checkValue(value: Uint8Array): void {
  if (value.length > kvValueBytesMax) {
    throw new StateMachineError(StateMachineErrorCode.InvalidArgument,
      `value of ${value.length} bytes, allowed at most ${kvValueBytesMax}`);
  }
}
