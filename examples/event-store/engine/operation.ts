import type { StreamSchema } from "./schema.js";

/**
 * What a batch carries: the commands of the replicated event store, in the
 * order they apply. Inserts are columnar (one array per field) so a batch of
 * a million events is a handful of arrays, not a million objects.
 */
/**
 * One field's values: numbers (a Float64Array or a number[]) for int64 and
 * double fields, booleans for bool, strings for string. Typed as unknown
 * elements because every element is checked against the schema on insert.
 */
export type ColumnInput = ArrayLike<unknown>;

export interface CreateStreamOperation {
  readonly kind: "createStream";
  readonly stream: string;
  readonly schema: StreamSchema;
}

export interface InsertOperation {
  readonly kind: "insert";
  readonly stream: string;
  /** Integer µs (timestamp.ts); any order — late events are accepted. */
  readonly timestamps: ArrayLike<number>;
  /** One column per schema field, keyed by field name, as long as `timestamps`. */
  readonly columns: Readonly<Record<string, ColumnInput>>;
}

export type Operation = CreateStreamOperation | InsertOperation;

/** An event as a plain object: the row form used by queries that return one event. */
export interface EventRow {
  readonly timestamp: number;
  readonly values: Readonly<Record<string, number | boolean | string>>;
}

/**
 * Builds an insert from row objects (convenient for small batches and
 * tests). Missing fields stay missing, so the schema check names them.
 */
export function insertFromRows(stream: string, fieldNames: readonly string[],
  rows: readonly EventRow[]): InsertOperation {
  const timestamps: number[] = [];
  const columns: Record<string, (number | boolean | string | undefined)[]> = {};
  for (const name of fieldNames) columns[name] = [];
  for (const row of rows) {
    timestamps.push(row.timestamp);
    for (const name of fieldNames) {
      const column = columns[name];
      // A missing value stays a hole, so the schema check names the event and the field.
      if (column !== undefined) column.length = timestamps.length;
      if (column !== undefined && name in row.values) {
        column[timestamps.length - 1] = row.values[name]!;
      }
    }
  }
  return { kind: "insert", stream, timestamps, columns };
}
