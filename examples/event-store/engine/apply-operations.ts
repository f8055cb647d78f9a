import { assert } from "./assert.js";
import type { CheckedOperation } from "./checked-operation.js";
import { createStream, type Stream } from "./stream.js";
import { insertRows, type WriteEpochs } from "./stream-insert.js";

/**
 * Applies checked operations to the in-memory state. Deterministic: the same
 * operations on the same state give the same blocks, bit for bit (no clock,
 * no randomness); cannot fail except on a broken invariant.
 */
export function applyOperations(streams: Map<string, Stream>, blockBytes: number,
  operations: readonly CheckedOperation[], epochs: WriteEpochs): void {
  for (const operation of operations) {
    if (operation.kind === "createStream") {
      assert(!streams.has(operation.stream), () => `stream '${operation.stream}' exists`);
      streams.set(operation.stream,
        createStream(operation.stream, operation.schema, blockBytes, epochs.current));
    } else {
      const stream = streams.get(operation.stream);
      assert(stream !== undefined, () => `insert into missing stream '${operation.stream}'`);
      insertRows(stream, operation.source, epochs);
    }
  }
}
