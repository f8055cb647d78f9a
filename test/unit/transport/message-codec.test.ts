import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MessageSchema } from "../../../gen/raftkit/v1/raft_pb.js";
import {
  GroupMessageSchema,
  MessageBatchSchema,
  StreamRequestSchema,
} from "../../../gen/raftkit/v1/transport_pb.js";
import { EntryType, MessageType } from "../../../framework/raft/index.js";
import type { Message } from "../../../framework/raft/index.js";
import {
  decodeGroupMessage,
  decodeMessage,
  encodeGroupMessage,
  encodeGroupMessageParts,
  encodeMessage,
  isTransportError,
  messageFromProto,
  messageToProto,
  TransportErrorCode,
} from "../../../framework/transport/index.js";
import { groupMessageArbitrary, messageArbitrary } from "./arbitraries.js";

const heartbeat: Message = {
  type: MessageType.Heartbeat,
  to: 2,
  from: 1,
  term: 7,
  logTerm: 0,
  index: 0,
  entries: [],
  commit: 5,
  snapshot: undefined,
  reject: false,
  rejectHint: 0,
  context: new Uint8Array(0),
};

function expectTransportError(action: () => unknown, code: TransportErrorCode): void {
  try {
    action();
  } catch (error) {
    expect(isTransportError(error, code), String(error)).toBe(true);
    return;
  }
  expect.unreachable(`expected a TransportError(${code})`);
}

describe("message codec", () => {
  it("round-trips any GroupMessage", () => {
    fc.assert(
      fc.property(groupMessageArbitrary, (groupMessage) => {
        expect(decodeGroupMessage(encodeGroupMessage(groupMessage))).toEqual(groupMessage);
      }),
      { numRuns: 500 },
    );
  });

  it("in parts: the same bytes, with the bytes values of at least referenceFrom not copied", () => {
    const referenced = (message: Message, from: number): Uint8Array[] =>
      [
        message.context,
        ...message.entries.map((entry) => entry.data),
        ...(message.snapshot === undefined ? [] : [message.snapshot.data]),
      ].filter((bytes) => bytes.byteLength > 0 && bytes.byteLength >= from);
    fc.assert(
      fc.property(groupMessageArbitrary, fc.integer({ min: 0, max: 64 }), (groupMessage, from) => {
        const whole = encodeGroupMessage(groupMessage);
        const { parts, byteLength } = encodeGroupMessageParts(groupMessage, from);
        expect(byteLength).toBe(whole.byteLength);
        const joined = new Uint8Array(byteLength);
        let at = 0;
        for (const part of parts) {
          joined.set(part, at);
          at += part.byteLength;
        }
        expect(at).toBe(byteLength);
        expect(joined).toEqual(whole);
        // Each referenced value is one of the parts, the very object (not a copy).
        for (const bytes of referenced(groupMessage.message, from)) {
          expect(parts.some((part) => part === bytes)).toBe(true);
        }
        if (referenced(groupMessage.message, from).length === 0) expect(parts.length).toBe(1);
      }),
      { numRuns: 500 },
    );
  });

  it("in parts: bytes values in shared memory (received frames, reused later) are copied, never listed", () => {
    const shared = new Uint8Array(new SharedArrayBuffer(4096), 8, 4000).fill(7);
    const own = new Uint8Array(4000).fill(9);
    const groupMessage = {
      groupId: 4,
      message: {
        ...heartbeat,
        type: MessageType.Append,
        entries: [
          { term: 7, index: 1, type: EntryType.Normal, data: shared },
          { term: 7, index: 2, type: EntryType.Normal, data: own },
        ],
      },
    };
    const whole = encodeGroupMessage(groupMessage);
    const { parts, byteLength } = encodeGroupMessageParts(groupMessage, 1024);
    expect(byteLength).toBe(whole.byteLength);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(whole));
    expect(parts.some((part) => part === own)).toBe(true); // not shared: listed as it is
    expect(parts.some((part) => part.buffer instanceof SharedArrayBuffer)).toBe(false);
    shared.fill(1); // the slab reused: what was encoded does not change
    expect(Buffer.concat(parts)).toEqual(Buffer.from(whole));
    expect(decodeGroupMessage(whole).message.entries[0]!.data.every((byte) => byte === 7)).toBe(true);
  });

  it("writes the same bytes as protobuf-es toBinary", () => {
    fc.assert(
      fc.property(messageArbitrary, (message) => {
        const reference = toBinary(MessageSchema, messageToProto(message));
        expect(encodeMessage(message)).toEqual(reference);
      }),
      { numRuns: 500 },
    );
  });

  it("agrees with protobuf-es fromBinary in both directions", () => {
    fc.assert(
      fc.property(groupMessageArbitrary, ({ groupId, message }) => {
        const ours = encodeGroupMessage({ groupId, message });
        const decodedByEs = fromBinary(GroupMessageSchema, ours);
        expect(decodedByEs.groupId).toBe(BigInt(groupId));
        expect(decodedByEs.message).toBeDefined();
        expect(messageFromProto(decodedByEs.message ?? create(MessageSchema))).toEqual(message);
        const theirs = toBinary(
          GroupMessageSchema,
          create(GroupMessageSchema, {
            groupId: BigInt(groupId),
            message: messageToProto(message),
          }),
        );
        expect(decodeGroupMessage(theirs)).toEqual({ groupId, message });
      }),
      { numRuns: 300 },
    );
  });

  it("a StreamRequest of encoded messages is a valid MessageBatch on the wire", () => {
    fc.assert(
      fc.property(fc.array(groupMessageArbitrary, { maxLength: 5 }), (groupMessages) => {
        const frame = create(StreamRequestSchema, {
          fromNodeId: 3n,
          clusterId: 99n,
          messages: groupMessages.map(encodeGroupMessage),
        });
        const batch = fromBinary(MessageBatchSchema, toBinary(StreamRequestSchema, frame));
        expect(batch.fromNodeId).toBe(3n);
        expect(batch.clusterId).toBe(99n);
        const decoded = batch.messages.map((item) => ({
          groupId: Number(item.groupId),
          message: messageFromProto(item.message ?? create(MessageSchema)),
        }));
        expect(decoded).toEqual(groupMessages);
      }),
      { numRuns: 100 },
    );
  });

  it("reads unpacked repeated node ids and skips unknown fields", () => {
    const writer = new BinaryWriter();
    writer.tag(1, WireType.Varint).int32(MessageType.Snapshot);
    writer.tag(99, WireType.LengthDelimited).bytes(new Uint8Array([1, 2, 3]));
    writer.tag(9, WireType.LengthDelimited).fork(); // Snapshot
    writer.tag(1, WireType.LengthDelimited).fork(); // SnapshotMetadata
    writer.tag(3, WireType.LengthDelimited).fork(); // ConfState, voters unpacked
    writer.tag(1, WireType.Varint).uint32(4).tag(1, WireType.Varint).uint32(5);
    writer.tag(3, WireType.LengthDelimited).fork().uint32(6).uint32(7).join(); // packed
    writer.join().join().join();
    writer.tag(77, WireType.Bit64).fixed64(12n);
    const message = decodeMessage(writer.finish());
    expect(message.snapshot?.metadata.confState.voters).toEqual([4, 5]);
    expect(message.snapshot?.metadata.confState.votersOutgoing).toEqual([6, 7]);
  });
});

describe("message codec on malformed input", () => {
  it("never throws anything but a TransportError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeGroupMessage(bytes);
        } catch (error) {
          expect(isTransportError(error), String(error)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects any truncation with a TransportError or decodes a prefix", () => {
    fc.assert(
      fc.property(groupMessageArbitrary, fc.nat(), (groupMessage, cut) => {
        const bytes = encodeGroupMessage(groupMessage);
        const truncated = bytes.subarray(0, cut % Math.max(1, bytes.length));
        try {
          decodeGroupMessage(truncated);
        } catch (error) {
          expect(isTransportError(error), String(error)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("names each kind of corruption", () => {
    const valid = encodeMessage(heartbeat);
    expectTransportError(
      () => decodeMessage(valid.subarray(0, valid.length - 1)),
      TransportErrorCode.Malformed,
    );
    // term = 2^53 does not fit a JS number exactly.
    const big = new BinaryWriter()
      .tag(1, WireType.Varint)
      .int32(8)
      .tag(4, WireType.Varint)
      .uint64(2n ** 53n)
      .finish();
    expectTransportError(() => decodeMessage(big), TransportErrorCode.Malformed);
    const wrongWireType = new BinaryWriter()
      .tag(4, WireType.LengthDelimited)
      .bytes(new Uint8Array(1))
      .finish();
    expectTransportError(() => decodeMessage(wrongWireType), TransportErrorCode.Malformed);
    const noType = new BinaryWriter().tag(4, WireType.Varint).uint32(3).finish();
    expectTransportError(() => decodeMessage(noType), TransportErrorCode.InvalidMessage);
    const badType = new BinaryWriter().tag(1, WireType.Varint).uint32(13).finish();
    expectTransportError(() => decodeMessage(badType), TransportErrorCode.InvalidMessage);
    const overlong = new Uint8Array([
      8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1,
    ]);
    expectTransportError(() => decodeMessage(overlong), TransportErrorCode.Malformed);
    const group = new Uint8Array([(5 << 3) | 3]);
    expectTransportError(() => decodeMessage(group), TransportErrorCode.Malformed);
    expectTransportError(
      () => decodeGroupMessage(new Uint8Array([8, 1])),
      TransportErrorCode.Malformed,
    );
  });

  it("refuses to encode values the schema cannot carry", () => {
    expectTransportError(
      () => encodeMessage({ ...heartbeat, term: -1 }),
      TransportErrorCode.InvalidMessage,
    );
    expectTransportError(
      () => encodeMessage({ ...heartbeat, commit: 1.5 }),
      TransportErrorCode.InvalidMessage,
    );
    expectTransportError(
      () => encodeMessage({ ...heartbeat, index: 2 ** 53 }),
      TransportErrorCode.InvalidMessage,
    );
    expectTransportError(
      () => encodeGroupMessage({ groupId: Number.NaN, message: heartbeat }),
      TransportErrorCode.InvalidMessage,
    );
    // A failed encode leaves the shared writer clean for the next message.
    expect(decodeMessage(encodeMessage(heartbeat))).toEqual(heartbeat);
  });
});
