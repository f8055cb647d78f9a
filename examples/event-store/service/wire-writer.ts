/**
 * Writes protobuf binary into one buffer sized in advance (the hand codec of
 * the hot Insert message, insert-wire.ts): no chunk list, no per-value
 * allocation; a packed double array is one copy of its bytes.
 * @internal
 */
const isLittleEndian = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
if (!isLittleEndian) {
  throw new Error("the event store's wire codec assumes a little-endian machine");
}

const twoTo32 = 4294967296;

/**
 * The loop of WireWriter.float64sInOrder, in a function of its own that
 * touches no object's property: inside the method, V8 compiled the loop on
 * stack replacement before the store after it (`this.at = at`) had ever run,
 * and that code bailed out at the store ("insufficient type feedback") every
 * time it was entered — 287 deopts on the leader in one 8 s bench phase
 * (session 12, `--trace-deopt`). Returns the offset after the last value.
 */
function writeFloat64sInOrder(view: DataView, at: number, values: Float64Array, order: Uint32Array): number {
  for (let row = 0; row < order.length; row++) {
    view.setFloat64(at, values[order[row]!]!, true);
    at += 8;
  }
  return at;
}

export function varintBytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Low and high 32 bits (two's complement) of a safe integer. */
function int64Parts(value: number): { low: number; high: number } {
  const magnitude = Math.abs(value);
  const high = Math.floor(magnitude / twoTo32);
  const low = magnitude - high * twoTo32;
  if (value >= 0) return { low, high };
  const negatedLow = (~low + 1) >>> 0;
  return { low: negatedLow, high: (~high + (negatedLow === 0 ? 1 : 0)) >>> 0 };
}

/** Encoded size of an int64 varint (negative numbers take 10 bytes, as in protobuf). */
export function int64Bytes(value: number): number {
  if (value >= 0 && value < 0x10000000) return varintBytes(value);
  if (value < 0) return 10;
  let bytes = 1;
  for (let rest = Math.floor(value / 128); rest > 0; rest = Math.floor(rest / 128)) bytes++;
  return bytes;
}

/** UTF-8 length of a string; throws on a lone surrogate (not encodable as well-formed UTF-8). */
export function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) { bytes += 1; continue; }
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(index + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) {
        throw new Error(`string with a lone surrogate at ${index}`);
      }
      bytes += 2;
      index++;
      continue;
    }
    if (code >= 0xdc00 && code <= 0xdfff) {
      throw new Error(`string with a lone surrogate at ${index}`);
    }
    bytes += 2;
  }
  return bytes;
}

const encoder = new TextEncoder();

export class WireWriter {
  readonly bytes: Uint8Array;
  at = 0;

  /** A fresh zeroed buffer of `length` bytes, or `buffer` (not zeroed: every byte is written before finish). */
  constructor(length: number | Uint8Array) {
    this.bytes = typeof length === "number" ? new Uint8Array(length) : length;
  }

  uint32(value: number): void {
    const bytes = this.bytes;
    while (value >= 0x80) {
      bytes[this.at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    bytes[this.at++] = value;
  }

  int64(value: number): void {
    if (value >= 0 && value < 0x10000000) { this.uint32(value); return; }
    let { low, high } = int64Parts(value);
    const bytes = this.bytes;
    while (high !== 0 || low >= 0x80) {
      bytes[this.at++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    bytes[this.at++] = low;
  }

  /** A string's bytes (its length written before by the caller's layout). */
  utf8(text: string, length: number): void {
    if (length === text.length) {
      const bytes = this.bytes;
      for (let index = 0; index < length; index++) bytes[this.at++] = text.charCodeAt(index);
      return;
    }
    const { written } = encoder.encodeInto(text, this.bytes.subarray(this.at, this.at + length));
    if (written !== length) {
      throw new Error(`string encoded to ${written} bytes, expected ${length}`);
    }
    this.at += length;
  }

  private view: DataView | undefined;

  /**
   * values[order[0]], values[order[1]], … as raw little-endian f64s: the
   * leader's merge permuted while it is written (no permuted copy first;
   * a DataView, as the field's bytes need not be 8-byte aligned).
   */
  float64sInOrder(values: Float64Array, order: Uint32Array): void {
    const view = this.view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.at = writeFloat64sInOrder(view, this.at, values, order);
  }

  /** Doubles as raw little-endian f64s (a packed field's payload): one copy. */
  float64s(values: Float64Array): void {
    this.bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), this.at);
    this.at += values.byteLength;
  }

  finish(): Uint8Array {
    if (this.at !== this.bytes.length) {
      throw new Error(`wire writer: wrote ${this.at} bytes of ${this.bytes.length} sized`);
    }
    return this.bytes;
  }
}
