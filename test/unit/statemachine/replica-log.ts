/**
 * Feeds one replica's machine the way the host does: committed entries with
 * increasing indexes. Entries are command bytes stamped with a proposer time.
 */
import { buildCommand, stampEnvelopeBatch } from "../../../framework/statemachine/index.js";
import type {
  ExecutableMessage,
  ExecutableStateMachine,
  SessionStamp,
} from "../../../framework/statemachine/index.js";

export interface ReplicaLog {
  /** Applies one entry at the next index; returns its result bytes. */
  append(data: Uint8Array): Promise<Uint8Array>;
  /** Applies several entries in one apply call. */
  appendAll(entries: readonly Uint8Array[]): Promise<readonly Uint8Array[]>;
  lastIndex(): number;
}

export function createReplicaLog(machine: ExecutableStateMachine, term = 1): ReplicaLog {
  let index = machine.appliedIndex();
  const appendAll = async (entries: readonly Uint8Array[]): Promise<readonly Uint8Array[]> => {
    const commands = entries.map((data) => ({ index: ++index, term, data }));
    return machine.apply(commands);
  };
  return {
    async append(data) {
      const [result] = await appendAll([data]);
      if (result === undefined) throw new Error("apply returned no result");
      return result;
    },
    appendAll,
    lastIndex: () => index,
  };
}

/** A command as the proposer puts it into the log: built by the client, stamped with time. */
export function commandEntry<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  request: Request,
  stamp: SessionStamp | undefined,
  timestampMs = 1_000,
): Uint8Array {
  return stampEnvelopeBatch(buildCommand(descriptor, request, stamp), timestampMs);
}

export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/** Splits bytes into chunks of `size` (re-chunking as storage or transport may). */
export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) {
    yield bytes.slice(offset, offset + size);
  }
}
