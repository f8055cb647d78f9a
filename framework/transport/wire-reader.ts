import { TransportError, TransportErrorCode } from "./errors.js";

/** Protobuf wire types this codec reads (groups are rejected). */
export const WireTypeVarint = 0;
export const WireTypeBit64 = 1;
export const WireTypeLengthDelimited = 2;
export const WireTypeBit32 = 5;

/**
 * A bounds-checked protobuf reader over untrusted bytes that yields uint64
 * values as JS numbers (rejecting anything above 2^53 - 1) without BigInt.
 * Every failure is a TransportError(Malformed) naming what was wrong; it never
 * reads past `end`.
 * @internal
 */
export class WireReader {
  position: number;
  readonly end: number;
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.position = start;
    this.end = end;
  }

  done(): boolean {
    return this.position >= this.end;
  }

  /** Returns fieldNumber * 8 + wireType, the tag as it is on the wire. */
  tag(): number {
    const tag = this.uint53("tag");
    if (tag > 0xffffffff || tag >>> 3 === 0) throw malformed(`illegal tag ${tag}`);
    return tag;
  }

  uint53(what: string): number {
    const bytes = this.bytes;
    let position = this.position;
    let result = 0;
    let scale = 1;
    for (let count = 0; count < 10; count++) {
      if (position >= this.end) throw malformed(`truncated varint in ${what}`);
      const byte = bytes[position++] ?? 0;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.position = position;
        if (result > Number.MAX_SAFE_INTEGER) {
          throw malformed(`${what} = ${result} exceeds 2^53 - 1`);
        }
        return result;
      }
      scale *= 128;
    }
    throw malformed(`varint longer than 10 bytes in ${what}`);
  }

  bool(what: string): boolean {
    return this.uint53(what) !== 0;
  }

  /** A length-delimited field: returns [start, end) of its contents and moves past it. */
  delimited(what: string): number {
    const length = this.uint53(`length of ${what}`);
    const start = this.position;
    if (length > this.end - start) {
      throw malformed(`${what} length ${length} exceeds the ${this.end - start} bytes left`);
    }
    this.position = start + length;
    return start;
  }

  /** A bytes field, as a view into the input (no copy). */
  bytesField(what: string): Uint8Array {
    const start = this.delimited(what);
    return this.bytes.subarray(start, this.position);
  }

  /** A nested message: a reader over its contents; this reader moves past it. */
  nested(what: string): WireReader {
    const start = this.delimited(what);
    return new WireReader(this.bytes, start, this.position);
  }

  /** Skips a field of an unknown number (forward compatibility). */
  skip(tag: number): void {
    const wireType = tag & 7;
    if (wireType === WireTypeVarint) this.uint53("unknown field");
    else if (wireType === WireTypeLengthDelimited) this.delimited("unknown field");
    else if (wireType === WireTypeBit64) this.advance(8);
    else if (wireType === WireTypeBit32) this.advance(4);
    else throw malformed(`unsupported wire type ${wireType} of field ${tag >>> 3}`);
  }

  private advance(count: number): void {
    if (count > this.end - this.position) throw malformed("truncated fixed-width field");
    this.position += count;
  }
}

export function malformed(text: string): TransportError {
  return new TransportError(TransportErrorCode.Malformed, text);
}
