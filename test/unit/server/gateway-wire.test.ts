/**
 * The hand codec of ExecuteBatch (framework/server/gateway-wire.ts) against
 * protobuf-es: the same bytes out, the same meaning in, and malformed input
 * refused with the element, field and byte named.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeExecuteOutcome,
  decodeExecuteRequest,
  decodeExecuteRequestGeneral,
  encodeExecuteBatchRequest,
  executeBatchClientMethod,
  executeBatchRequestMessage,
  executeBatchServerMethod,
  GatewayWireError,
  isBinaryBatchContentType,
  newRawExecuteRequest,
  OutcomeWriter,
} from "../../../framework/server/gateway-wire.js";
import type { ExecuteRequestInit } from "../../../framework/server/gateway-wire.js";
import {
  ExecuteBatchRequestSchema,
  ExecuteBatchResponseSchema,
  ExecuteOutcomeSchema,
  ExecuteRequestSchema,
} from "../../../gen/raftkit/v1/gateway_pb.js";

type OutcomeInit = MessageInitShape<typeof ExecuteOutcomeSchema>;

const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 80 }),
  fc.uint8Array({ minLength: 120, maxLength: 300 }),
  fc.constant(new Uint8Array(20_000).fill(7)),
);

const commonArb: fc.Arbitrary<ExecuteRequestInit> = fc.record({
  groupId: fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
  kind: fc.integer({ min: 0, max: 3 }),
  payload: bytesArb,
  consistency: fc.integer({ min: 0, max: 2 }),
  timeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
});

const typedArb: fc.Arbitrary<ExecuteRequestInit> = fc.record({
  groupId: fc.bigInt({ min: 1n, max: 100n }),
  type: fc.constantFrom("kv.v1.KvService/Put", "x.Y/Z"),
  json: fc.constant({ kind: { case: "stringValue" as const, value: "hello" } }),
  session: fc.option(fc.constant({ clientId: 5n, sequence: 9n }), { nil: undefined }),
});

const requestArb = fc.oneof({ arbitrary: commonArb, weight: 4 }, { arbitrary: typedArb, weight: 1 });

/** Byte equality without vitest diffing 20 kB arrays element by element. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const same = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected);
  if (!same) expect(Buffer.from(actual).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
}

function splitElements(batch: Uint8Array): Uint8Array[] {
  return fromBinary(executeBatchServerMethod.input, batch).requests;
}

describe("gateway wire: ExecuteBatchRequest", () => {
  it("encodes exactly as protobuf-es, and decodes to the same request", () => {
    fc.assert(
      fc.property(fc.array(requestArb, { maxLength: 20 }), (requests) => {
        const expected = toBinary(ExecuteBatchRequestSchema, create(ExecuteBatchRequestSchema, { requests }));
        const encoded = encodeExecuteBatchRequest(requests);
        expectSameBytes(encoded, expected);
        // The client's message through protobuf-es's writer (the unknown-field body) gives the same bytes.
        expectSameBytes(toBinary(executeBatchClientMethod.input, executeBatchRequestMessage(requests)), expected);
        const reference = fromBinary(ExecuteBatchRequestSchema, expected).requests;
        const elements = splitElements(encoded);
        expect(elements).toHaveLength(requests.length);
        const scratch = newRawExecuteRequest();
        for (const [i, element] of elements.entries()) {
          const want = reference[i]!;
          const raw = decodeExecuteRequest(element, i, scratch);
          if (raw.general) {
            const general = decodeExecuteRequestGeneral(element, i);
            expectSameBytes(toBinary(ExecuteRequestSchema, general), toBinary(ExecuteRequestSchema, want));
            continue;
          }
          expect(want.type).toBe("");
          expect(want.json).toBeUndefined();
          expect(want.session).toBeUndefined();
          expect(BigInt(raw.groupId)).toBe(want.groupId);
          expect([raw.kind, raw.consistency, raw.timeoutMs]).toEqual([want.kind, want.consistency, want.timeoutMs]);
          expectSameBytes(raw.payload, want.payload);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("leaves typed requests, large group ids and unknown fields to protobuf-es", () => {
    const scratch = newRawExecuteRequest();
    const typed = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { groupId: 1n, type: "a.B/C" }));
    expect(decodeExecuteRequest(typed, 0, scratch).general).toBe(true);
    const large = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { groupId: 2n ** 60n, kind: 1 }));
    expect(decodeExecuteRequest(large, 0, scratch).general).toBe(true);
    expect(decodeExecuteRequestGeneral(large, 0).groupId).toBe(2n ** 60n);
    const unknownField = new Uint8Array([0x08, 0x01, 0x48, 0x05]); // group_id 1, field 9 varint 5
    expect(decodeExecuteRequest(unknownField, 0, scratch).general).toBe(true);
    // Repeated scalar fields: the last one wins, as in protobuf-es.
    const twice = new Uint8Array([0x08, 0x01, 0x08, 0x02, 0x10, 0x01]);
    expect(decodeExecuteRequest(twice, 0, scratch)).toMatchObject({ general: false, groupId: 2, kind: 1 });
    expect(fromBinary(ExecuteRequestSchema, twice).groupId).toBe(2n);
  });

  it("refuses malformed elements naming the element, the field and the byte", () => {
    const scratch = newRawExecuteRequest();
    const cases: [Uint8Array, RegExp][] = [
      // payload says 10 bytes, 2 follow
      [new Uint8Array([0x08, 0x01, 0x1a, 0x0a, 1, 2]), /^requests\[3\]\.payload: length 10 runs past the end of the element \(2 bytes left\) at byte 4$/],
      // group_id's varint never ends
      [new Uint8Array([0x08, 0x81, 0x82]), /^requests\[3\]\.group_id: varint runs past the end of the element at byte 3$/],
      // kind sent length-delimited
      [new Uint8Array([0x12, 0x01, 0x00]), /^requests\[3\]\.kind: wire type 2, expected 0 at byte 0$/],
      // payload sent as a varint
      [new Uint8Array([0x18, 0x01]), /^requests\[3\]\.payload: wire type 0, expected 2 at byte 0$/],
      // a payload length of 2^35: longer than any length
      [new Uint8Array([0x1a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /^requests\[3\]\.payload: length longer than 5 bytes at byte 1$/],
      // an 11-byte varint
      [new Uint8Array([0x08, ...new Array<number>(10).fill(0xff), 0x01]), /^requests\[3\]\.group_id: varint longer than 10 bytes at byte 1$/],
    ];
    for (const [bytes, message] of cases) {
      let caught: unknown;
      try {
        decodeExecuteRequest(bytes, 3, scratch);
      } catch (error) {
        caught = error;
      }
      expect(caught, message.source).toBeInstanceOf(GatewayWireError);
      expect((caught as GatewayWireError).message).toMatch(message);
    }
    // The general path: a typed element cut short.
    const typed = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { groupId: 1n, type: "a.B/C" }));
    expect(() => decodeExecuteRequestGeneral(typed.subarray(0, typed.length - 2), 4)).toThrowError(
      /^requests\[4\]: not an ExecuteRequest \(/,
    );
  });
});

describe("gateway wire: ExecuteBatchResponse", () => {
  const failureArb: fc.Arbitrary<OutcomeInit> = fc.record({
    code: fc.constantFrom(Code.FailedPrecondition, Code.NotFound, Code.Aborted),
    message: fc.string({ maxLength: 40 }),
    notLeader: fc.option(fc.record({ groupId: fc.bigInt({ min: 1n, max: 99n }), leaderNodeId: fc.bigInt({ min: 0n, max: 3n }), leaderAddress: fc.constant("http://n2") }), { nil: undefined }),
  }).map((value) => ({ outcome: { case: "failure" as const, value } }));

  const slotArb = fc.oneof(
    bytesArb.map((result) => ({ result })),
    failureArb.map((failure) => ({ failure })),
  );

  it("encodes exactly as protobuf-es, and the client decodes each outcome as protobuf-es does", () => {
    fc.assert(
      fc.property(fc.array(slotArb, { maxLength: 20 }), (slots) => {
        const writer = new OutcomeWriter(slots.length);
        const inits: OutcomeInit[] = [];
        // Filled out of order, as answers arrive.
        for (let i = slots.length - 1; i >= 0; i--) {
          const slot = slots[i]!;
          if ("result" in slot) writer.response(i, slot.result);
          else writer.outcome(i, slot.failure);
        }
        for (const slot of slots) {
          inits.push("result" in slot ? { outcome: { case: "response", value: { result: slot.result } } } : slot.failure);
        }
        const expected = toBinary(ExecuteBatchResponseSchema, create(ExecuteBatchResponseSchema, { outcomes: inits }));
        expectSameBytes(writer.encode(), expected);
        expectSameBytes(toBinary(executeBatchServerMethod.output, writer.message()), expected);
        const elements = fromBinary(executeBatchClientMethod.output, expected).outcomes;
        const reference = fromBinary(ExecuteBatchResponseSchema, expected).outcomes;
        expect(elements).toHaveLength(slots.length);
        for (const [i, element] of elements.entries()) {
          const decoded = decodeExecuteOutcome(element, i);
          expectSameBytes(toBinary(ExecuteOutcomeSchema, decoded), toBinary(ExecuteOutcomeSchema, reference[i]!));
          expect(decoded.outcome.case).toBe(reference[i]!.outcome.case);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("decodes unusual but valid outcomes through protobuf-es, and refuses malformed ones naming the slot", () => {
    // response with an unknown field after the result: not the common form, still valid.
    const unusual = new Uint8Array([0x0a, 0x05, 0x0a, 0x01, 0x09, 0x18, 0x01]);
    const decoded = decodeExecuteOutcome(unusual, 0);
    expect(decoded.outcome.case).toBe("response");
    expect(decoded.outcome.case === "response" && [...decoded.outcome.value.result]).toEqual([0x09]);
    expect(() => decodeExecuteOutcome(new Uint8Array([0x0a, 0x09, 0x0a]), 5)).toThrowError(/^outcomes\[5\]: not an ExecuteOutcome \(/);
  });

  it("serves the binary formats only; JSON keeps the generic path", () => {
    for (const type of ["application/proto", "application/grpc", "application/grpc+proto", "application/grpc-web", "application/grpc-web+proto"]) {
      expect(isBinaryBatchContentType(type), type).toBe(true);
    }
    for (const type of ["application/json", "application/grpc+json", "application/grpc-web+json", "text/plain", undefined]) {
      expect(isBinaryBatchContentType(type), String(type)).toBe(false);
    }
  });
});
