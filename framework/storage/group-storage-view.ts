import type { Entry, InitialState, RaftStorage, Snapshot } from "../raft/index.js";
import { RaftError, RaftErrorCode } from "../raft/index.js";
import type { EntryLocations } from "./entry-locations.js";
import type { GroupLog } from "./group-log.js";
import { createGroupLog, hardStateOf, lastIndexOf } from "./group-log.js";

/** Same overhead per entry as the raft core's size limits (raft/storage.ts entrySize). */
const entryOverheadBytes = 16;

/**
 * The synchronous RaftStorage of one group, reading the store's in-memory
 * model: always the group's current state (it looks the group up per call),
 * with MemoryStorage's exact semantics and errors.
 * @internal
 */
export function createGroupStorageView(
  groupId: number,
  lookup: (groupId: number) => GroupLog | undefined,
  readData: (log: GroupLog, row: number) => Uint8Array,
): RaftStorage {
  const empty = createGroupLog(groupId);
  const log = (): GroupLog => lookup(groupId) ?? empty;
  const firstIndex = (): number => log().offsetIndex + 1;
  const lastIndex = (): number => lastIndexOf(log());
  return {
    initialState(): InitialState {
      const current = log();
      return { hardState: hardStateOf(current), confState: current.snapshot.metadata.confState };
    },
    entries(low: number, high: number, maxBytes: number): Entry[] {
      const current = log();
      if (low <= current.offsetIndex) {
        throw new RaftError(
          RaftErrorCode.Compacted,
          `group ${groupId}: entries from ${low}, first is ${current.offsetIndex + 1}`,
        );
      }
      if (high > lastIndexOf(current) + 1) {
        throw new RaftError(
          RaftErrorCode.Unavailable,
          `group ${groupId}: entries to ${high - 1}, last is ${lastIndexOf(current)}`,
        );
      }
      if (current.entries.length === 0) {
        throw new RaftError(RaftErrorCode.Unavailable, `group ${groupId}: log is empty`);
      }
      const start = low - current.offsetIndex - 1;
      const end =
        start + countWithin(current.entries, start, high - current.offsetIndex - 1, maxBytes);
      const result: Entry[] = [];
      const rows = current.entries;
      for (let i = start; i < end; i++) {
        const index = current.offsetIndex + 1 + i;
        result.push({ index, term: rows.term(i), type: rows.type(i), data: readData(current, i) });
      }
      return result;
    },
    term(index: number): number {
      const current = log();
      if (index < current.offsetIndex) {
        throw new RaftError(
          RaftErrorCode.Compacted,
          `group ${groupId}: term of ${index}, first is ${current.offsetIndex + 1}`,
        );
      }
      if (index > lastIndexOf(current)) {
        throw new RaftError(
          RaftErrorCode.Unavailable,
          `group ${groupId}: term of ${index}, last is ${lastIndexOf(current)}`,
        );
      }
      if (index === current.offsetIndex) return current.offsetTerm;
      return current.entries.term(index - current.offsetIndex - 1);
    },
    firstIndex,
    lastIndex,
    snapshot(): Snapshot {
      return log().snapshot;
    },
  };
}

/** How many entries in [start, end) fit in `maxBytes` after the first (as limitSize counts). */
function countWithin(
  entries: EntryLocations,
  start: number,
  end: number,
  maxBytes: number,
): number {
  if (end <= start) return 0;
  let size = entries.byteLength(start) + entryOverheadBytes;
  let count = 1;
  while (start + count < end) {
    size += entries.byteLength(start + count) + entryOverheadBytes;
    if (size > maxBytes) break;
    count++;
  }
  return count;
}
