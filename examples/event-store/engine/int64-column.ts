import { corrupt } from "./errors.js";

/**
 * int64 columns on disk: little-endian two's complement, written through an
 * Int32Array view (low word, high word) so no bigint is made per value. In
 * memory the values are doubles holding safe integers (timestamp.ts).
 * The host must be little-endian (checked once at module load).
 * @internal
 */
const TWO_POWER_32 = 4294967296;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("the event store engine needs a little-endian host");
}

export function writeInt64s(values: ArrayLike<number>, from: number, to: number,
  words: Int32Array, wordAt: number): void {
  let word = wordAt;
  for (let row = from; row < to; row++) {
    const value = values[row]!;
    const high = Math.floor(value / TWO_POWER_32);
    words[word++] = (value - high * TWO_POWER_32) | 0;
    words[word++] = high;
  }
}

/** Reads `count` int64s; values outside the safe range are corruption. */
export function readInt64s(words: Int32Array, wordAt: number, count: number,
  target: Float64Array, file: string, byteOffset: number): void {
  let word = wordAt;
  for (let row = 0; row < count; row++) {
    const low = words[word++]! >>> 0;
    const high = words[word++]!;
    const value = high * TWO_POWER_32 + low;
    if ((high >= 2097151 || high <= -2097152) && !Number.isSafeInteger(value)) {
      throw corrupt(`int64 value ${high}:${low} outside the safe integer range`, file,
        byteOffset + (word - wordAt - 2) * 4);
    }
    target[row] = value;
  }
}

export function writeFloat64s(values: ArrayLike<number>, from: number, to: number,
  target: Float64Array, at: number): void {
  if (values instanceof Float64Array) {
    target.set(values.subarray(from, to), at);
    return;
  }
  for (let row = from; row < to; row++) target[at + row - from] = values[row]!;
}
