/**
 * The hand-written envelope codec against protobuf-es, the reference
 * implementation of envelope.proto (STYLE rule 12): same bytes out for the
 * same messages, same messages in for any bytes either accepts.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  EnvelopeBatchSchema,
  EnvelopeSchema,
  ResultBatchSchema,
  ResultSchema,
} from "../../../gen/raftkit/v1/envelope_pb.js";
import {
  readEnvelopeBatch,
  readEnvelope,
  readResult,
  readResultBatch,
  writeEnvelope,
  writeEnvelopeBatch,
  writeResult,
  writeResultBatch,
} from "../../../framework/statemachine/envelope-wire.js";
import type { WireEnvelope, WireResult } from "../../../framework/statemachine/envelope-wire.js";

const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const bytes = fc.uint8Array({ maxLength: 40 });

// Any text: ASCII (one byte per unit), other planes (surrogate pairs), and lone surrogates
// (written as U+FFFD, as TextEncoder and protobuf-es write them).
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 }).map((codes) => String.fromCharCode(...codes)),
);

const session = fc.record({ clientId: uint64, sequence: uint64, respondedTo: uint64 });
const envelope: fc.Arbitrary<WireEnvelope> = fc.record({
  type: fc.string({ maxLength: 30 }),
  session: fc.option(session, { nil: undefined }),
  timestampMs: int64,
  payload: bytes,
});
const result: fc.Arbitrary<WireResult> = fc.oneof(
  fc.record({ case: fc.constant("payload" as const), payload: bytes }),
  fc.record({
    case: fc.constant("error" as const),
    code: fc.integer({ min: -5, max: 40 }),
    message: fc.string({ maxLength: 30 }),
  }),
  fc.constant({ case: undefined }),
);

function envelopeBatchMessage(envelopes: readonly WireEnvelope[]) {
  return create(EnvelopeBatchSchema, { envelopes: envelopes.map((each) => ({ ...each })) });
}

function resultBatchMessage(results: readonly WireResult[]) {
  return create(ResultBatchSchema, {
    results: results.map((each) => ({
      outcome:
        each.case === "payload"
          ? { case: "payload" as const, value: each.payload }
          : each.case === "error"
            ? { case: "error" as const, value: { code: each.code, message: each.message } }
            : { case: undefined },
    })),
  });
}

/** protobuf-es's decoded batch as plain records, to compare with the hand codec's. */
function plainEnvelopes(encoded: Uint8Array): WireEnvelope[] {
  return fromBinary(EnvelopeBatchSchema, encoded).envelopes.map((each) => ({
    type: each.type,
    session:
      each.session === undefined
        ? undefined
        : {
            clientId: each.session.clientId,
            sequence: each.session.sequence,
            respondedTo: each.session.respondedTo,
          },
    timestampMs: each.timestampMs,
    payload: each.payload,
  }));
}

function plainResults(encoded: Uint8Array): WireResult[] {
  return fromBinary(ResultBatchSchema, encoded).results.map(({ outcome }) =>
    outcome.case === "payload"
      ? { case: "payload", payload: outcome.value }
      : outcome.case === "error"
        ? { case: "error", code: outcome.value.code, message: outcome.value.message }
        : { case: undefined },
  );
}

function outcomeOf<T>(decode: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: decode() };
  } catch {
    return { ok: false };
  }
}

describe("envelope wire codec = protobuf-es", () => {
  it("writes the same bytes for one envelope and one result, any text and payload size", () => {
    const anyEnvelope = fc.record({
      type: text,
      session: fc.option(session, { nil: undefined }),
      timestampMs: int64,
      // Lengths written as varints of one, two and three bytes, and either side of each step.
      payload: fc.oneof(bytes, fc.constantFrom(127, 128, 16_383, 16_384, 70_000).map((length) =>
        new Uint8Array(length).fill(length & 0xff))),
    });
    const anyResult: fc.Arbitrary<WireResult> = fc.oneof(
      fc.record({ case: fc.constant("payload" as const), payload: bytes }),
      fc.record({
        case: fc.constant("error" as const),
        code: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        message: text,
      }),
    );
    fc.assert(
      fc.property(anyEnvelope, anyResult, (one, answer) => {
        // Byte arrays compared as Buffers: vitest's deep equality walks 70,000 elements slowly.
        const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
        const written = writeEnvelope(one);
        expect(same(written, toBinary(EnvelopeSchema, create(EnvelopeSchema, { ...one })))).toBe(true);
        const batch = writeEnvelopeBatch([one, one]);
        expect(same(batch, toBinary(EnvelopeBatchSchema, envelopeBatchMessage([one, one])))).toBe(true);
        const { payload, ...rest } = readEnvelope(written);
        const { payload: referencePayload, ...referenceRest } = plainEnvelopes(batch)[0]!;
        expect(rest).toEqual(referenceRest);
        expect(same(payload, referencePayload)).toBe(true);
        const resultBytes = writeResult(answer);
        const [reference] = resultBatchMessage([answer]).results;
        expect(resultBytes).toEqual(toBinary(ResultSchema, reference!));
        expect(readResult(resultBytes)).toEqual(plainResults(writeResultBatch([answer]))[0]);
      }),
      { numRuns: 300 },
    );
  });


  it("writes the same bytes and reads back the same envelopes", () => {
    fc.assert(
      fc.property(fc.array(envelope, { maxLength: 6 }), (envelopes) => {
        const written = writeEnvelopeBatch(envelopes);
        expect(written).toEqual(toBinary(EnvelopeBatchSchema, envelopeBatchMessage(envelopes)));
        expect(readEnvelopeBatch(written)).toEqual(plainEnvelopes(written));
        expect(readEnvelopeBatch(written)).toEqual(envelopes);
      }),
      { numRuns: 300 },
    );
  });

  it("writes the same bytes and reads back the same results", () => {
    fc.assert(
      fc.property(fc.array(result, { maxLength: 6 }), (results) => {
        const written = writeResultBatch(results);
        expect(written).toEqual(toBinary(ResultBatchSchema, resultBatchMessage(results)));
        expect(readResultBatch(written)).toEqual(plainResults(written));
      }),
      { numRuns: 300 },
    );
  });

  it("agrees on arbitrary and mutated bytes: same messages when both accept", () => {
    const mutated = fc
      .tuple(
        fc.array(envelope, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
      )
      .map(([envelopes, at, value]) => {
        const written = writeEnvelopeBatch(envelopes).slice();
        if (written.length > 0) written[at % written.length] = value;
        return written;
      });
    let bothAccepted = 0;
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 60 })), (input) => {
        const hand = outcomeOf(() => readEnvelopeBatch(input));
        const reference = outcomeOf(() => plainEnvelopes(input));
        if (hand.ok && reference.ok) {
          bothAccepted += 1;
          expect(hand.value).toEqual(reference.value);
        }
        // Never more lenient than the reference. (It is stricter in one respect:
        // protobuf-es lets a field overrun the end of its nested message.)
        if (hand.ok && !reference.ok) {
          const shown = [...input].join(", ");
          throw new Error(`hand codec accepted bytes protobuf-es refuses: [${shown}]`);
        }
      }),
      { numRuns: 1_000 },
    );
    expect(bothAccepted).toBeGreaterThan(50);
  });

  it("merges a repeated session field and keeps the last scalar, as protobuf does", () => {
    // Envelope { session { client_id: 1 } session { sequence: 2 } timestamp_ms: 5 timestamp_ms: 6 }
    const inner = [
      ...[0x12, 0x09, 0x09, 1, 0, 0, 0, 0, 0, 0, 0], // session { client_id: 1 }
      ...[0x12, 0x02, 0x10, 0x02], // session { sequence: 2 }
      ...[0x18, 5, 0x18, 6], // timestamp_ms: 5, timestamp_ms: 6
    ];
    const batch = new Uint8Array([0x0a, inner.length, ...inner]);
    expect(readEnvelopeBatch(batch)).toEqual(plainEnvelopes(batch));
    const [read] = readEnvelopeBatch(batch);
    expect(read?.session).toEqual({ clientId: 1n, sequence: 2n, respondedTo: 0n });
    expect(read?.timestampMs).toBe(6n);
  });
});
