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
  /**
   * `filter`, with `yieldNow()` awaited after every `rows` rows: the same
   * rows come out and the same ids are recorded (the batch's rows are taken
   * in order either way). Nothing else may use the index until it resolves.
   */
  filterInSlices(timestamps: ArrayLike<number>, ids: readonly string[], rows: number,
    yieldNow: () => Promise<void>): Promise<number[]>;
}

/** One batch's pass over the index: rows [from, to) at a time, in order. */
interface BatchFilter {
  take(from: number, to: number): void;
  /** Ends the batch: the duplicate rows; the index's newest timestamp moves on. */
  finish(): number[];
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
  const begin = (timestamps: ArrayLike<number>, ids: readonly string[]): BatchFilter => {
    const horizon = newestBefore - windowMicros;
    const duplicateRows: number[] = [];
    const inBatch = new Set<string>();
    let batchNewest = newestBefore;
    return {
      take(from, to) {
        batchNewest = newestOf(timestamps, from, to, batchNewest);
        for (let row = from; row < to; row++) {
          const timestamp = timestamps[row]!;
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
      },
      finish() {
        newestBefore = batchNewest;
        prune();
        return duplicateRows;
      },
    };
  };
  /**
   * A batch without ids ("" = none, the common insert): no row can be a
   * duplicate and nothing is recorded; only the newest timestamp moves on.
   * The replicas' profiles (session 8) charged `take` ~30 ns per row of
   * id-less inserts; alone, in a micro-bench, it costs ~3 ns and this ~2 ns.
   */
  const withoutIds = (timestamps: ArrayLike<number>): number[] => {
    newestBefore = newestOf(timestamps, 0, timestamps.length, newestBefore);
    prune();
    return [];
  };
  return {
    load(timestamps, ids) {
      for (let row = 0; row < ids.length; row++) if (ids[row] !== "") remember(ids[row]!, timestamps[row]!);
    },
    filter(timestamps, ids) {
      if (!anyId(ids)) return withoutIds(timestamps);
      const batch = begin(timestamps, ids);
      batch.take(0, timestamps.length);
      return batch.finish();
    },
    async filterInSlices(timestamps, ids, rows, yieldNow) {
      if (!(Number.isSafeInteger(rows) && rows > 0)) throw new RangeError(`rows = ${rows}, allowed a positive integer`);
      // Without ids the pass is one loop over the timestamps: nothing to slice.
      if (!anyId(ids)) return withoutIds(timestamps);
      const batch = begin(timestamps, ids);
      for (let from = 0; from < timestamps.length; from += rows) {
        if (from > 0) await yieldNow();
        batch.take(from, Math.min(timestamps.length, from + rows));
      }
      return batch.finish();
    },
  };
}

/**
 * The largest of `newest` and timestamps [from, to). A replica's batches
 * hold Float64Arrays: their loop has only them (monomorphic), and uses
 * Math.max. Both matter: the loop once shared by arrays and Float64Arrays
 * (`if (timestamp > newest) newest = timestamp`) loaded each value boxed, a
 * fresh 16-byte HeapNumber per event of every batch on every replica
 * (session 11: ~262 KB of garbage per 16,384-event entry, a scavenge every
 * ~64 entries); so did that comparison loop alone in a micro-bench.
 */
function newestOf(timestamps: ArrayLike<number>, from: number, to: number, newest: number): number {
  return timestamps instanceof Float64Array ? newestOfFloat64(timestamps, from, to, newest)
    : newestOfNumbers(timestamps, from, to, newest);
}

function newestOfFloat64(timestamps: Float64Array, from: number, to: number, newest: number): number {
  let best = newest;
  for (let row = from; row < to; row++) best = Math.max(best, timestamps[row]!);
  return best;
}

function newestOfNumbers(timestamps: ArrayLike<number>, from: number, to: number, newest: number): number {
  let best = newest;
  for (let row = from; row < to; row++) best = Math.max(best, timestamps[row]!);
  return best;
}

/** Whether any row has an id ("" = none). */
function anyId(ids: readonly string[]): boolean {
  for (let row = 0; row < ids.length; row++) if (ids[row] !== "") return true;
  return false;
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
