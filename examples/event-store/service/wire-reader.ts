/**
 * A cursor over protobuf binary (the wire format, not a message model): tags,
 * varints, length-delimited ranges and skipping unknown fields, for the hand
 * codec of the hot Insert message (insert-wire.ts). Errors say what was
 * malformed and where, as protobuf-es's reader does.
 * @internal
 */
export const WireType = {
  Varint: 0,
  Bit64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Bit32: 5,
} as const;

/** Nested groups skipped at most (protobuf-es's default recursion limit). */
const groupDepthMax = 100;
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  try {
    return utf8Strict.decode(bytes.subarray(start, end));
  } catch {
    // The decoder's only failure here is malformed input; say where it is.
    throw new Error(`invalid UTF-8 in the string at bytes ${start}-${end}`);
  }
}

export class WireReader {
  readonly bytes: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  /** A field's number and wire type; throws on field number 0 or a wire type above 5. */
  tag(): { readonly fieldNo: number; readonly wireType: number } {
    const tag = this.uint32();
    const fieldNo = tag >>> 3;
    const wireType = tag & 7;
    if (fieldNo <= 0 || wireType > 5) {
      throw new Error(`illegal tag ${tag} (field ${fieldNo}, wire type ${wireType}) ` +
        `at byte ${this.pos}`);
    }
    return { fieldNo, wireType };
  }

  /** A varint as an unsigned 32-bit number (longer varints keep their low 32 bits, as protobuf). */
  uint32(): number {
    const bytes = this.bytes;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new Error(`premature end of varint at byte ${this.pos}`);
      const byte = bytes[this.pos++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    // Bytes 6..10 of a 64-bit varint: only their continuation bits matter here.
    for (let index = 5; index < 10; index++) {
      if (this.pos >= this.end) throw new Error(`premature end of varint at byte ${this.pos}`);
      if ((bytes[this.pos++]! & 0x80) === 0) return value >>> 0;
    }
    throw new Error(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A 64-bit varint as its low and high 32 bits (unsigned). */
  varint64(): { readonly low: number; readonly high: number } {
    const bytes = this.bytes;
    let low = 0;
    let high = 0;
    for (let index = 0; index < 10; index++) {
      if (this.pos >= this.end) throw new Error(`premature end of varint at byte ${this.pos}`);
      const byte = bytes[this.pos++]!;
      const bits = byte & 0x7f;
      if (index < 4) low |= bits << (7 * index);
      else if (index === 4) { low |= (bits & 0x0f) << 28; high |= bits >>> 4; }
      else high |= bits << (7 * index - 32);
      if ((byte & 0x80) === 0) return { low: low >>> 0, high: high >>> 0 };
    }
    throw new Error(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** The range of a length-delimited field's payload; the cursor moves past it. */
  delimited(): { readonly start: number; readonly end: number } {
    const length = this.uint32();
    const start = this.pos;
    if (length > this.end - start) {
      throw new Error(`length ${length} at byte ${start} runs past the end ` +
        `(${this.end - start} bytes left)`);
    }
    this.pos = start + length;
    return { start, end: this.pos };
  }

  /** A proto3 string: well-formed UTF-8 or an error (as protobuf-es decodes proto3 strings). */
  string(): string {
    const { start, end } = this.delimited();
    const bytes = this.bytes;
    // ASCII (ids, names): built directly, cheaper than a TextDecoder call per short string.
    if (end - start <= 32) {
      let text = "";
      for (let at = start; at < end; at++) {
        const byte = bytes[at]!;
        if (byte >= 0x80) return decodeUtf8(bytes, start, end);
        text += String.fromCharCode(byte);
      }
      return text;
    }
    return decodeUtf8(bytes, start, end);
  }

  float64(): number {
    if (this.end - this.pos < 8) throw new Error(`premature end of double at byte ${this.pos}`);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getFloat64(0, true);
  }

  /** Skips a field of `wireType` (its tag already read), groups included. */
  skip(wireType: number, fieldNo: number, depth = 0): void {
    switch (wireType) {
      case WireType.Varint: this.varint64(); return;
      case WireType.Bit64: this.advance(8); return;
      case WireType.Bit32: this.advance(4); return;
      case WireType.LengthDelimited: this.delimited(); return;
      case WireType.StartGroup: {
        if (depth >= groupDepthMax) throw new Error(`groups nested deeper than ${groupDepthMax}`);
        for (;;) {
          const inner = this.tag();
          if (inner.wireType === WireType.EndGroup) {
            if (inner.fieldNo !== fieldNo) {
              throw new Error(`invalid end group tag for field ${fieldNo}`);
            }
            return;
          }
          this.skip(inner.wireType, inner.fieldNo, depth + 1);
        }
      }
      default:
        throw new Error(`cannot skip wire type ${wireType} of field ${fieldNo}`);
    }
  }

  private advance(count: number): void {
    if (this.end - this.pos < count) throw new Error(`premature end at byte ${this.pos}`);
    this.pos += count;
  }
}
