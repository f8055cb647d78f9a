import { createBlockLayout, type BlockLayout } from "./block-layout.js";
import type { CheckedOperation } from "./checked-operation.js";
import { EventStoreError, EventStoreErrorCode } from "./errors.js";
import { checkInsert, rememberedSource } from "./event-check.js";
import type { Operation } from "./operation.js";
import { checkSchema } from "./schema.js";
import type { Stream } from "./stream.js";

/**
 * Checks a whole batch before anything is written, so a batch applies
 * entirely or not at all: streams exist (or are created earlier in the same
 * batch), names are free, every event matches its schema.
 */
export function checkBatch(streams: ReadonlyMap<string, Stream>, blockBytes: number,
  operations: readonly Operation[]): CheckedOperation[] {
  if (!Array.isArray(operations)) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument, "operations must be an array");
  }
  const created = new Map<string, BlockLayout>();
  return operations.map((operation, index): CheckedOperation => {
    if (operation.kind === "createStream") {
      if (streams.has(operation.stream) || created.has(operation.stream)) {
        throw new EventStoreError(EventStoreErrorCode.StreamExists,
          `operation #${index}: stream '${operation.stream}' already exists`);
      }
      const schema = checkSchema(operation.stream, operation.schema);
      created.set(operation.stream, createBlockLayout(schema, blockBytes));
      return { kind: "createStream", stream: operation.stream, schema };
    }
    if (operation.kind === "insert") {
      const layout = created.get(operation.stream) ?? streams.get(operation.stream)?.layout;
      if (layout === undefined) {
        throw new EventStoreError(EventStoreErrorCode.UnknownStream,
          `operation #${index}: no stream '${operation.stream}'`);
      }
      return { kind: "insert", stream: operation.stream, layout,
        source: rememberedSource(layout, operation) ?? checkInsert(layout, operation, index) };
    }
    const other: { readonly kind?: unknown } = operation;
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
      `operation #${index}: unknown kind '${String(other.kind)}'`);
  });
}
