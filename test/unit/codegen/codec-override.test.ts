/**
 * framework/statemachine's pieces behind codegen's protobuf-es mode:
 * protobufEsCodec (binary and JSON over a protoc-gen-es schema, bad input
 * refused by name), withCodecs (a descriptor with some codecs replaced) and
 * withCodecOverrides (a descriptor set with some codecs replaced, by member).
 */
import { create } from "@bufbuild/protobuf";
import { StructSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import type { ExecutableMessage, MessageCodec } from "../../../framework/statemachine/index.js";
import {
  defineExecutableMessage,
  ExecutableKind,
  protobufEsCodec,
  withCodecOverrides,
  withCodecs,
} from "../../../framework/statemachine/index.js";

const timestamps = protobufEsCodec(TimestampSchema);
const structs = protobufEsCodec(StructSchema);
const sample = create(TimestampSchema, { seconds: 1_700_000_000n, nanos: 5 });

const descriptor = defineExecutableMessage({
  typeName: "test.v1.Clock/Set",
  kind: ExecutableKind.Command,
  stateMachine: "clock",
  request: timestamps,
  response: structs,
});

/** Wire compatible with `timestamps`; counts its calls; no JSON pair. */
function countingCodec(calls: string[]): MessageCodec<Timestamp> {
  return {
    encode(message) {
      calls.push("encode");
      return timestamps.encode(message);
    },
    decode(bytes) {
      calls.push("decode");
      return timestamps.decode(bytes);
    },
  };
}

describe("protobufEsCodec", () => {
  it("round-trips binary and JSON", () => {
    const bytes = timestamps.encode(sample);
    expect(bytes).toEqual(Uint8Array.from([8, 128, 226, 207, 170, 6, 16, 5]));
    expect(timestamps.decode(bytes)).toEqual(sample);
    expect(timestamps.toJson?.(sample)).toBe("2023-11-14T22:13:20.000000005Z");
    expect(timestamps.fromJson?.("2023-11-14T22:13:20.000000005Z")).toEqual(sample);
  });

  it("refuses bytes and JSON that are not the message, naming what is wrong", () => {
    expect(() => timestamps.decode(Uint8Array.from([8]))).toThrow(/premature EOF/);
    expect(() => timestamps.fromJson?.(42)).toThrow(/google\.protobuf\.Timestamp/);
    expect(() => structs.fromJson?.({ a: undefined }))
      .toThrow("google.protobuf.Struct: JSON input holds a value JSON cannot");
    expect(() => structs.fromJson?.({ a: [1, Number.NaN] })).toThrow(/JSON input holds/);
    expect(() => structs.fromJson?.({ a: 1n })).toThrow(/JSON input holds/);
    expect(structs.toJson?.(structs.fromJson?.({ a: [1, "x", null, { b: true }] }) ??
      create(StructSchema))).toEqual({ a: [1, "x", null, { b: true }] });
  });
});

describe("withCodecs", () => {
  it("returns the descriptor itself when nothing is replaced", () => {
    expect(withCodecs(descriptor, undefined)).toBe(descriptor);
    expect(withCodecs(descriptor, {})).toBe(descriptor);
  });

  it("replaces a codec, keeps name, kind, state machine and the other side", () => {
    const calls: string[] = [];
    const replaced = withCodecs(descriptor, { request: countingCodec(calls) });
    expect(replaced).not.toBe(descriptor);
    expect([replaced.typeName, replaced.kind, replaced.stateMachine])
      .toEqual(["test.v1.Clock/Set", ExecutableKind.Command, "clock"]);
    expect(replaced.response).toBe(descriptor.response);
    const bytes = replaced.request.encode(sample);
    expect(replaced.request.decode(bytes)).toEqual(sample);
    expect(calls).toEqual(["encode", "decode"]);
    // JSON belongs to the in-memory form: a codec without it leaves the message without JSON.
    expect(replaced.request.fromJson).toBeUndefined();
    expect(replaced.request.toJson).toBeUndefined();
  });

  it("types the descriptor by the replacement codec (another in-memory form)", () => {
    const seconds: MessageCodec<number> = {
      encode: (value) => timestamps.encode(create(TimestampSchema, { seconds: BigInt(value) })),
      decode: (bytes) => Number(timestamps.decode(bytes).seconds),
      fromJson: (json) => Number(json),
      toJson: (value) => value,
    };
    const replaced: ExecutableMessage<number, unknown> =
      withCodecs(descriptor, { request: seconds });
    expect(replaced.request).toBe(seconds);
    expect(timestamps.decode(replaced.request.encode(42))).toEqual(
      create(TimestampSchema, { seconds: 42n }));
  });

  it("refuses a replacement without encode and decode functions, or half a JSON pair", () => {
    const broken: MessageCodec<Timestamp> = Object.assign(countingCodec([]), { decode: 7 });
    expect(() => withCodecs(descriptor, { request: broken }))
      .toThrow("codec override of test.v1.Clock/Set request: encode and decode must be functions");
    const halfJson: MessageCodec<Timestamp> = { ...countingCodec([]), toJson: () => "x" };
    expect(() => withCodecs(descriptor, { request: halfJson }))
      .toThrow("codec override of test.v1.Clock/Set request: give both fromJson and toJson");
  });
});

describe("withCodecOverrides", () => {
  const other = defineExecutableMessage({
    typeName: "test.v1.Clock/Get",
    kind: ExecutableKind.Query,
    request: structs,
    response: timestamps,
  });
  const set = { set: descriptor, get: other };

  it("replaces the named members only, each typed by its codec", () => {
    const calls: string[] = [];
    const replaced = withCodecOverrides(set, { set: { request: countingCodec(calls) } });
    expect(replaced.get).toBe(other);
    expect(replaced.set.typeName).toBe("test.v1.Clock/Set");
    expect(replaced.set.request.decode(replaced.set.request.encode(sample))).toEqual(sample);
    expect(calls).toEqual(["encode", "decode"]);
    expect(withCodecOverrides(set, undefined)).toEqual(set);
  });

  it("refuses a member the set does not have, or an override that is not an object", () => {
    // Deliberately untyped (JSON): the compiler already refuses a misspelt member literal.
    const misspelt = JSON.parse('{"sett": {}}') as { set: { request: MessageCodec<Timestamp> } };
    expect(() => withCodecOverrides(set, misspelt)).toThrow(
      'codec override for "sett": no such rpc in this descriptor set (members: set, get)');
    const notObject = JSON.parse('{"get": 5}') as { get: { request: MessageCodec<Timestamp> } };
    expect(() => withCodecOverrides(set, notObject))
      .toThrow('codec override for "get": expected { request?, response? }, found number');
  });
});
