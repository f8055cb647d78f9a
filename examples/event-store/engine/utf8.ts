/**
 * UTF-8 byte length of a string, or -1 when it holds a lone surrogate (such a
 * string would not survive an encode/decode round trip, so inserts reject it).
 * @internal
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code < 0xd800 || code > 0xdfff) bytes += 3;
    else if (code <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next < 0xdc00 || next > 0xdfff) return -1;
      bytes += 4;
      index++;
    } else return -1;
  }
  return bytes;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeUtf8Into(text: string, target: Uint8Array): number {
  return encoder.encodeInto(text, target).written;
}

/**
 * Writes `text` as UTF-8 into `bytes` at `at` and returns the bytes written
 * (what fits, like encodeInto). Empty and ASCII strings — every event's
 * hidden id when producers send none — are written by a loop: encodeInto
 * needs a subarray view per string, which cost more than the copy (about
 * 1 µs per event in a replica's WAL and block encoding, issue #8).
 */
export function writeUtf8At(text: string, bytes: Uint8Array, at: number): number {
  const length = text.length;
  if (length === 0) return 0;
  if (at + length <= bytes.length) {
    let index = 0;
    for (; index < length; index++) {
      const code = text.charCodeAt(index);
      if (code >= 0x80) break;
      bytes[at + index] = code;
    }
    if (index === length) return length;
  }
  return encoder.encodeInto(text, bytes.subarray(at)).written;
}

/** Throws TypeError on invalid UTF-8; callers turn that into a Corrupt error. */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
