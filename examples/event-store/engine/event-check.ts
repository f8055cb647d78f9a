import { fixedRowBytes, type BlockLayout } from "./block-layout.js";
import { EventStoreError, EventStoreErrorCode } from "./errors.js";
import type { InsertOperation } from "./operation.js";
import type { RowSource, SourceColumn } from "./row-source.js";
import type { FieldSpec } from "./schema.js";
import { isValidTimestamp } from "./timestamp.js";
import { utf8Length } from "./utf8.js";

/**
 * The schema check of every insert: each event has a valid timestamp and one
 * value of the right type per field; numbers are finite, int64 values are
 * safe integers. Errors name the operation, the event's position and the field.
 */
export function checkInsert(layout: BlockLayout, operation: InsertOperation,
  operationIndex: number): RowSource {
  const where = `operation #${operationIndex} (insert into '${operation.stream}')`;
  const fail = (text: string): never => {
    throw new EventStoreError(EventStoreErrorCode.InvalidEvent, `${where}: ${text}`);
  };
  const timestamps = operation.timestamps;
  if (timestamps === null || typeof timestamps !== "object" ||
    !Number.isInteger(timestamps.length)) fail("timestamps must be an array");
  const count = timestamps.length;
  // Float64Array (every decoded insert): a monomorphic loop first; the checking loop below runs only
  // to name the bad event (the generic loop over ArrayLike<unknown> cost ~3-4 ns per value).
  for (let row = timestamps instanceof Float64Array && allSafeIntegers(timestamps) ? count : 0; row < count; row++) {
    if (!isValidTimestamp(timestamps[row])) {
      fail(`event ${row}: timestamp ${String(timestamps[row])} is not an integer µs ` +
        "in the safe range");
    }
  }
  for (const name of Object.keys(operation.columns)) {
    if (!layout.fields.some((field) => field.name === name)) fail(`unknown field '${name}'`);
  }
  const columns = layout.fields.map((field) => checkColumn(field, operation, count, fail));
  // Only when some string is not empty (the event store's _id of events without ids: all empty).
  const rowStringBytes = layout.stringCount === 0 || allStringsEmpty(columns, count) ? undefined :
    stringBytesPerRow(columns, count);
  const fixedBytes = fixedRowBytes(layout);
  for (let row = 0; rowStringBytes !== undefined && row < count; row++) {
    if (fixedBytes + rowStringBytes[row]! > layout.rowBytesMax) {
      fail(`event ${row}: ${fixedBytes + rowStringBytes[row]!} bytes, at most ` +
        `${layout.rowBytesMax} per event (an eighth of a block)`);
    }
  }
  return { count, timestamps, columns, rowStringBytes };
}

function checkColumn(field: FieldSpec, operation: InsertOperation, count: number,
  fail: (text: string) => never): SourceColumn {
  const values = operation.columns[field.name];
  if (values === undefined) fail(`event 0: field '${field.name}' is missing`);
  if (values === null || typeof values !== "object" || !Number.isInteger(values.length)) {
    fail(`field '${field.name}' must be an array`);
  }
  if (values.length < count) {
    fail(`event ${values.length}: field '${field.name}' is missing`);
  }
  if (values.length > count) {
    fail(`field '${field.name}' has ${values.length} values for ${count} events`);
  }
  const bad = (row: number, value: unknown, expected: string): never =>
    fail(`event ${row}: field '${field.name}' ` + (value === undefined ? "is missing" :
      `has ${describe(value)}, expected ${expected}`));
  switch (field.type) {
    case "int64":
      if (isIntegerColumn(values, bad)) return { kind: "number", values };
      break;
    case "double":
      if (isFiniteColumn(values, bad)) return { kind: "number", values };
      break;
    case "bool":
      if (isBooleanColumn(values, bad)) return { kind: "bool", values };
      break;
    case "string":
      if (isStringColumn(values, bad)) return { kind: "string", values };
      break;
  }
  return fail(`field '${field.name}': unknown type`);
}

type Bad = (row: number, value: unknown, expected: string) => never;

function isIntegerColumn(values: ArrayLike<unknown>, bad: Bad): values is ArrayLike<number> {
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      bad(row, value, "an integer in ±(2^53-1)");
    }
  }
  return true;
}

function isFiniteColumn(values: ArrayLike<unknown>, bad: Bad): values is ArrayLike<number> {
  if (values instanceof Float64Array && allFinite(values)) return true;
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (typeof value !== "number" || !Number.isFinite(value)) bad(row, value, "a finite number");
  }
  return true;
}

/** Whether every value is an integer in ±(2^53-1) (NaN fails both comparisons). */
function allSafeIntegers(values: Float64Array): boolean {
  for (let row = 0; row < values.length; row++) {
    const value = values[row]!;
    if (!(Math.abs(value) <= Number.MAX_SAFE_INTEGER) || Math.floor(value) !== value) return false;
  }
  return true;
}

/** Whether every value is finite: x * 0 is ±0 for a finite x and NaN for NaN or ±Infinity. */
function allFinite(values: Float64Array): boolean {
  let probe = 0;
  for (let row = 0; row < values.length; row++) probe += values[row]! * 0;
  return probe === 0;
}

function isBooleanColumn(values: ArrayLike<unknown>, bad: Bad): values is ArrayLike<boolean> {
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (typeof value !== "boolean") bad(row, value, "a boolean");
  }
  return true;
}

function isStringColumn(values: ArrayLike<unknown>, bad: Bad): values is ArrayLike<string> {
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (value === "") continue; // the common case (an event without a client id): no scan
    if (typeof value !== "string") bad(row, value, "a string");
    else if (utf8Length(value) < 0) bad(row, value, "well-formed UTF-16 (a lone surrogate)");
  }
  return true;
}

function allStringsEmpty(columns: readonly SourceColumn[], count: number): boolean {
  for (const column of columns) {
    if (column.kind !== "string") continue;
    const values = column.values;
    for (let row = 0; row < count; row++) if (values[row] !== "") return false;
  }
  return true;
}

function stringBytesPerRow(columns: readonly SourceColumn[], count: number): Uint32Array {
  const bytes = new Uint32Array(count);
  for (const column of columns) {
    if (column.kind !== "string") continue;
    for (let row = 0; row < count; row++) {
      const value = column.values[row]!;
      if (value !== "") bytes[row] = bytes[row]! + utf8Length(value);
    }
  }
  return bytes;
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === "number") return `the number ${String(value)}`;
  if (value === null) return "null";
  return `a value of type ${typeof value}`;
}

/** What createInsertChecker proved about an operation object, for applyBatch to reuse. */
interface RememberedCheck {
  readonly layout: BlockLayout;
  readonly source: RowSource;
  readonly columnCount: number;
}

const remembered = new WeakMap<InsertOperation, RememberedCheck>();

/** Remembers that `operation` passed checkInsert against `layout` with the result `source`. */
export function rememberCheck(layout: BlockLayout, operation: InsertOperation, source: RowSource): void {
  remembered.set(operation, { layout, source, columnCount: Object.keys(operation.columns).length });
}

/**
 * The RowSource of an earlier check of this very operation object against a
 * layout of the same row shape (fields, types, row size limit), if its
 * arrays are still the ones checked, with the lengths checked. (Values
 * changed in place inside those arrays are not noticed: a checked
 * operation is not to be modified.)
 */
export function rememberedSource(layout: BlockLayout, operation: InsertOperation): RowSource | undefined {
  const found = remembered.get(operation);
  if (found === undefined || !sameRowShape(found.layout, layout)) return undefined;
  const source = found.source;
  const count = source.count;
  if (operation.timestamps !== source.timestamps || operation.timestamps.length !== count ||
    Object.keys(operation.columns).length !== found.columnCount) return undefined;
  for (let index = 0; index < layout.fields.length; index++) {
    const values = operation.columns[layout.fields[index]!.name];
    if (values !== source.columns[index]!.values || values.length !== count) return undefined;
  }
  return source;
}

function sameRowShape(left: BlockLayout, right: BlockLayout): boolean {
  if (left === right) return true;
  if (left.rowBytesMax !== right.rowBytesMax || left.fields.length !== right.fields.length) return false;
  return left.fields.every((field, index) =>
    field.name === right.fields[index]!.name && field.type === right.fields[index]!.type);
}
