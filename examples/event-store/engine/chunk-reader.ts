import { corrupt } from "./errors.js";

/**
 * Reads exact byte counts from an async stream of chunks cut anywhere.
 * @internal
 */
export class ChunkReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  /** Bytes handed out so far (the offset of the next read in the stream). */
  offset = 0;

  constructor(chunks: AsyncIterable<Uint8Array>, private readonly origin: string) {
    this.iterator = chunks[Symbol.asyncIterator]();
  }

  /** The next `length` bytes in a fresh 8-aligned buffer; Corrupt if the stream ends first. */
  async read(length: number, what: string): Promise<Uint8Array> {
    while (this.bufferedBytes < length) {
      const next = await this.iterator.next();
      if (next.done === true) {
        throw corrupt(`snapshot ends inside ${what}: ${length} bytes needed, ` +
          `${this.bufferedBytes} left`, this.origin, this.offset);
      }
      if (!(next.value instanceof Uint8Array)) {
        throw corrupt("snapshot chunk is not a Uint8Array", this.origin, this.offset);
      }
      this.buffered.push(next.value);
      this.bufferedBytes += next.value.byteLength;
    }
    const result = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const head = this.buffered[0]!;
      const take = Math.min(head.byteLength, length - filled);
      result.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.byteLength) this.buffered.shift();
      else this.buffered[0] = head.subarray(take);
    }
    this.bufferedBytes -= length;
    this.offset += length;
    return result;
  }

  /** True when no byte is left. */
  async atEnd(): Promise<boolean> {
    while (this.bufferedBytes === 0) {
      const next = await this.iterator.next();
      if (next.done === true) return true;
      this.buffered.push(next.value);
      this.bufferedBytes += next.value.byteLength;
    }
    return false;
  }
}
