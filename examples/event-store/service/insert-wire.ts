import { WireReader, WireType } from "./wire-reader.js";

/**
 * eventstore.v1.InsertRequest in columnar form, straight from and to its
 * protobuf binary (wire-compatible with the .proto; anyone else speaks plain
 * protobuf or JSON to the same rpc). The hot path of every insert — client
 * encode, the leader's proposal, the apply on every replica — handles events
 * as a few typed arrays: a packed double field is one copy of raw
 * little-endian f64s, never an object per event or per value.
 *
 * Decoding follows protobuf's rules: fields in any order, unknown fields
 * skipped, a repeated field packed or not (chunks concatenate), an embedded
 * message given twice merges, a oneof keeps its last case.
 */
export type WireValues =
  | { readonly case: "doubles"; readonly values: Float64Array }
  /**
   * int64 values as numbers; `beyondSafe`: the first one outside ±(2^53 − 1)
   * (the service refuses it), and then `exact`: every value as a bigint.
   */
  | { readonly case: "int64s"; readonly values: Float64Array; readonly beyondSafe?: bigint;
    readonly exact?: readonly bigint[] }
  | { readonly case: "bools"; readonly values: readonly boolean[] }
  | { readonly case: "strings"; readonly values: readonly string[] }
  | { readonly case: undefined };

export interface WireColumn {
  readonly name: string;
  readonly values: WireValues;
}

export interface WireEvents {
  readonly timestamps: Float64Array;
  readonly columns: readonly WireColumn[];
  /** Empty or one per event ("" = no id). */
  readonly ids: readonly string[];
}

/** InsertRequest, columnar (the Insert command as the state machine handles it). */
export interface InsertCommand {
  readonly stream: string;
  readonly events: WireEvents;
  readonly async: boolean;
  /**
   * Encoding only: the events are written in this order (row order[k] of
   * `events` as event k; a permutation of all rows), so the leader's merge
   * is sorted while it is encoded. Decoding never sets it.
   */
  readonly order?: Uint32Array;
}

/**
 * Malformed InsertRequest binary: which field (a path such as
 * "events.columns[2].doubles" or "events.ids[7]") and the byte offset, in
 * the decoded buffer, where the fault was found. Every decode error of this
 * codec is one (the node's binary Insert route answers it InvalidArgument).
 */
export class InsertWireError extends Error {
  override readonly name = "InsertWireError";
  readonly field: string;
  readonly offset: number;
  /** The fault without field and offset. */
  readonly problem: string;

  constructor(field: string, offset: number, problem: string) {
    super(`${field}: ${problem}${/at bytes? \d/.test(problem) ? "" : ` at byte ${offset}`}`);
    this.field = field;
    this.offset = offset;
    this.problem = problem;
  }
}

export function isInsertWireError(value: unknown): value is InsertWireError {
  return value instanceof Error && value.name === "InsertWireError";
}

/** `error`, thrown while reading `field` (the reader at `offset`), as an InsertWireError naming the path. */
function wireErrorIn(field: string, offset: number, error: unknown): InsertWireError {
  if (isInsertWireError(error)) {
    const inner = error.field.startsWith("[") ? error.field : `.${error.field}`;
    return new InsertWireError(`${field}${inner}`, error.offset, error.problem);
  }
  return new InsertWireError(field, offset, error instanceof Error ? error.message : String(error));
}

export const emptyWireEvents: WireEvents = {
  timestamps: new Float64Array(0), columns: [], ids: [],
};

/**
 * Where a decode puts its double columns instead of fresh memory (the
 * leader's reused column memory, insert-arena.ts): `count` rows of
 * timestamps and of each column it keeps (undefined: a fresh array).
 */
export interface DecodeTarget {
  readonly timestamps: Float64Array;
  column(name: string): Float64Array | undefined;
}

/**
 * Doubles of a repeated double field as they arrive: packed ranges (views
 * of the decoded bytes, copied by `finish` before the decode returns) and
 * single values.
 */
class DoubleParts {
  private readonly parts: (Uint8Array | number)[] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  addPacked(bytes: Uint8Array, start: number, end: number): void {
    if ((end - start) % 8 !== 0) {
      throw new Error(`packed doubles of ${end - start} bytes (not a multiple of 8)`);
    }
    this.parts.push(bytes.subarray(start, end));
    this.count += (end - start) / 8;
  }

  add(value: number): void {
    this.parts.push(value);
    this.count += 1;
  }

  /** The doubles, copied into `into` (exactly `length` of them) or else into fresh memory. */
  finish(into?: Float64Array): Float64Array {
    const only = this.parts[0];
    if (into === undefined && this.parts.length === 1 && only instanceof Uint8Array) {
      // A copy of exactly these bytes into a plain ArrayBuffer at offset 0 (aligned): a node Buffer's own
      // slice is a view of its pooled memory (INGRESS, session 9), and the ArrayBuffer's slice of a view
      // into a SharedArrayBuffer (a follower's received frame slab since e5ec129) is shared memory again,
      // which V8 does not count as external memory (FRAMES, session 11). TypedArray's slice copies both.
      return new Float64Array(Uint8Array.prototype.slice.call(only).buffer);
    }
    if (into !== undefined && into.length !== this.count) {
      throw new Error(`decode target of ${into.length} doubles for ${this.count}`);
    }
    const values = into ?? new Float64Array(this.count);
    let bytes: Uint8Array | undefined;
    let at = 0;
    for (const part of this.parts) {
      if (typeof part === "number") {
        values[at++] = part;
        continue;
      }
      // Byte-wise: the packed range need not be 8-byte aligned in the decoded bytes.
      bytes ??= new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      bytes.set(part, 8 * at);
      at += part.length / 8;
    }
    return values;
  }
}

function readDoubles(reader: WireReader, wireType: number, into: DoubleParts, what: string): void {
  if (wireType === WireType.LengthDelimited) {
    const { start, end } = reader.delimited();
    into.addPacked(reader.bytes, start, end);
  } else if (wireType === WireType.Bit64) {
    into.add(reader.float64());
  } else {
    throw new Error(`${what}: wire type ${wireType}, expected 1 or 2`);
  }
}

function expectWireType(wireType: number, expected: number, what: string): void {
  if (wireType !== expected) {
    throw new Error(`${what}: wire type ${wireType}, expected ${expected}`);
  }
}

/**
 * Reads a message's fields in [reader.pos, end), calling `onField` for each;
 * skips the rest. A fault inside a field is rethrown as an InsertWireError
 * whose path starts with `nameOf(fieldNo)` (called only then).
 */
function readFields(reader: WireReader, end: number,
  onField: (fieldNo: number, wireType: number) => boolean, nameOf: (fieldNo: number) => string): void {
  let fieldNo = 0;
  let fieldStart = reader.pos;
  try {
    while (reader.pos < end) {
      fieldStart = reader.pos;
      fieldNo = 0;
      const tag = reader.tag();
      fieldNo = tag.fieldNo;
      if (!onField(fieldNo, tag.wireType)) reader.skip(tag.wireType, fieldNo);
    }
  } catch (error) {
    throw wireErrorIn(fieldNo === 0 ? "tag" : nameOf(fieldNo), Math.max(reader.pos, fieldStart), error);
  }
  if (reader.pos !== end) {
    throw new Error(`message overruns its length by ${reader.pos - end} bytes`);
  }
}

const unknownField = (fieldNo: number): string => `field ${fieldNo}`;

function nested(reader: WireReader, wireType: number, what: string): WireReader {
  expectWireType(wireType, WireType.LengthDelimited, what);
  const { start, end } = reader.delimited();
  return new WireReader(reader.bytes, start, end);
}

const twoTo32 = 4294967296;

/** A column's oneof as it is read: the last case given wins; the same case again merges. */
class ColumnParts {
  name = "";
  case: WireValues["case"] = undefined;
  doubles = new DoubleParts();
  int64s: number[] = [];
  beyondSafe: bigint | undefined = undefined;
  exact: bigint[] | undefined = undefined;
  bools: boolean[] = [];
  strings: string[] = [];

  switchTo(next: Exclude<WireValues["case"], undefined>): void {
    if (this.case === next) return;
    this.case = next;
    this.doubles = new DoubleParts();
    this.int64s = [];
    this.beyondSafe = undefined;
    this.exact = undefined;
    this.bools = [];
    this.strings = [];
  }

  addInt64(reader: WireReader): void {
    const { low, high } = reader.varint64();
    const signedHigh = high | 0;
    const value = signedHigh * twoTo32 + low;
    const safe = signedHigh >= -0x200000 && signedHigh < 0x200000 && Number.isSafeInteger(value);
    if (safe && this.exact === undefined) {
      this.int64s.push(value);
      return;
    }
    const exact = BigInt.asIntN(64, (BigInt(high) << 32n) | BigInt(low));
    if (!safe) this.beyondSafe ??= exact;
    this.exact ??= this.int64s.map((number) => BigInt(number));
    this.exact.push(exact);
    this.int64s.push(value);
  }

  /** `into`: where the doubles go when the case is doubles and the count is right (else fresh memory). */
  finish(into?: Float64Array): WireColumn {
    switch (this.case) {
      case "doubles": {
        const target = into !== undefined && into.length === this.doubles.length ? into : undefined;
        return { name: this.name, values: { case: "doubles", values: this.doubles.finish(target) } };
      }
      case "int64s": return { name: this.name, values: { case: "int64s",
        values: Float64Array.from(this.int64s),
        ...(this.beyondSafe === undefined ? {} : { beyondSafe: this.beyondSafe }),
        ...(this.exact === undefined ? {} : { exact: this.exact }) } };
      case "bools": return { name: this.name, values: { case: "bools", values: this.bools } };
      case "strings": return { name: this.name, values: { case: "strings", values: this.strings } };
      case undefined: return { name: this.name, values: { case: undefined } };
    }
  }
}

/** One of a column's value messages (DoubleValues …): field 1 holds the values. */
function readColumnValues(reader: WireReader, column: ColumnParts, fieldNo: number): void {
  const kind = (["doubles", "int64s", "bools", "strings"] as const)[fieldNo - 2]!;
  column.switchTo(kind);
  readFields(reader, reader.end, (valueNo, wireType) => {
    if (valueNo !== 1) return false;
    const what = `column '${column.name}' ${kind}`;
    if (kind === "doubles") { readDoubles(reader, wireType, column.doubles, what); return true; }
    if (kind === "strings") {
      expectWireType(wireType, WireType.LengthDelimited, what);
      column.strings.push(reader.string());
      return true;
    }
    const readOne = kind === "int64s" ? () => column.addInt64(reader) : () => {
      const { low, high } = reader.varint64();
      column.bools.push(low !== 0 || high !== 0);
    };
    if (wireType === WireType.Varint) { readOne(); return true; }
    const packed = nested(reader, wireType, what);
    const outer = reader.pos;
    reader.pos = packed.pos;
    while (reader.pos < packed.end) readOne();
    if (reader.pos !== packed.end) throw new Error(`${what}: packed varints overrun their length`);
    reader.pos = outer;
    return true;
  }, (valueNo) => (valueNo === 1 ? `values[${valueCount(column)}]` : unknownField(valueNo)));
}

/** Values read so far into the column's current case (the index of the next one). */
function valueCount(column: ColumnParts): number {
  switch (column.case) {
    case "doubles": return column.doubles.length;
    case "int64s": return column.int64s.length;
    case "bools": return column.bools.length;
    case "strings": return column.strings.length;
    case undefined: return 0;
  }
}

function readColumn(reader: WireReader): ColumnParts {
  const column = new ColumnParts();
  readFields(reader, reader.end, (fieldNo, wireType) => {
    if (fieldNo === 1) {
      expectWireType(wireType, WireType.LengthDelimited, "column name");
      column.name = reader.string();
      return true;
    }
    if (fieldNo < 2 || fieldNo > 5) return false;
    readColumnValues(nested(reader, wireType, `column '${column.name}' values`), column, fieldNo);
    return true;
  }, (fieldNo) => (fieldNo === 1 ? "name" : fieldNo >= 2 && fieldNo <= 5
    ? (["doubles", "int64s", "bools", "strings"] as const)[fieldNo - 2]! : unknownField(fieldNo)));
  return column;
}

/** Events, merged across repeated occurrences of the field that holds them. */
class EventsParts {
  readonly timestamps = new DoubleParts();
  readonly columns: ColumnParts[] = [];
  readonly ids: string[] = [];

  read(reader: WireReader): void {
    readFields(reader, reader.end, (fieldNo, wireType) => {
      switch (fieldNo) {
        case 1: readDoubles(reader, wireType, this.timestamps, "timestamps"); return true;
        case 2: this.columns.push(readColumn(nested(reader, wireType, "column"))); return true;
        case 3:
          expectWireType(wireType, WireType.LengthDelimited, "id");
          this.ids.push(reader.string());
          return true;
        default: return false;
      }
    }, (fieldNo) => {
      switch (fieldNo) {
        case 1: return `timestamps[${this.timestamps.length}]`;
        case 2: return `columns[${this.columns.length}]`;
        case 3: return `ids[${this.ids.length}]`;
        default: return unknownField(fieldNo);
      }
    });
  }

  /**
   * The events; with `targetOf`, the timestamps and each doubles column whose
   * count is the timestamps' go to `targetOf(count)` (asked once, after
   * every byte was read: a decode that fails reserves nothing).
   */
  finish(targetOf?: (count: number) => DecodeTarget | undefined): WireEvents {
    const count = this.timestamps.length;
    const target = targetOf !== undefined && count > 0 ? targetOf(count) : undefined;
    if (target === undefined) {
      return { timestamps: this.timestamps.finish(), columns: this.columns.map((column) => column.finish()), ids: this.ids };
    }
    // A name given twice (refused later) gets fresh memory the second time: never two columns in one target.
    const used = new Set<string>();
    const columns = this.columns.map((column) => {
      const fits = column.case === "doubles" && column.doubles.length === count && !used.has(column.name);
      const into = fits ? target.column(column.name) : undefined;
      if (into !== undefined) used.add(column.name);
      return column.finish(into);
    });
    return { timestamps: this.timestamps.finish(target.timestamps), columns, ids: this.ids };
  }
}

/** Decodes eventstore.v1.Events bytes (the payload of an Events field, without tag and length). */
export function decodeWireEvents(bytes: Uint8Array): WireEvents {
  return decodeWireEventsParts([bytes]);
}

/**
 * Decodes the occurrences of an InsertRequest's `events` field (each one's
 * payload, in arrival order) merged as protobuf merges a message given more
 * than once. A fault is an InsertWireError whose path starts with
 * "events" (or "events#2", the second occurrence …) and whose offset is
 * within that occurrence's bytes. With `targetOf`, the double columns go to
 * the memory it gives (EventsParts.finish); the decoded bytes are read only
 * during the call, never after it returns.
 */
export function decodeWireEventsParts(occurrences: readonly Uint8Array[],
  targetOf?: (count: number) => DecodeTarget | undefined): WireEvents {
  const parts = new EventsParts();
  occurrences.forEach((bytes, index) => {
    const reader = new WireReader(bytes);
    try {
      parts.read(reader);
    } catch (error) {
      throw wireErrorIn(index === 0 ? "events" : `events#${index + 1}`, reader.pos, error);
    }
  });
  return parts.finish(targetOf);
}

/** Decodes eventstore.v1.InsertRequest bytes; throws on malformed binary. */
export function decodeInsertCommand(bytes: Uint8Array): InsertCommand {
  const read = readInsertCommand(bytes);
  return { stream: read.stream, events: read.finish(), async: read.async };
}

/**
 * InsertRequest bytes read and checked (every fault thrown here, as by
 * decodeInsertCommand), its double columns not copied yet: `finish`
 * copies them, into `targetOf`'s memory when given (decodeWireEventsParts),
 * and may be called again (each call copies anew). Until then the result
 * holds views of `bytes`, which must not change meanwhile.
 */
export interface ReadInsertCommand {
  readonly stream: string;
  readonly async: boolean;
  finish(targetOf?: (count: number) => DecodeTarget | undefined): WireEvents;
}

export function readInsertCommand(bytes: Uint8Array): ReadInsertCommand {
  const reader = new WireReader(bytes);
  let stream = "";
  let async = false;
  const events = new EventsParts();
  readFields(reader, reader.end, (fieldNo, wireType) => {
    switch (fieldNo) {
      case 1:
        expectWireType(wireType, WireType.LengthDelimited, "stream");
        stream = reader.string();
        return true;
      case 2: events.read(nested(reader, wireType, "events")); return true;
      case 3: {
        expectWireType(wireType, WireType.Varint, "async");
        const { low, high } = reader.varint64();
        async = low !== 0 || high !== 0;
        return true;
      }
      default: return false;
    }
  }, (fieldNo) => (fieldNo === 1 ? "stream" : fieldNo === 2 ? "events" : fieldNo === 3 ? "async" : unknownField(fieldNo)));
  return { stream, async, finish: (targetOf) => events.finish(targetOf) };
}

/**
 * The request header in which the event store's client names an Insert's
 * stream (URI-encoded), so that the leader can refuse an insert it would
 * refuse anyway before it reads the body (insert-route.ts's
 * earlyInsertRefusal). Optional: a call without it is decided on its body,
 * as any client's; the body's `stream` is the one written to.
 */
export const insertStreamHeader = "eventstore-stream";

/**
 * The request header in which the event store's client also sends its
 * deadline as wall-clock time (Unix ms, decimal): connect-timeout-ms is
 * what is left when the request enters the connection, and a starved
 * leader parses the headers seconds later. A leader refuses an insert that
 * arrives well past it unread (insert-route.ts's earlyInsertRefusal).
 */
export const insertDeadlineHeader = "eventstore-deadline-unix-ms";
