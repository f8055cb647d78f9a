import type { Entry } from "../../../framework/raft/index.js";
import { EntryType } from "../../../framework/raft/index.js";
import type { CommittedCommand, StateMachine } from "../../../framework/statemachine/index.js";
import { chainDigest, decodeWrite, encodeWrite } from "../kv-state-machine.js";
import type { WriteCommand } from "../kv-state-machine.js";

/**
 * The state machine every simulated replica runs: registers, written by
 * `w <requestId> <key> <value>` commands (test/sim/kv-state-machine.ts's
 * encoding) and read by a query naming the key. In memory, so a restarted
 * replica rebuilds from its newest snapshot and the log. A digest chains
 * every applied command (index, term, data) and travels in snapshots, so
 * two replicas that applied the same commands agree on it at every index.
 */
export interface RegisterMachine extends StateMachine {
  /** Index of the last command applied (commands only; conf changes never reach it). */
  lastCommandIndex(): number;
  digest(): number;
  get(key: string): string | null;
}

/** What replicas report as they apply, for the per-group safety checks. */
export interface ApplyObserver {
  onApplied(entry: Entry, digestAfter: number, write: WriteCommand): void;
  onRestored(index: number, lastCommandIndex: number, lastCommandTerm: number, digest: number): void;
  /** A contract breach by the host (a command applied twice or out of order). */
  violation(message: string): void;
}

interface SnapshotBody {
  readonly index: number;
  readonly lastCommandIndex: number;
  readonly lastCommandTerm: number;
  readonly digest: number;
  readonly values: readonly (readonly [string, string])[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The result of a write: which request the applied entry carried, and where. */
export function encodeWriteResult(requestId: string, index: number, term: number): Uint8Array {
  return encoder.encode(`${requestId}@${index}/${term}`);
}

export function decodeWriteResult(result: unknown): { requestId: string; index: number; term: number } {
  if (!(result instanceof Uint8Array)) throw new Error(`write result ${String(result)} is not bytes`);
  const match = /^(.*)@(\d+)\/(\d+)$/.exec(decoder.decode(result));
  if (match === null) throw new Error(`write result ${decoder.decode(result)} is malformed`);
  return { requestId: match[1]!, index: Number(match[2]), term: Number(match[3]) };
}

export const encodeRead = (key: string): Uint8Array => encoder.encode(key);
/** A read's answer: "=" + value, or "-" for a key never written. */
export function decodeReadResult(bytes: Uint8Array): string | null {
  const text = decoder.decode(bytes);
  if (text === "-") return null;
  if (!text.startsWith("=")) throw new Error(`read result ${JSON.stringify(text)} is malformed`);
  return text.slice(1);
}
export { encodeWrite };

export function createRegisterMachine(observer: ApplyObserver): RegisterMachine {
  let values = new Map<string, string>();
  let lastCommandIndex = 0;
  let lastCommandTerm = 0;
  let digest = 0;
  const applyOne = (command: CommittedCommand): Uint8Array => {
    if (command.index <= lastCommandIndex) {
      const message = `command ${command.index} applied after ${lastCommandIndex}`;
      observer.violation(message);
      throw new Error(message);
    }
    const write = decodeWrite(command.data);
    const entry: Entry = { ...command, type: EntryType.Normal };
    values.set(write.key, write.value);
    lastCommandIndex = command.index;
    lastCommandTerm = command.term;
    digest = chainDigest(digest, entry);
    observer.onApplied(entry, digest, write);
    return encodeWriteResult(write.requestId, command.index, command.term);
  };
  return {
    lastCommandIndex: () => lastCommandIndex,
    digest: () => digest,
    get: (key) => values.get(key) ?? null,
    async open() {
      return 0;
    },
    async apply(commands) {
      return commands.map(applyOne);
    },
    async query(request) {
      const value = values.get(decoder.decode(request));
      return encoder.encode(value === undefined ? "-" : `=${value}`);
    },
    saveSnapshot() {
      const body: SnapshotBody = {
        index: lastCommandIndex,
        lastCommandIndex,
        lastCommandTerm,
        digest,
        values: [...values],
      };
      const bytes = encoder.encode(JSON.stringify(body));
      return (async function* () {
        // Two chunks, so transfers stream more than one.
        yield bytes.slice(0, bytes.length >> 1);
        yield bytes.slice(bytes.length >> 1);
      })();
    },
    async restoreSnapshot(index, chunks) {
      const parts: Uint8Array[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      const body = parseBody(Buffer.concat(parts));
      if (body.lastCommandIndex > index) {
        observer.violation(`snapshot at ${index} holds commands up to ${body.lastCommandIndex}`);
      }
      values = new Map(body.values);
      lastCommandIndex = body.lastCommandIndex;
      lastCommandTerm = body.lastCommandTerm;
      digest = body.digest;
      observer.onRestored(index, lastCommandIndex, lastCommandTerm, digest);
    },
    async close() {},
  };
}

function parseBody(bytes: Uint8Array): SnapshotBody {
  if (bytes.byteLength === 0) {
    return { index: 0, lastCommandIndex: 0, lastCommandTerm: 0, digest: 0, values: [] };
  }
  const parsed: unknown = JSON.parse(decoder.decode(bytes));
  if (typeof parsed !== "object" || parsed === null || !("digest" in parsed)) {
    throw new Error(`snapshot body ${decoder.decode(bytes).slice(0, 80)} is malformed`);
  }
  // Written by saveSnapshot above; the shape was checked just now.
  return parsed as SnapshotBody;
}
