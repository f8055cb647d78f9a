/**
 * Codec micro-benchmark: the hand-written raft Message codec
 * (framework/transport/message-codec.ts) against protobuf-es create() +
 * toBinary / fromBinary + conversion to the core's number records, on the
 * messages the transport carries most: appends with 64-byte entries and
 * heartbeats. Prints messages/s and the ratio; both sides run in this process.
 *
 *   npx tsx test/bench/transport-codec.ts
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { GroupMessageSchema } from "../../gen/raftkit/v1/transport_pb.js";
import { create } from "@bufbuild/protobuf";
import type { Message } from "../../framework/raft/index.js";
import { EntryType, MessageType } from "../../framework/raft/index.js";
import type { GroupMessage } from "../../framework/transport/index.js";
import {
  decodeGroupMessage,
  encodeGroupMessage,
  messageFromProto,
  messageToProto,
} from "../../framework/transport/index.js";

function appendMessage(entryCount: number): Message {
  const entries = Array.from({ length: entryCount }, (_, i) => ({
    term: 12,
    index: 100_000 + i,
    type: EntryType.Normal,
    data: new Uint8Array(64).fill(i),
  }));
  return {
    type: MessageType.Append,
    to: 2,
    from: 1,
    term: 12,
    logTerm: 12,
    index: 99_999,
    entries,
    commit: 99_990,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: new Uint8Array(0),
  };
}

const heartbeat: Message = {
  ...appendMessage(0),
  type: MessageType.Heartbeat,
  index: 0,
  logTerm: 0,
};

function encodeWithProtobufEs(groupMessage: GroupMessage): Uint8Array {
  return toBinary(
    GroupMessageSchema,
    create(GroupMessageSchema, {
      groupId: BigInt(groupMessage.groupId),
      message: messageToProto(groupMessage.message),
    }),
  );
}

function decodeWithProtobufEs(bytes: Uint8Array): GroupMessage {
  const decoded = fromBinary(GroupMessageSchema, bytes);
  if (decoded.message === undefined) throw new Error("no message");
  return { groupId: Number(decoded.groupId), message: messageFromProto(decoded.message) };
}

/** Runs `action` for about `durationMs` after a warm-up; returns calls per second. */
function measure(action: () => void, durationMs = 1500): number {
  for (let i = 0; i < 20_000; i++) action();
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (let i = 0; i < 1000; i++) action();
    calls += 1000;
    elapsed = performance.now() - start;
  }
  return (calls / elapsed) * 1000;
}

function report(name: string, baseline: number, candidate: number): void {
  const fmt = (value: number): string => Math.round(value).toLocaleString("en-US").padStart(11);
  console.log(
    `${name.padEnd(34)} protobuf-es ${fmt(baseline)}/s   hand-written ${fmt(candidate)}/s` +
      `   ratio ${(candidate / baseline).toFixed(2)}x`,
  );
}

let sink = 0;
for (const [name, message] of [
  ["heartbeat", heartbeat],
  ["append, 1 entry of 64 B", appendMessage(1)],
  ["append, 16 entries of 64 B", appendMessage(16)],
] as const) {
  const groupMessage: GroupMessage = { groupId: 4711, message };
  const bytes = encodeGroupMessage(groupMessage);
  report(
    `encode ${name}`,
    measure(() => {
      sink += encodeWithProtobufEs(groupMessage).length;
    }),
    measure(() => {
      sink += encodeGroupMessage(groupMessage).length;
    }),
  );
  report(
    `decode ${name}`,
    measure(() => {
      sink += decodeWithProtobufEs(bytes).message.entries.length;
    }),
    measure(() => {
      sink += decodeGroupMessage(bytes).message.entries.length;
    }),
  );
}
console.log(`(checksum ${sink})`);
