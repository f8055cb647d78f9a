import { assert } from "./assert.js";

/** Scratch buffers start small (a tiny commit stays cheap) and double up to this. */
const scratchBytesMax = 256 * 1024;
const scratchBytesFirst = 4 * 1024;
/**
 * Data at most this long is copied next to its fields; longer data is referenced, not
 * copied. Copying small data costs less than a CRC call and an iovec per piece.
 */
const copyLimitBytes = 32 * 1024;

/**
 * Builds a record payload as a list of buffers for one writev: small fields go
 * into a scratch buffer, large entry data is referenced in place (no copy).
 * `length` is the payload length so far, so a caller knows where data lands.
 * @internal
 */
export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  private scratch: Uint8Array;
  private view: DataView;
  private scratchStart = 0;
  private scratchUsed = 0;
  /** Payload bytes written so far. */
  length = 0;

  /**
   * `expectedBytes`: what the caller expects to write, if known. The first
   * scratch buffer is sized for it (up to the cap), so a large save does not
   * allocate, zero and copy its way up through every doubling.
   */
  constructor(expectedBytes = 0) {
    const first = Math.min(Math.max(expectedBytes, scratchBytesFirst), scratchBytesMax);
    this.scratch = new Uint8Array(first);
    this.view = new DataView(this.scratch.buffer);
  }

  u8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.scratchUsed, value);
    this.advance(1);
  }

  u32(value: number): void {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) {
      assert(false, `u32 field ${value} outside 0..2^32-1`);
    }
    this.reserve(4);
    this.view.setUint32(this.scratchUsed, value, true);
    this.advance(4);
  }

  /** A non-negative safe integer, as 8 bytes little-endian. */
  u64(value: number): void {
    if (!(Number.isSafeInteger(value) && value >= 0)) {
      assert(false, `u64 field ${value} is not a non-negative safe integer`);
    }
    this.reserve(8);
    this.view.setUint32(this.scratchUsed, value % 0x1_0000_0000, true);
    this.view.setUint32(this.scratchUsed + 4, Math.floor(value / 0x1_0000_0000), true);
    this.advance(8);
  }

  /** Appends `data` (length-prefixed by the caller); returns the payload offset it starts at. */
  bytes(data: Uint8Array): number {
    const start = this.length;
    if (data.byteLength <= copyLimitBytes) {
      this.reserve(data.byteLength);
      this.scratch.set(data, this.scratchUsed);
      this.advance(data.byteLength);
      return start;
    }
    this.flushScratch();
    this.parts.push(data);
    this.length += data.byteLength;
    return start;
  }

  /** The payload as buffers, in order. The writer must not be used afterwards. */
  finish(): Uint8Array[] {
    this.flushScratch();
    return this.parts;
  }

  private reserve(count: number): void {
    if (this.scratchUsed + count <= this.scratch.byteLength) return;
    this.flushScratch();
    this.scratch = new Uint8Array(
      Math.max(Math.min(2 * this.scratch.byteLength, scratchBytesMax), count),
    );
    this.view = new DataView(this.scratch.buffer);
    this.scratchStart = 0;
    this.scratchUsed = 0;
  }

  private advance(count: number): void {
    this.scratchUsed += count;
    this.length += count;
  }

  private flushScratch(): void {
    if (this.scratchUsed === this.scratchStart) return;
    this.parts.push(this.scratch.subarray(this.scratchStart, this.scratchUsed));
    this.scratchStart = this.scratchUsed;
  }
}
