import { create } from "@bufbuild/protobuf";
import {
  StateMachineError,
  StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import type { FieldSpec as EngineField, ScanResult, StreamSchema } from "../engine/index.js";
import { ColumnSchema, EventsSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import type { Column, Events } from "../gen/eventstore/v1/eventstore_pb.js";
import type { WireEvents, WireValues } from "./insert-wire.js";

/** One field's values: numbers (int64 and double fields), booleans or strings. */
export type ColumnValues = Float64Array | readonly number[] | readonly boolean[] | readonly string[];

/**
 * Events as the service handles them: one timestamp array, one value array
 * per user field, one id per event ("" = none). The proto form (Events) is
 * what crosses the network and the log; this form is what the engine takes.
 * Columnar throughout: no object per event.
 */
export interface ColumnarEvents {
  readonly timestamps: Float64Array | readonly number[];
  readonly columns: Readonly<Record<string, ColumnValues>>;
  readonly ids: readonly string[];
}

/** The hidden field holding each event's client id (names starting with '_' are reserved). */
export const EVENT_ID_FIELD = "_id";

function invalid(text: string): StateMachineError {
  return new StateMachineError(StateMachineErrorCode.InvalidArgument, text);
}

/** Values of a proto column as the engine takes them; throws naming a type mismatch. */
function columnValues(stream: string, field: EngineField, column: Column): ColumnValues {
  const where = `insert into '${stream}': column '${field.name}' (${field.type})`;
  const values = column.values;
  const numeric = field.type === "double" || field.type === "int64";
  switch (values.case) {
    case "doubles":
      if (numeric) return values.value.values;
      break;
    case "int64s":
      if (numeric) {
        return values.value.values.map((value) => {
          const number = Number(value);
          if (!Number.isSafeInteger(number)) throw invalid(`${where}: ${value} is beyond ±(2^53 − 1)`);
          return number;
        });
      }
      break;
    case "bools":
      if (field.type === "bool") return values.value.values;
      break;
    case "strings":
      if (field.type === "string") return values.value.values;
      break;
    case undefined:
      throw invalid(`${where} has no values`);
  }
  throw invalid(`${where} holds ${values.case}`);
}

/**
 * Checks the shape of proto events against the stream's user fields (every
 * field once, nothing else, equal lengths, ids empty or one per event) and
 * converts them (no copy of double columns). Values are checked by the
 * engine's insert check.
 */
export function toColumnar(stream: string, events: Events | undefined,
  fields: readonly EngineField[]): ColumnarEvents {
  const columns = (events?.columns ?? []).map((column) => ({ name: column.name,
    values: (field: EngineField) => columnValues(stream, field, column) }));
  return checkedColumnar(stream, events?.timestamps ?? [], columns, events?.ids ?? [], fields);
}

/** Values of a wire column as the engine takes them (Float64Arrays stay); throws on a mismatch. */
function wireColumnValues(stream: string, field: EngineField, values: WireValues): ColumnValues {
  const where = `insert into '${stream}': column '${field.name}' (${field.type})`;
  const numeric = field.type === "double" || field.type === "int64";
  switch (values.case) {
    case "doubles":
      if (numeric) return values.values;
      break;
    case "int64s":
      if (numeric && values.beyondSafe !== undefined) {
        throw invalid(`${where}: ${values.beyondSafe} is beyond ±(2^53 − 1)`);
      }
      if (numeric) return values.values;
      break;
    case "bools":
      if (field.type === "bool") return values.values;
      break;
    case "strings":
      if (field.type === "string") return values.values;
      break;
    case undefined:
      throw invalid(`${where} has no values`);
  }
  throw invalid(`${where} holds ${values.case}`);
}

/**
 * `toColumnar` for events decoded by the hand codec (the apply on every
 * replica): the same checks and errors, and the Float64Arrays go to the
 * engine as they are (copied into its blocks by `set`, no number per value).
 */
export function wireToColumnar(stream: string, events: WireEvents,
  fields: readonly EngineField[]): ColumnarEvents {
  const columns = events.columns.map((column) => ({ name: column.name,
    values: (field: EngineField) => wireColumnValues(stream, field, column.values) }));
  return checkedColumnar(stream, events.timestamps, columns, events.ids, fields);
}

/** A column of an insert before its check: its values as the field's type wants them. */
interface UncheckedColumn {
  readonly name: string;
  readonly values: (field: EngineField) => ColumnValues;
}

function checkedColumnar(stream: string, timestamps: Float64Array | readonly number[],
  given: readonly UncheckedColumn[], ids: readonly string[],
  fields: readonly EngineField[]): ColumnarEvents {
  const count = timestamps.length;
  const byName = new Map<string, UncheckedColumn>();
  for (const column of given) {
    if (byName.has(column.name)) throw invalid(`insert into '${stream}': column '${column.name}' appears twice`);
    byName.set(column.name, column);
  }
  const columns: Record<string, ColumnValues> = {};
  for (const field of fields) {
    const column = byName.get(field.name);
    if (column === undefined) throw invalid(`insert into '${stream}': no column for field '${field.name}'`);
    byName.delete(field.name);
    const values = column.values(field);
    if (values.length !== count) {
      throw invalid(`insert into '${stream}': column '${field.name}' has ${values.length} values, ` +
        `expected ${count} (one per timestamp)`);
    }
    columns[field.name] = values;
  }
  const unknown = [...byName.keys()];
  if (unknown.length > 0) throw invalid(`insert into '${stream}': unknown field '${unknown[0]}'`);
  if (ids.length !== 0 && ids.length !== count) {
    throw invalid(`insert into '${stream}': ${ids.length} ids for ${count} events (give none or one per event)`);
  }
  return { timestamps, columns, ids: ids.length === 0 ? sharedNoIds(count) : ids };
}

/** Empty-ids arrays by length, shared (a few lengths kept): never written, only read. */
const noIdArrays = new Map<number, readonly string[]>();

/**
 * `count` empty ids ("" = none), one array per length shared by every insert
 * without ids. A fresh one per applied entry (16,384 events: 128 KiB, a large
 * object, allocated in the old generation) was garbage for the next full
 * collection on every replica, ~3 MiB/s at 400k events/s.
 */
function sharedNoIds(count: number): readonly string[] {
  let ids = noIdArrays.get(count);
  if (ids === undefined) {
    if (noIdArrays.size >= 8) noIdArrays.clear();
    // Not frozen: Array.prototype.some on a frozen array cost ~55 ns per element (MergeScratch.noIds).
    ids = new Array<string>(count).fill("");
    noIdArrays.set(count, ids);
  }
  return ids;
}

function wireValues(field: EngineField, values: ColumnValues | undefined): WireValues {
  // int64 fields travel as doubles inside the cluster: a plain copy, and the
  // Insert executor takes doubles for int64 fields (the engine checks they are integers).
  if (values instanceof Float64Array) return { case: "doubles", values };
  const list: readonly unknown[] = values ?? [];
  switch (field.type) {
    case "bool": return { case: "bools", values: list.filter((value) => typeof value === "boolean") };
    case "string": return { case: "strings", values: list.filter((value) => typeof value === "string") };
    default: return { case: "doubles", values: Float64Array.from(list.filter((value) => typeof value === "number")) };
  }
}

/** The wire form of checked columnar events (the merged batch the leader proposes). */
export function columnarToWire(events: ColumnarEvents, fields: readonly EngineField[]): WireEvents {
  const anyId = hasId(events.ids);
  return {
    timestamps: events.timestamps instanceof Float64Array ? events.timestamps : Float64Array.from(events.timestamps),
    columns: fields.map((field) => ({ name: field.name, values: wireValues(field, events.columns[field.name]) })),
    ids: anyId ? events.ids : [],
  };
}

function toColumn(field: EngineField, values: ArrayLike<unknown>): Column {
  const list = Array.from(values);
  switch (field.type) {
    case "double":
      return create(ColumnSchema, { name: field.name, values: { case: "doubles", value: { values: list as number[] } } });
    case "int64":
      return create(ColumnSchema, {
        name: field.name,
        values: { case: "int64s", value: { values: list.map((value) => BigInt(value as number)) } },
      });
    case "bool":
      return create(ColumnSchema, { name: field.name, values: { case: "bools", value: { values: list as boolean[] } } });
    case "string":
      return create(ColumnSchema, { name: field.name, values: { case: "strings", value: { values: list as string[] } } });
  }
}

/** Events of a query answer, as the engine's scan returns them. */
interface ScannedEvents {
  readonly timestamps: ArrayLike<number>;
  readonly columns: Readonly<Record<string, ArrayLike<unknown>>>;
  readonly ids: readonly string[];
}

/** The proto form of scanned events (query answers). */
function toEvents(events: ScannedEvents, fields: readonly EngineField[]): Events {
  const anyId = events.ids.some((id) => id !== "");
  return create(EventsSchema, {
    timestamps: Array.from(events.timestamps),
    columns: fields.map((field) => toColumn(field, events.columns[field.name] ?? [])),
    ids: anyId ? [...events.ids] : [],
  });
}

/** A page of a scan as proto events; the hidden id field becomes `ids`. */
export function scanToEvents(result: ScanResult, schema: StreamSchema): Events {
  const userFields = schema.fields.filter((field) => field.name !== EVENT_ID_FIELD);
  const ids = result.columns[EVENT_ID_FIELD] as string[] | undefined;
  return toEvents({
    timestamps: result.timestamps,
    columns: Object.fromEntries(userFields.map((field) => [field.name, result.columns[field.name] ?? []])),
    ids: ids ?? new Array<string>(result.count).fill(""),
  }, userFields);
}

/**
 * The stable sorting permutation of `keys` (a natural merge sort: the parts
 * of a merged batch are sorted runs, so this costs O(n log runs)); undefined
 * when `keys` is already in order.
 */
export function sortedOrder(keys: Float64Array, scratch?: MergeScratch): Uint32Array | undefined {
  const count = keys.length;
  const runStarts: number[] = [0];
  for (let index = 1; index < count; index++) if (keys[index]! < keys[index - 1]!) runStarts.push(index);
  if (runStarts.length === 1) return undefined;
  // Each pass merges pairs of runs, from one array into the other: the order ends in the first one
  // after an even number of passes. That one is fresh (the caller keeps it); the other may be scratch.
  let passes = 0;
  for (let runs = runStarts.length; runs > 1; runs = Math.ceil(runs / 2)) passes += 1;
  const result = new Uint32Array(count);
  const other = scratch?.indexes(count) ?? new Uint32Array(count);
  let source = passes % 2 === 0 ? result : other;
  for (let index = 0; index < count; index++) source[index] = index;
  let target = source === result ? other : result;
  let starts = runStarts;
  while (starts.length > 1) {
    const merged: number[] = [];
    for (let run = 0; run < starts.length; run += 2) {
      const left = starts[run]!;
      const middle = run + 1 < starts.length ? starts[run + 1]! : count;
      const right = run + 2 < starts.length ? starts[run + 2]! : count;
      merged.push(left);
      let a = left;
      let b = middle;
      let at = left;
      // Ties take the left run first: equal timestamps keep their arrival order.
      while (a < middle && b < right) target[at++] = keys[source[b]!]! < keys[source[a]!]! ? source[b++]! : source[a++]!;
      while (a < middle) target[at++] = source[a++]!;
      while (b < right) target[at++] = source[b++]!;
    }
    [source, target] = [target, source];
    starts = merged;
  }
  return source;
}

/**
 * Float64Arrays that live only until the next merge with the same scratch:
 * the leader encodes a merged batch right away and drops it, so the merge's
 * columns and its concatenation step reuse one buffer instead of two new
 * arrays per column (each a fresh zeroed backing store outside the heap:
 * page faults, and external memory that drives V8's major GCs).
 */
export class MergeScratch {
  private buffer = new Float64Array(0);
  private used = 0;

  /** Starts a merge: what earlier merges took is handed out again. */
  reset(): void {
    this.used = 0;
  }

  private readonly noIdArrays = new Map<number, readonly string[]>();
  private indexBuffer = new Uint32Array(0);

  /** `length` indexes, not zeroed: sortedOrder's working array, valid until the next call. */
  indexes(length: number): Uint32Array {
    if (this.indexBuffer.length < length) this.indexBuffer = new Uint32Array(Math.max(length, 2 * this.indexBuffer.length));
    return this.indexBuffer.subarray(0, length);
  }

  /** `length` empty ids ("" = none), shared by the merges of that length (a few lengths kept). */
  noIds(length: number): readonly string[] {
    let ids = this.noIdArrays.get(length);
    if (ids === undefined) {
      if (this.noIdArrays.size >= 8) this.noIdArrays.clear();
      // Not frozen: Array.prototype.some on a frozen array cost ~55 ns per element here.
      ids = new Array<string>(length).fill("");
      this.noIdArrays.set(length, ids);
    }
    return ids;
  }

  /** `length` doubles, not zeroed; valid until the next reset. */
  take(length: number): Float64Array {
    if (this.used + length > this.buffer.length) {
      // Views taken before keep the old buffer; the next merge uses the new one alone.
      this.buffer = new Float64Array(Math.max(2 * this.buffer.length, this.used + length, 1024));
    }
    const view = this.buffer.subarray(this.used, this.used + length);
    this.used += length;
    return view;
  }
}

/**
 * The parts as one view when they lie back to back in one buffer (inserts
 * decoded into the leader's column memory, insert-arena.ts), else undefined.
 */
function adjacentView(parts: readonly ArrayLike<number>[], total: number): Float64Array | undefined {
  const first = parts[0];
  if (!(first instanceof Float64Array)) return undefined;
  let end = first.byteOffset + first.byteLength;
  for (let index = 1; index < parts.length; index++) {
    const part = parts[index];
    if (!(part instanceof Float64Array) || part.buffer !== first.buffer || part.byteOffset !== end) return undefined;
    end += part.byteLength;
  }
  return new Float64Array(first.buffer, first.byteOffset, total);
}

function concatNumbers(parts: readonly ArrayLike<number>[], total: number,
  order: Uint32Array | undefined, scratch: MergeScratch | undefined): Float64Array {
  const only = parts.length === 1 ? parts[0] : undefined;
  // Back to back already: no gather; in order, the view itself (read before the parts' memory is released).
  const adjacent = parts.length > 1 ? adjacentView(parts, total) : undefined;
  let flat: ArrayLike<number>;
  if (adjacent !== undefined) {
    if (order === undefined) return adjacent;
    flat = adjacent;
  } else if (order !== undefined && only !== undefined) {
    flat = only;
  } else {
    const joined = order === undefined ? scratch?.take(total) ?? new Float64Array(total)
      : scratch === undefined ? new Float64Array(total) : concatScratch(scratch, total);
    let at = 0;
    for (const part of parts) { joined.set(part, at); at += part.length; }
    if (order === undefined) return joined;
    flat = joined;
  }
  const out = scratch?.take(total) ?? new Float64Array(total);
  for (let index = 0; index < total; index++) out[index] = flat[order![index]!]!;
  return out;
}

/** The concatenation step's own buffer (reused by every column of a merge). */
const concatBuffers = new WeakMap<MergeScratch, Float64Array>();

function concatScratch(scratch: MergeScratch, total: number): Float64Array {
  let buffer = concatBuffers.get(scratch);
  if (buffer === undefined || buffer.length < total) {
    buffer = new Float64Array(Math.max(total, 2 * (buffer?.length ?? 0)));
    concatBuffers.set(scratch, buffer);
  }
  return buffer.subarray(0, total);
}

/**
 * The parts one after the other, in `order` if given. An indexed loop:
 * Array.prototype.flat cost ~90 ns per value (4 parts of 4096 ids: 1.5 ms
 * per merge, the leader's "concatNumbers" cost in the session 7 profiles).
 */
function concatValues<Value>(parts: readonly (readonly Value[])[], order: Uint32Array | undefined): Value[] {
  let total = 0;
  for (const part of parts) total += part.length;
  let flat: readonly Value[];
  if (parts.length === 1) {
    flat = parts[0]!;
  } else {
    const joined = new Array<Value>(total);
    let at = 0;
    for (const part of parts) for (let index = 0; index < part.length; index++) joined[at++] = part[index]!;
    if (order === undefined) return joined;
    flat = joined;
  }
  if (order === undefined) return flat.slice();
  const out = new Array<Value>(total);
  for (let index = 0; index < total; index++) out[index] = flat[order[index]!]!;
  return out;
}

/** Whether any event of the parts has a client id ("" = none). */
function anyId(parts: readonly ColumnarEvents[]): boolean {
  for (const part of parts) if (hasId(part.ids)) return true;
  return false;
}

/** Whether any id is not "" (an indexed loop: `some` with a callback cost ~12 ns per id). */
function hasId(ids: readonly string[]): boolean {
  for (let index = 0; index < ids.length; index++) if (ids[index] !== "") return true;
  return false;
}

const isBoolean = (value: unknown): value is boolean => typeof value === "boolean";
const isString = (value: unknown): value is string => typeof value === "string";

/** Whether every value is a number: the check without a copy (the merge takes them as they are). */
function numbersOnly(values: ArrayLike<unknown>): values is ArrayLike<number> {
  for (let row = 0; row < values.length; row++) {
    if (typeof values[row] !== "number") {
      throw new Error(`column value ${row} is of type ${typeof values[row]}: not checked?`);
    }
  }
  return true;
}

/** The values of a column, all of one type (the buffer admits only checked inserts). */
function valuesOf<Value>(values: ArrayLike<unknown>, is: (value: unknown) => value is Value): Value[] {
  const typed: Value[] = [];
  for (let row = 0; row < values.length; row++) {
    const value = values[row];
    if (!is(value)) throw new Error(`column value ${row} is of type ${typeof value}: not checked?`);
    typed.push(value);
  }
  return typed;
}

/**
 * Concatenates batches and sorts the events by timestamp (stable: equal
 * timestamps keep their arrival order) — the leader's merge of buffered
 * inserts. Numeric columns stay Float64Arrays (one copy, one permutation).
 * With `scratch`, the numeric columns are views of its buffer, valid until
 * its next merge (the leader encodes the batch at once). Parts whose
 * columns lie back to back in one buffer are read as one view, without a
 * gather; already in order, a merged column may be that view itself: valid
 * while the parts' memory is.
 */
export function mergeSorted(parts: readonly ColumnarEvents[], fields: readonly EngineField[],
  scratch?: MergeScratch): {
  readonly events: ColumnarEvents;
  /** order[k] = the position, in the concatenation of the parts, of merged event k. */
  readonly order: Uint32Array | undefined;
} {
  scratch?.reset();
  let total = 0;
  for (const part of parts) total += part.timestamps.length;
  const flatTimestamps = concatNumbers(parts.map((part) => part.timestamps), total, undefined, scratch);
  const order = sortedOrder(flatTimestamps, scratch);
  const timestamps = order === undefined ? flatTimestamps : concatNumbers([flatTimestamps], total, order, scratch);
  const columns: Record<string, ColumnValues> = {};
  for (const field of fields) {
    const values = parts.map((part) => part.columns[field.name] ?? []);
    if (field.type === "bool") {
      columns[field.name] = concatValues(values.map((part) => valuesOf(part, isBoolean)), order);
    } else if (field.type === "string") {
      columns[field.name] = concatValues(values.map((part) => valuesOf(part, isString)), order);
    } else {
      columns[field.name] = concatNumbers(values.map((part) =>
        (part instanceof Float64Array || numbersOnly(part) ? part : [])), total, order, scratch);
    }
  }
  // Most inserts carry no ids: then no concatenation and no permutation of 16k empty strings.
  const ids = anyId(parts) ? concatValues(parts.map((part) => part.ids), order)
    : scratch?.noIds(total) ?? new Array<string>(total).fill("");
  return { events: { timestamps, columns, ids }, order };
}

/**
 * The leader's merge without its permutation: the parts one after the
 * other and the stable order that sorts them by timestamp, which the
 * encoder applies while it writes the proposal (InsertCommand.order) —
 * no permuted copy of the columns first. Numeric columns are a part itself
 * (one part), one view of parts lying back to back in one buffer, or else
 * gathered into `scratch` (valid until its next merge); read them before
 * the parts' memory is released.
 */
export function concatWithOrder(parts: readonly ColumnarEvents[], fields: readonly EngineField[],
  scratch?: MergeScratch): {
  readonly events: ColumnarEvents;
  /** order[k] = the row, in `events`, of the k-th event by timestamp; undefined: already in order. */
  readonly order: Uint32Array | undefined;
} {
  scratch?.reset();
  let total = 0;
  for (const part of parts) total += part.timestamps.length;
  const numbers = (values: readonly ArrayLike<number>[]): Float64Array => {
    const only = values.length === 1 ? values[0] : undefined;
    return only instanceof Float64Array ? only : concatNumbers(values, total, undefined, scratch);
  };
  const timestamps = numbers(parts.map((part) => part.timestamps));
  const order = sortedOrder(timestamps, scratch);
  const columns: Record<string, ColumnValues> = {};
  for (const field of fields) {
    const values = parts.map((part) => part.columns[field.name] ?? []);
    if (field.type === "bool") {
      columns[field.name] = concatValues(values.map((part) => valuesOf(part, isBoolean)), undefined);
    } else if (field.type === "string") {
      columns[field.name] = concatValues(values.map((part) => valuesOf(part, isString)), undefined);
    } else {
      columns[field.name] = numbers(values.map((part) =>
        (part instanceof Float64Array || numbersOnly(part) ? part : [])));
    }
  }
  const ids = anyId(parts) ? concatValues(parts.map((part) => part.ids), undefined)
    : scratch?.noIds(total) ?? new Array<string>(total).fill("");
  return { events: { timestamps, columns, ids }, order };
}
