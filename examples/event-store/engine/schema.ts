import { EventStoreError, EventStoreErrorCode } from "./errors.js";

/**
 * A stream's schema: every event has a timestamp (integer µs, see
 * timestamp.ts) and one value per field. Numeric fields marked `aggregated`
 * get sum/min/max/first/last in every node of the aggregate index.
 */
export type FieldType = "int64" | "double" | "bool" | "string";

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** Only for int64 and double: keep sum, min, max, first, last in the index. */
  readonly aggregated?: boolean;
}

export interface StreamSchema {
  readonly fields: readonly FieldSpec[];
}

/** Names of streams and fields: 1 to 64 characters of [A-Za-z0-9_.-]. */
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const FIELD_COUNT_MAX = 64;

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

export function isNumericType(type: FieldType): boolean {
  return type === "int64" || type === "double";
}

/** Throws InvalidSchema naming the first problem; returns a normalized copy. */
export function checkSchema(streamName: string, schema: StreamSchema): StreamSchema {
  const fail = (text: string): never => {
    throw new EventStoreError(EventStoreErrorCode.InvalidSchema,
      `stream '${streamName}': ${text}`);
  };
  if (!isValidName(streamName)) fail("stream name must match [A-Za-z0-9_.-]{1,64}");
  if (!Array.isArray(schema.fields)) fail("schema.fields must be an array");
  if (schema.fields.length > FIELD_COUNT_MAX) {
    fail(`${schema.fields.length} fields, at most ${FIELD_COUNT_MAX}`);
  }
  const seen = new Set<string>();
  const fields: FieldSpec[] = [];
  schema.fields.forEach((field, position) => {
    if (typeof field.name !== "string" || !isValidName(field.name)) {
      fail(`field #${position}: name must match [A-Za-z0-9_.-]{1,64}`);
    }
    if (field.name === "timestamp") fail(`field #${position}: 'timestamp' is reserved`);
    if (seen.has(field.name)) fail(`field '${field.name}' appears twice`);
    seen.add(field.name);
    if (!["int64", "double", "bool", "string"].includes(field.type)) {
      fail(`field '${field.name}': unknown type '${String(field.type)}'`);
    }
    const aggregated = field.aggregated === true;
    if (aggregated && !isNumericType(field.type)) {
      fail(`field '${field.name}': only int64 and double fields can be aggregated`);
    }
    fields.push({ name: field.name, type: field.type, aggregated });
  });
  return { fields };
}

/** Indexes (into schema.fields) of the aggregated fields, in schema order. */
export function aggregatedFieldIndexes(schema: StreamSchema): number[] {
  const indexes: number[] = [];
  schema.fields.forEach((field, index) => {
    if (field.aggregated === true) indexes.push(index);
  });
  return indexes;
}
