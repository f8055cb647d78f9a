/**
 * A replicated key-value map written by hand against the StateMachine
 * contract: commands "set k v" / "del k", queries "get k". Results are the
 * previous value. Used by host tests.
 */
import type { CommittedCommand, StateMachine } from "../../../framework/statemachine/index.js";

const text = new TextDecoder();
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

export interface KvStateMachine extends StateMachine {
  readonly data: Map<string, string>;
  readonly appliedIndex: () => number;
}

/** `packed`: declares packedCommands (the host may put several commands in one entry). */
export function createKvStateMachine(options: { packed?: boolean } = {}): KvStateMachine {
  let data = new Map<string, string>();
  let applied = 0;
  let appliedPosition = 0;
  return {
    packedCommands: options.packed ?? true,
    get data() {
      return data;
    },
    appliedIndex: () => applied,
    async open() {
      return 0; // in memory: rebuilt from snapshot and log
    },
    async apply(commands: readonly CommittedCommand[]) {
      return commands.map((command) => {
        const position = command.position ?? 0;
        if (command.index < applied || (command.index === applied && position <= appliedPosition)) {
          throw new Error(`command ${command.index}/${position} applied twice (applied ${applied}/${appliedPosition})`);
        }
        applied = command.index;
        appliedPosition = position;
        const [verb, key = "", ...rest] = text.decode(command.data).split(" ");
        const previous = data.get(key) ?? "";
        if (verb === "set") data.set(key, rest.join(" "));
        else if (verb === "del") data.delete(key);
        else return bytes(`error: unknown command ${verb}`);
        return bytes(previous);
      });
    },
    async query(request: Uint8Array) {
      const [, key = ""] = text.decode(request).split(" ");
      return bytes(data.get(key) ?? "");
    },
    saveSnapshot() {
      const frozen = JSON.stringify({ applied, entries: [...data] });
      return (async function* () {
        // Two chunks, to exercise chunked transfer.
        const encoded = bytes(frozen);
        const half = encoded.length >> 1;
        yield encoded.slice(0, half);
        yield encoded.slice(half);
      })();
    },
    async restoreSnapshot(index: number, chunks: AsyncIterable<Uint8Array>) {
      const parts: Uint8Array[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let offset = 0;
      for (const part of parts) {
        joined.set(part, offset);
        offset += part.length;
      }
      const parsed = JSON.parse(text.decode(joined)) as { applied: number; entries: [string, string][] };
      data = new Map(parsed.entries);
      applied = index;
      appliedPosition = Number.POSITIVE_INFINITY;
    },
    async close() {},
  };
}
