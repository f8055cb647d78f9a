import { describe, expect, it } from "vitest";
import { decodeUtf8, utf8Length, writeUtf8At } from "../engine/utf8.js";

describe("writeUtf8At", () => {
  const cases = ["", "a", "evt-000123", "é", "naïve", "日本語", "😀 smile", "x".repeat(300)];

  it.each(cases)("writes %j at an offset exactly as UTF-8, and nothing else", (text) => {
    const length = utf8Length(text);
    const bytes = new Uint8Array(length + 6).fill(0xaa);
    const written = writeUtf8At(text, bytes, 3);
    expect(written).toBe(length);
    expect(decodeUtf8(bytes.subarray(3, 3 + written))).toBe(text);
    expect([...bytes.subarray(0, 3)]).toEqual([0xaa, 0xaa, 0xaa]);
    expect([...bytes.subarray(3 + written)]).toEqual([0xaa, 0xaa, 0xaa]);
  });

  it("writes only what fits (like TextEncoder.encodeInto) when the target is short", () => {
    const bytes = new Uint8Array(5).fill(0);
    expect(writeUtf8At("abcdefgh", bytes, 2)).toBe(3);
    expect(decodeUtf8(bytes.subarray(2))).toBe("abc");
    expect(writeUtf8At("日本", bytes, 1)).toBe(3);
    expect(decodeUtf8(bytes.subarray(1, 4))).toBe("日");
  });
});
