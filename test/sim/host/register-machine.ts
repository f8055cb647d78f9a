import type { Entry } from "../../../framework/raft/index.js";
import { EntryType } from "../../../framework/raft/index.js";
import { encodePack } from "../../../framework/host/command-pack.js";
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
  /**
   * A command applied. `entry` is the whole entry that carried it (a packed
   * machine's entry holds several commands: it is observed once per command,
   * each time with the digest after the whole entry); `position` is the
   * command's place in it.
   */
  onApplied(entry: Entry, digestAfter: number, write: WriteCommand, position: number): void;
  onRestored(
    index: number,
    lastCommandIndex: number,
    lastCommandTerm: number,
    digest: number,
  ): void;
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

/** The result of a write: which request the applied entry carried, and where (position > 0 only in packs). */
export function encodeWriteResult(requestId: string, index: number, term: number, position = 0): Uint8Array {
  return encoder.encode(`${requestId}@${index}${position === 0 ? "" : `.${position}`}/${term}`);
}

export function decodeWriteResult(result: unknown): {
  requestId: string;
  index: number;
  term: number;
  position: number;
} {
  if (!(result instanceof Uint8Array))
    throw new Error(`write result ${String(result)} is not bytes`);
  const match = /^(.*)@(\d+)(?:\.(\d+))?\/(\d+)$/.exec(decoder.decode(result));
  if (match === null) throw new Error(`write result ${decoder.decode(result)} is malformed`);
  return { requestId: match[1]!, index: Number(match[2]), term: Number(match[4]), position: Number(match[3] ?? 0) };
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

/**
 * The whole state of a register machine. A durable machine keeps it on the
 * simulated disk, where every apply lands at once (a state machine that
 * syncs its own writes before apply returns); its open() then answers the
 * index it holds, and the host replays only the log after it.
 */
export interface RegisterState {
  values: Map<string, string>;
  lastCommandIndex: number;
  lastCommandTerm: number;
  digest: number;
}

export function emptyRegisterState(): RegisterState {
  return { values: new Map(), lastCommandIndex: 0, lastCommandTerm: 0, digest: 0 };
}

/**
 * `durable`: the state on the node's disk (survives crashes); absent: in
 * memory, rebuilt from snapshot and log on restart.
 */
export function createRegisterMachine(
  observer: ApplyObserver,
  durable?: RegisterState,
  options: { readonly packed?: boolean } = {},
): RegisterMachine {
  const state = durable ?? emptyRegisterState();
  const packed = options.packed === true;
  /** Applies the commands of one entry (one, or a pack's), observed once each after the whole entry. */
  const applyEntry = (commands: readonly CommittedCommand[]): Uint8Array[] => {
    const { index, term } = commands[0]!;
    if (index <= state.lastCommandIndex) {
      const message = `command ${index} applied after ${state.lastCommandIndex}`;
      observer.violation(message);
      throw new Error(message);
    }
    const writes = commands.map((command, position) => {
      if ((command.position ?? 0) !== position || command.index !== index || command.term !== term) {
        const message = `entry ${index}: command ${position} arrived as ${command.index}/${command.term} position ${String(command.position)}`;
        observer.violation(message);
        throw new Error(message);
      }
      return decodeWrite(command.data);
    });
    const data = packed ? encodePack(commands.map((command) => command.data)) : commands[0]!.data;
    const entry: Entry = { index, term, data, type: EntryType.Normal };
    for (const write of writes) state.values.set(write.key, write.value);
    state.lastCommandIndex = index;
    state.lastCommandTerm = term;
    state.digest = chainDigest(state.digest, entry);
    writes.forEach((write, position) => observer.onApplied(entry, state.digest, write, position));
    return writes.map((write, position) => encodeWriteResult(write.requestId, index, term, position));
  };
  const applyAll = (commands: readonly CommittedCommand[]): Uint8Array[] => {
    if (!packed) return commands.flatMap((command) => applyEntry([command]));
    const results: Uint8Array[] = [];
    let start = 0;
    while (start < commands.length) {
      let end = start + 1;
      while (end < commands.length && commands[end]!.index === commands[start]!.index) end++;
      results.push(...applyEntry(commands.slice(start, end)));
      start = end;
    }
    return results;
  };
  return {
    lastCommandIndex: () => state.lastCommandIndex,
    digest: () => state.digest,
    get: (key) => state.values.get(key) ?? null,
    async open() {
      return state.lastCommandIndex;
    },
    packedCommands: packed,
    async apply(commands) {
      return applyAll(commands);
    },
    async query(request) {
      const value = state.values.get(decoder.decode(request));
      return encoder.encode(value === undefined ? "-" : `=${value}`);
    },
    saveSnapshot() {
      const body: SnapshotBody = {
        index: state.lastCommandIndex,
        lastCommandIndex: state.lastCommandIndex,
        lastCommandTerm: state.lastCommandTerm,
        digest: state.digest,
        values: [...state.values],
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
      state.values = new Map(body.values);
      state.lastCommandIndex = body.lastCommandIndex;
      state.lastCommandTerm = body.lastCommandTerm;
      state.digest = body.digest;
      observer.onRestored(index, state.lastCommandIndex, state.lastCommandTerm, state.digest);
    },
    async close() {},
  };
}

function parseBody(bytes: Uint8Array): SnapshotBody {
  if (bytes.byteLength === 0) {
    return { index: 0, lastCommandIndex: 0, lastCommandTerm: 0, digest: 0, values: [] };
  }
  const text = decoder.decode(bytes);
  const parsed: unknown = JSON.parse(text);
  const malformed = (): Error => new Error(`snapshot body ${text.slice(0, 80)} is malformed`);
  if (typeof parsed !== "object" || parsed === null) throw malformed();
  const field = (name: string): number => {
    const value: unknown = Reflect.get(parsed, name);
    if (typeof value !== "number" || !Number.isSafeInteger(value)) throw malformed();
    return value;
  };
  const rawValues: unknown = Reflect.get(parsed, "values");
  if (!Array.isArray(rawValues)) throw malformed();
  const values: (readonly [string, string])[] = [];
  for (const pair of rawValues) {
    if (!Array.isArray(pair) || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw malformed();
    }
    values.push([pair[0], pair[1]]);
  }
  return {
    index: field("index"),
    lastCommandIndex: field("lastCommandIndex"),
    lastCommandTerm: field("lastCommandTerm"),
    digest: field("digest"),
    values,
  };
}
