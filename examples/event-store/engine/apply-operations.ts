import { assert } from "./assert.js";
import type { BlockCache } from "./block-cache.js";
import type { CheckedOperation } from "./checked-operation.js";
import { createStream, type Stream } from "./stream.js";
import { insertRows, type WriteEpochs } from "./stream-insert.js";

/**
 * Applies checked operations to the in-memory state. Deterministic: the same
 * operations on the same state give the same blocks, bit for bit (no clock,
 * no randomness); cannot fail except on a broken invariant.
 */
export function applyOperations(streams: Map<string, Stream>, blockBytes: number,
  operations: readonly CheckedOperation[], epochs: WriteEpochs, cache: BlockCache): void {
  for (const operation of operations) {
    if (operation.kind === "createStream") {
      assert(!streams.has(operation.stream), () => `stream '${operation.stream}' exists`);
      streams.set(operation.stream,
        createStream(operation.stream, operation.schema, blockBytes, epochs.current, cache));
    } else {
      const stream = streams.get(operation.stream);
      assert(stream !== undefined, () => `insert into missing stream '${operation.stream}'`);
      insertRows(stream, operation.source, epochs);
    }
  }
}

/** EventStoreOptions.applySlices. */
export interface ApplySlices {
  /** Rows inserted between two yields. */
  readonly rows: number;
  /** Lets the process's event loop run (timers, sockets) before the next slice. */
  readonly yieldNow: () => Promise<void>;
}

/**
 * applyOperations, with `slices.yieldNow()` awaited after every
 * `slices.rows` inserted rows, so a large batch does not hold the event
 * loop for its whole duration (issue #8, overload: a node busy for an
 * election timeout loses its leaderships). The blocks come out the same as
 * in one pass: an insert's rows are applied in order either way, an
 * in-order run cut at a slice boundary continues in the same rightmost
 * block, and a late run is never cut (insertRows finishes it: a slice may
 * run past `rows` by the rest of one late run).
 */
export async function applyOperationsInSlices(streams: Map<string, Stream>, blockBytes: number,
  operations: readonly CheckedOperation[], epochs: WriteEpochs, cache: BlockCache,
  slices: ApplySlices): Promise<void> {
  let rowsSinceYield = 0;
  for (const operation of operations) {
    if (operation.kind === "createStream") {
      applyOperations(streams, blockBytes, [operation], epochs, cache);
      continue;
    }
    const stream = streams.get(operation.stream);
    assert(stream !== undefined, () => `insert into missing stream '${operation.stream}'`);
    const count = operation.source.count;
    for (let start = 0; start < count;) {
      if (rowsSinceYield >= slices.rows) {
        await slices.yieldNow();
        rowsSinceYield = 0;
      }
      const reached = insertRows(stream, operation.source, epochs, start,
        Math.min(count, start + slices.rows - rowsSinceYield));
      rowsSinceYield += reached - start;
      start = reached;
    }
  }
}
