import { assert } from "./assert.js";

/**
 * Reads a framed prefix out of a chunked byte stream whose chunk boundaries
 * mean nothing (a snapshot may be re-chunked by storage or transport), then
 * hands the remainder on as a stream without copying it.
 * @internal
 */
export interface ByteStreamReader {
  /** Exactly `length` bytes; fails if the stream ends first. */
  readExactly(length: number, what: string): Promise<Uint8Array>;
  /** A protobuf varint of at most 32 bits. */
  readVarint32(what: string): Promise<number>;
  /** Everything not read yet. Call once, after the last read. */
  rest(): AsyncIterable<Uint8Array>;
}

export function createByteStreamReader(chunks: AsyncIterable<Uint8Array>): ByteStreamReader {
  const iterator = chunks[Symbol.asyncIterator]();
  let buffered: Uint8Array = new Uint8Array(0);
  const fill = async (length: number, what: string): Promise<void> => {
    while (buffered.length < length) {
      const next = await iterator.next();
      assert(next.done !== true, () =>
        `snapshot stream ended inside ${what}: needed ${length} bytes, had ${buffered.length}`,
      );
      buffered = buffered.length === 0 ? next.value : concat(buffered, next.value);
    }
  };
  const take = (length: number): Uint8Array => {
    const taken = buffered.subarray(0, length);
    buffered = buffered.subarray(length);
    return taken;
  };
  return {
    async readExactly(length, what) {
      await fill(length, what);
      return take(length);
    },
    async readVarint32(what) {
      let value = 0;
      for (let shift = 0; shift < 35; shift += 7) {
        await fill(1, what);
        const byte = take(1)[0]!;
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) {
          assert(value <= 0xffff_ffff, () => `${what}: varint ${value} exceeds 32 bits`);
          return value;
        }
      }
      assert(false, `${what}: varint longer than 5 bytes`);
    },
    rest() {
      const leftover = buffered;
      buffered = new Uint8Array(0);
      return (async function* () {
        if (leftover.length > 0) yield leftover;
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) return;
          yield next.value;
        }
      })();
    },
  };
}

function concat(first: Uint8Array, second: Uint8Array): Uint8Array {
  const joined = new Uint8Array(first.length + second.length);
  joined.set(first, 0);
  joined.set(second, first.length);
  return joined;
}
