import { assert } from "./assert.js";

/** Size of every scratch buffer (a record's fields and small data are copied into these). */
const scratchBytes = 256 * 1024;
/**
 * Data at most this long is copied next to its fields; longer data is referenced, not
 * copied. Copying small data costs less than a CRC call and an iovec per piece.
 */
export const copyLimitBytes = 32 * 1024;

/**
 * Scratch buffers for the writers, reused once a record has been written: a
 * 1,024-group save fills ~130 KiB of scratch, and allocating (and zeroing) a
 * fresh buffer per save showed in its CPU profile. Keeps at most
 * `buffersMax` buffers (the rest are left to the garbage collector).
 * @internal
 */
export class ScratchPool {
  private readonly free: Uint8Array[] = [];

  constructor(private readonly buffersMax: number) {}

  acquire(): Uint8Array {
    return this.free.pop() ?? new Uint8Array(scratchBytes);
  }

  release(buffer: Uint8Array): void {
    assert(buffer.byteLength === scratchBytes, () => `scratch of ${buffer.byteLength} bytes`);
    if (this.free.length < this.buffersMax) this.free.push(buffer);
  }
}

/**
 * Builds a record payload as a list of buffers for one writev: small fields go
 * into a scratch buffer, large entry data is referenced in place (no copy).
 * `length` is the payload length so far, so a caller knows where data lands.
 * @internal
 */
export class ByteWriter {
  private readonly parts: Uint8Array[] = [];
  /** Scratch buffers taken from the pool, given back by `release`. */
  private readonly taken: Uint8Array[] = [];
  private scratch: Uint8Array;
  private view: DataView;
  private scratchStart = 0;
  private scratchUsed = 0;
  /** Payload bytes written so far. */
  length = 0;

  constructor(private readonly pool: ScratchPool = new ScratchPool(0)) {
    this.scratch = this.take();
    this.view = new DataView(this.scratch.buffer, this.scratch.byteOffset, scratchBytes);
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

  /**
   * Makes room for `count` bytes in one piece, for the `put` methods below,
   * which skip the per-field checks: a caller reserves once per operation
   * (at most copyLimitBytes plus its fields) and writes only values it has
   * checked to be in range.
   */
  reserveRun(count: number): void {
    this.reserve(count);
  }

  putU8(value: number): void {
    this.scratch[this.scratchUsed] = value;
    this.advance(1);
  }

  putU32(value: number): void {
    this.view.setUint32(this.scratchUsed, value, true);
    this.advance(4);
  }

  /** A checked non-negative safe integer. */
  putU64(value: number): void {
    const low = value % 0x1_0000_0000;
    this.view.setUint32(this.scratchUsed, low, true);
    this.view.setUint32(this.scratchUsed + 4, (value - low) / 0x1_0000_0000, true);
    this.advance(8);
  }

  /** Copies `data` (at most copyLimitBytes, room reserved). */
  putBytes(data: Uint8Array): void {
    this.scratch.set(data, this.scratchUsed);
    this.advance(data.byteLength);
  }

  /** The payload as buffers, in order. The writer must not be used afterwards. */
  finish(): Uint8Array[] {
    this.flushScratch();
    return this.parts;
  }

  /** Gives the scratch buffers back to the pool: the payload has been written. */
  release(): void {
    for (const buffer of this.taken.splice(0)) this.pool.release(buffer);
    this.parts.length = 0;
  }

  private take(): Uint8Array {
    const buffer = this.pool.acquire();
    this.taken.push(buffer);
    return buffer;
  }

  private reserve(count: number): void {
    if (this.scratchUsed + count <= this.scratch.byteLength) return;
    // Callers copy at most copyLimitBytes of data at once, far below a scratch buffer.
    assert(count <= scratchBytes, () => `${count} bytes at once, allowed ≤ ${scratchBytes}`);
    this.flushScratch();
    this.scratch = this.take();
    this.view = new DataView(this.scratch.buffer, this.scratch.byteOffset, scratchBytes);
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
