import type { EventStore } from "../engine/index.js";
import { EVENT_ID_FIELD } from "./columnar-events.js";

/**
 * The client ids of one stream's recent events. Rule (deterministic, a
 * function of the stored events only): an event's id is a duplicate when the
 * stream holds an event with that id whose timestamp is at least
 * `newest − window`, `newest` being the stream's largest timestamp before
 * the batch — or when an earlier event of the same batch has it. Ids older
 * than the window are forgotten (pruned lazily; the rule ignores them
 * anyway), so memory is the ids of one window of event time.
 */
export interface DedupIndex {
  /** The rows (ascending) of a batch's duplicate events; records the others' ids. */
  filter(timestamps: ArrayLike<number>, ids: readonly string[]): number[];
}

export function createDedupIndex(windowMicros: number, newest: number | undefined): DedupIndex & {
  load(timestamps: ArrayLike<number>, ids: ArrayLike<string>): void;
} {
  const seen = new Map<string, number>();
  let newestBefore = newest ?? -Infinity;
  let pruneAt = 1024;
  const remember = (id: string, timestamp: number): void => {
    const held = seen.get(id);
    if (held === undefined || held < timestamp) seen.set(id, timestamp);
  };
  const prune = (): void => {
    if (seen.size < pruneAt) return;
    const horizon = newestBefore - windowMicros;
    for (const [id, timestamp] of seen) if (timestamp < horizon) seen.delete(id);
    pruneAt = Math.max(1024, 2 * seen.size);
  };
  return {
    load(timestamps, ids) {
      for (let row = 0; row < ids.length; row++) if (ids[row] !== "") remember(ids[row]!, timestamps[row]!);
    },
    filter(timestamps, ids) {
      const horizon = newestBefore - windowMicros;
      const duplicateRows: number[] = [];
      const inBatch = new Set<string>();
      let batchNewest = newestBefore;
      for (let row = 0; row < timestamps.length; row++) {
        const timestamp = timestamps[row]!;
        if (timestamp > batchNewest) batchNewest = timestamp;
        const id = ids[row];
        if (id === undefined || id === "") continue;
        const held = seen.get(id);
        if (inBatch.has(id) || (held !== undefined && held >= horizon)) {
          duplicateRows.push(row);
          continue;
        }
        inBatch.add(id);
        remember(id, timestamp);
      }
      newestBefore = batchNewest;
      prune();
      return duplicateRows;
    },
  };
}

/** Rebuilds a stream's index from the events it holds in the window. */
export function loadDedupIndex(store: EventStore, stream: string, windowMicros: number): DedupIndex {
  const newest = store.statistics(stream).maxTimestamp;
  const index = createDedupIndex(windowMicros, newest);
  if (newest === undefined) return index;
  let cursor: { timestamp: number; tieIndex: number } | undefined;
  do {
    const page = store.scan(stream, {
      from: newest - windowMicros, limit: 100_000, ...(cursor === undefined ? {} : { cursor }),
    });
    index.load(page.timestamps, (page.columns[EVENT_ID_FIELD] ?? []) as ArrayLike<string>);
    cursor = page.next;
  } while (cursor !== undefined);
  return index;
}
