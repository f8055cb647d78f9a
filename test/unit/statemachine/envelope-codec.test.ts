import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EnvelopeBatchSchema,
  ExecutionErrorCode,
  ResultSchema,
} from "../../../gen/raftkit/v1/envelope_pb.js";
import {
  StateMachineError,
  StateMachineErrorCode,
  buildCommand,
  buildQuery,
  decodeEnvelope,
  decodeEnvelopeBatch,
  decodeResult,
  decodeResultBatch,
  encodeEnvelopeBatch,
  encodeResult,
  encodeResultBatch,
  errorResult,
  isStateMachineError,
  isStateMachineErrorCode,
  okResult,
  readCommandResult,
  stampEnvelopeBatch,
} from "../../../framework/statemachine/index.js";
import type { ExecutableMessage } from "../../../framework/statemachine/index.js";
import { Add, GetCounter } from "./counter-kv-state-machine.js";

const session = { clientId: 0xffff_ffff_ffff_fff0n, sequence: 3, respondedTo: 2 };

/** The end of the varint at `at`. */
function varintEnd(bytes: Uint8Array, at: number): number {
  while (bytes[at]! >= 0x80) at++;
  return at + 1;
}

function varintValue(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
  }
}

describe("envelope codec", () => {
  it("round-trips a batch; the proposer's stamp replaces the client's time", () => {
    const payload = new Uint8Array([1, 2, 3]);
    const bytes = encodeEnvelopeBatch([
      { type: Add.typeName, session, timestampMs: 0, payload },
      { type: Add.typeName, session: undefined, timestampMs: 77, payload: new Uint8Array() },
    ]);
    const stamped = decodeEnvelopeBatch(stampEnvelopeBatch(bytes, 1_700_000_000_123));
    expect(stamped).toEqual([
      { type: Add.typeName, session, timestampMs: 1_700_000_000_123, payload },
      {
        type: Add.typeName,
        session: undefined,
        timestampMs: 1_700_000_000_123,
        payload: new Uint8Array(),
      },
    ]);
  });

  it("reads client id 0 as no session, and refuses inconsistent sessions naming the values", () => {
    const wire = (sequence: bigint, respondedTo: bigint, clientId = 5n) =>
      toBinary(
        EnvelopeBatchSchema,
        create(EnvelopeBatchSchema, {
          envelopes: [{ type: "a.v1.S/M", session: { clientId, sequence, respondedTo } }],
        }),
      );
    expect(decodeEnvelopeBatch(wire(0n, 0n, 0n))[0]?.session).toBeUndefined();
    expect(() => decodeEnvelopeBatch(wire(2n, 2n))).toThrowError(
      /invalid_envelope.*sequence 2, responded_to 2: allowed sequence >= 1 and responded_to < seq/,
    );
    expect(() => decodeEnvelopeBatch(wire(0n, 0n))).toThrowError(/sequence 0/);
    expect(() => decodeEnvelopeBatch(wire(2n ** 60n, 0n))).toThrowError(
      /session\.sequence = 1152921504606846976, allowed \[0, 2\^53\)/,
    );
    expect(() => encodeEnvelopeBatch([])).toThrowError("at least one envelope");
    expect(() =>
      encodeEnvelopeBatch([
        {
          type: "a.v1.S/M",
          session: { ...session, respondedTo: 3 },
          timestampMs: 0,
          payload: new Uint8Array(),
        },
      ]),
    ).toThrowError(RangeError);
  });

  it("round-trips results, including an empty payload and every error code", () => {
    const empty = okResult(new Uint8Array());
    expect(decodeResult(encodeResult(empty))).toEqual(empty);
    for (const code of Object.values(StateMachineErrorCode)) {
      const result = errorResult(code, `because ${code}`);
      expect(decodeResult(encodeResult(result))).toEqual(result);
    }
    const batch = [
      okResult(new Uint8Array([9])),
      errorResult(StateMachineErrorCode.NotFound, "gone"),
    ];
    expect(decodeResultBatch(encodeResultBatch(batch), 2)).toEqual(batch);
    expect(() => decodeResultBatch(encodeResultBatch(batch), 3)).toThrowError(
      "result batch holds 2 results for 3 envelopes",
    );
  });

  it("maps every wire error code to a framework code; unknown ones read as aborted", () => {
    const wireCodes = Object.values(ExecutionErrorCode).filter(
      (value): value is ExecutionErrorCode =>
        typeof value === "number" && value !== ExecutionErrorCode.UNSPECIFIED,
    );
    expect(wireCodes).toHaveLength(Object.values(StateMachineErrorCode).length);
    // A code from a newer peer: Result { error { code: 999, message } }, written by hand.
    const error = new BinaryWriter().uint32(8).int32(999).uint32(18).string("newer peer").finish();
    const unknown = new BinaryWriter().uint32(18).bytes(error).finish();
    expect(decodeResult(unknown)).toEqual(errorResult(StateMachineErrorCode.Aborted, "newer peer"));
    expect(() => decodeResult(toBinary(ResultSchema, create(ResultSchema)))).toThrowError(
      "result has neither payload nor error",
    );
  });

  it("a codec that encodes in place (encodeAfter) builds the same envelope as encode, with the stamp's room", () => {
    // A codec of raw bytes both ways; the descriptor's type name any text (ASCII, other planes, lone surrogates).
    const typeName = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 }).map((codes) => String.fromCharCode(...codes)));
    const payload = fc.oneof(fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(127, 128, 16_383, 16_384, 70_000).map((length) => new Uint8Array(length).fill(length & 0xff)));
    fc.assert(
      fc.property(typeName, payload, (type, message) => {
        let roomAsked: number | undefined;
        const bytesCodec = {
          encode: (bytes: Uint8Array): Uint8Array => bytes.slice(),
          decode: (bytes: Uint8Array): Uint8Array => bytes,
        };
        const plain: ExecutableMessage<Uint8Array, Uint8Array> = {
          ...Add, typeName: type, request: bytesCodec, response: bytesCodec,
        };
        const inPlace: ExecutableMessage<Uint8Array, Uint8Array> = {
          ...plain,
          request: {
            ...plain.request,
            encodeAfter: (bytes, room) => {
              roomAsked = room(bytes.length);
              const out = new Uint8Array(roomAsked + bytes.length).fill(0xee);
              out.set(bytes, roomAsked);
              return out;
            },
          },
        };
        const expected = buildCommand(plain, message, undefined);
        const built = buildCommand(inPlace, message, undefined);
        // The same envelope, plus the stamp's room (field 15, a varint 0 in 8 bytes) that decoders skip.
        expect(roomAsked).toBe(built.length - message.length);
        expect(decodeEnvelopeBatch(built)).toEqual(decodeEnvelopeBatch(expected));
        const [envelope] = decodeEnvelopeBatch(built);
        expect(Buffer.from(envelope!.payload).equals(Buffer.from(message))).toBe(true);
        const proto = fromBinary(EnvelopeBatchSchema, built).envelopes;
        expect(proto).toHaveLength(1);
        expect(proto[0]!.timestampMs).toBe(0n);
        expect(Buffer.from(proto[0]!.payload).equals(Buffer.from(message))).toBe(true);
        // The content is encode's with the room's 9 bytes after the type field.
        const content = (bytes: Uint8Array): Uint8Array => bytes.subarray(varintEnd(bytes, 1));
        const plainContent = content(expected);
        const typeEnd = plainContent[0] === 0x0a ? varintEnd(plainContent, 1) + varintValue(plainContent, 1) : 0;
        const room = [0x78, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        expect([...content(built)]).toEqual([...plainContent.subarray(0, typeEnd), ...room, ...plainContent.subarray(typeEnd)]);
        // Over the limit: refused before the codec allocates anything.
        if (message.length > 0) {
          roomAsked = undefined;
          expect(() => buildCommand(inPlace, message, undefined, { maxPayloadBytes: message.length - 1 }))
            .toThrowError(/too_large/);
          expect(roomAsked).toBeUndefined();
        }
      }),
      { numRuns: 300 },
    );
  });

  it("builds only its own kind, and refuses oversized payloads before sending", () => {
    expect(() => buildQuery(Add, { name: "a", delta: 1 })).toThrowError(
      /wrong_kind.*is a command, built as a query/,
    );
    expect(() => buildCommand(GetCounter, { name: "a" }, undefined)).toThrowError(
      /is a query, built as a command/,
    );
    const big = { name: "x".repeat(50), delta: 1 };
    expect(() => buildCommand(Add, big, undefined, { maxPayloadBytes: 10 })).toThrowError(
      /too_large.*payload of 54 bytes, allowed at most 10/,
    );
    const query = decodeEnvelope(buildQuery(GetCounter, { name: "a" }));
    expect(query).toEqual({
      type: GetCounter.typeName,
      session: undefined,
      timestampMs: 0,
      payload: GetCounter.request.encode({ name: "a" }),
    });
    const garbageResponse = encodeResultBatch([okResult(new Uint8Array([0x08, 0xff]))]);
    expect(() => readCommandResult(Add, garbageResponse)).toThrowError(
      /invalid_payload.*response of/,
    );
  });
});

describe("StateMachineError", () => {
  it("keeps code and raw message; from() converts anything; the guard checks shape", () => {
    const error = new StateMachineError(StateMachineErrorCode.NotFound, "key k");
    expect(error.message).toBe("[not_found] key k");
    expect(error.rawMessage).toBe("key k");
    expect(StateMachineError.from(error)).toBe(error);
    const plain = StateMachineError.from(new TypeError("boom"));
    expect([plain.code, plain.rawMessage, plain.cause instanceof TypeError]).toEqual([
      StateMachineErrorCode.Aborted,
      "boom",
      true,
    ]);
    expect(StateMachineError.from("text", StateMachineErrorCode.InvalidArgument).code).toBe(
      StateMachineErrorCode.InvalidArgument,
    );
    const lookalike = Object.assign(new Error("[not_found] x"), {
      name: "StateMachineError",
      code: "not_found",
      rawMessage: "x",
    });
    expect(isStateMachineError(lookalike, StateMachineErrorCode.NotFound)).toBe(true);
    expect(StateMachineError.from(lookalike)).toBeInstanceOf(StateMachineError);
    expect(isStateMachineError(error, StateMachineErrorCode.Aborted)).toBe(false);
    const badCode = Object.assign(new Error("x"), { name: "StateMachineError", code: "nope" });
    expect(isStateMachineError(badCode)).toBe(false);
    const notAnError = { name: "StateMachineError", code: "not_found", rawMessage: "" };
    expect(isStateMachineError(notAnError)).toBe(false);
    expect(isStateMachineErrorCode("session_expired")).toBe(true);
    expect(isStateMachineErrorCode("SESSION_EXPIRED")).toBe(false);
  });
});
