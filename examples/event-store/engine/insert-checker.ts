import { createBlockLayout } from "./block-layout.js";
import { checkInsert, rememberCheck } from "./event-check.js";
import type { InsertOperation } from "./operation.js";
import { checkSchema, type StreamSchema } from "./schema.js";

/**
 * Checks inserts into a stream of `schema` exactly as applyBatch would,
 * without a store: a leader's buffer refuses a bad insert before merging it
 * with others (one bad event would fail the whole merged batch). Throws
 * EventStoreError naming the event and the field. A store's applyBatch given
 * the same operation object (its arrays unchanged) for a stream of the same
 * fields reuses this check instead of checking every value again.
 */
export function createInsertChecker(stream: string, schema: StreamSchema,
  blockBytes: number): (operation: InsertOperation) => void {
  const layout = createBlockLayout(checkSchema(stream, schema), blockBytes);
  return (operation) => {
    rememberCheck(layout, operation, checkInsert(layout, operation, 0));
  };
}
