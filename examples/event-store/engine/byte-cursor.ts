import { corrupt } from "./errors.js";
import { decodeUtf8, encodeUtf8 } from "./utf8.js";

/**
 * Sequential little-endian writing into a preallocated 8-aligned buffer and
 * bounds-checked reading from one; a read past the end or a bad string is
 * Corrupt naming the file and the offset.
 * @internal
 */
export class ByteWriter {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  at = 0;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number): void {
    this.view.setUint8(this.at, value);
    this.at += 1;
  }

  u32(value: number): void {
    this.view.setUint32(this.at, value, true);
    this.at += 4;
  }

  f64(value: number): void {
    this.view.setFloat64(this.at, value, true);
    this.at += 8;
  }

  /** u16 length + UTF-8 bytes. */
  text(value: string): void {
    const bytes = encodeUtf8(value);
    this.view.setUint16(this.at, bytes.byteLength, true);
    this.bytes.set(bytes, this.at + 2);
    this.at += 2 + bytes.byteLength;
  }

  align8(): void {
    this.at = (this.at + 7) & ~7;
  }
}

export function textBytes(value: string): number {
  return 2 + encodeUtf8(value).byteLength;
}

export class ByteReader {
  readonly view: DataView;
  at: number;

  constructor(readonly bytes: Uint8Array, readonly file: string, readonly fileOffset: number,
    start = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = start;
  }

  need(length: number, what: string): void {
    if (this.at + length > this.bytes.byteLength) {
      throw corrupt(`${what}: ${length} bytes needed, ${this.bytes.byteLength - this.at} left`,
        this.file, this.fileOffset + this.at);
    }
  }

  fail(text: string): never {
    throw corrupt(text, this.file, this.fileOffset + this.at);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.view.getUint8(this.at++);
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  f64(what: string): number {
    this.need(8, what);
    const value = this.view.getFloat64(this.at, true);
    this.at += 8;
    return value;
  }

  text(what: string): string {
    this.need(2, what);
    const length = this.view.getUint16(this.at, true);
    this.need(2 + length, what);
    const start = this.at + 2;
    try {
      const value = decodeUtf8(this.bytes.subarray(start, start + length));
      this.at = start + length;
      return value;
    } catch {
      return this.fail(`${what}: invalid UTF-8`);
    }
  }

  /** A copy of the next `length` bytes. */
  take(length: number, what: string): Uint8Array {
    this.need(length, what);
    // Copied by the Uint8Array constructor: a node Buffer's slice is a view, not a copy.
    const value = new Uint8Array(this.bytes.subarray(this.at, this.at + length));
    this.at += length;
    return value;
  }

  align8(): void {
    this.at = (this.at + 7) & ~7;
  }
}
