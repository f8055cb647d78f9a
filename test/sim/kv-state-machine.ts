import type { ConfState, Entry } from "../../framework/raft/index.js";
import { EntryType } from "../../framework/raft/index.js";

/**
 * The replicated state machine of the simulation: a map of registers. A
 * write command is `w <requestId> <key> <value>` (tab separated) in a Normal
 * entry. `digest` chains every applied entry (index, term, data), so two
 * replicas that applied the same log have the same digest at every index —
 * and a snapshot carries it, so a restored replica continues the chain.
 */
export interface KvStateMachine {
  readonly applied: number;
  readonly confState: ConfState;
  readonly digest: number;
  get(key: string): string | null;
  /** Applies a Normal entry; returns the write it carried, if any. */
  applyNormal(entry: Entry): WriteCommand | undefined;
  /** Records a ConfChange entry as applied, with the configuration it produced. */
  applyConfChange(entry: Entry, confState: ConfState): void;
  encodeSnapshot(): Uint8Array;
}

export interface WriteCommand {
  readonly requestId: string;
  readonly key: string;
  readonly value: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeWrite(command: WriteCommand): Uint8Array {
  for (const part of [command.requestId, command.key, command.value]) {
    if (part.includes("\t"))
      throw new Error(`write command part ${JSON.stringify(part)} contains a tab`);
  }
  return encoder.encode(`w\t${command.requestId}\t${command.key}\t${command.value}`);
}

export function decodeWrite(data: Uint8Array): WriteCommand {
  const parts = decoder.decode(data).split("\t");
  if (parts.length !== 4 || parts[0] !== "w") {
    throw new Error(`entry data ${JSON.stringify(decoder.decode(data))} is not a write command`);
  }
  return { requestId: parts[1]!, key: parts[2]!, value: parts[3]! };
}

/** FNV-1a over the bytes, continuing from `seed`. */
export function fnv1a(seed: number, bytes: Uint8Array): number {
  let hash = seed >>> 0;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

export function chainDigest(previous: number, entry: Entry): number {
  const header = encoder.encode(`${entry.index}:${entry.term}:${entry.type}:`);
  return fnv1a(fnv1a(previous ^ 0x811c9dc5, header), entry.data);
}

interface SnapshotBody {
  applied: number;
  digest: number;
  confState: ConfState;
  values: [string, string][];
}

export function createKvStateMachine(start: {
  applied: number;
  confState: ConfState;
  digest?: number;
  values?: Iterable<[string, string]>;
}): KvStateMachine {
  let applied = start.applied;
  let confState = start.confState;
  let digest = start.digest ?? 0;
  const values = new Map<string, string>(start.values ?? []);
  const advanceTo = (entry: Entry): void => {
    if (entry.index !== applied + 1) {
      throw new Error(`state machine: applying index ${entry.index}, expected ${applied + 1}`);
    }
    applied = entry.index;
    digest = chainDigest(digest, entry);
  };
  return {
    get applied() {
      return applied;
    },
    get confState() {
      return confState;
    },
    get digest() {
      return digest;
    },
    get: (key) => values.get(key) ?? null,
    applyNormal(entry) {
      if (entry.type !== EntryType.Normal)
        throw new Error(`state machine: entry ${entry.index} is not Normal`);
      advanceTo(entry);
      if (entry.data.byteLength === 0) return undefined; // a new leader's empty entry
      const command = decodeWrite(entry.data);
      values.set(command.key, command.value);
      return command;
    },
    applyConfChange(entry, next) {
      if (entry.type !== EntryType.ConfChange) {
        throw new Error(`state machine: entry ${entry.index} is not a ConfChange`);
      }
      advanceTo(entry);
      confState = next;
    },
    encodeSnapshot() {
      const body: SnapshotBody = { applied, digest, confState, values: [...values] };
      return encoder.encode(JSON.stringify(body));
    },
  };
}

/** Rebuilds a state machine from snapshot data; an empty snapshot is an empty machine. */
export function restoreKvStateMachine(
  data: Uint8Array,
  index: number,
  confState: ConfState,
): KvStateMachine {
  if (data.byteLength === 0) {
    if (index !== 0) throw new Error(`snapshot at index ${index} has no data`);
    return createKvStateMachine({ applied: 0, confState });
  }
  const body: SnapshotBody = JSON.parse(decoder.decode(data));
  if (body.applied !== index) {
    throw new Error(`snapshot at index ${index} holds a state machine at ${body.applied}`);
  }
  // The snapshot's metadata is the core's word on the configuration at `index`.
  return createKvStateMachine({
    applied: body.applied,
    confState,
    digest: body.digest,
    values: body.values,
  });
}
