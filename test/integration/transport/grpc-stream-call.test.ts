import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { StreamRequestSchema } from "../../../gen/raftkit/v1/transport_pb.js";
import type { EncodedMessage } from "../../../framework/transport/grpc-stream-call.js";
import {
  GrpcStreamCall,
  streamRequestParts,
} from "../../../framework/transport/grpc-stream-call.js";
import {
  encodeGroupMessage,
  isTransportError,
  TransportErrorCode,
} from "../../../framework/transport/index.js";
import { EntryType, MessageType } from "../../../framework/raft/index.js";
import { heartbeat } from "../../unit/transport/helpers.js";
import { clusterId, startCluster, waitFor } from "./harness.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const streamPath = "/raftkit.v1.TransportService/Stream";

const whole = (bytes: Uint8Array): EncodedMessage => ({ byteLength: bytes.byteLength, parts: [bytes] });

function joined(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.byteLength;
  }
  return bytes;
}

/** All the call's responses, or the error it ended with. */
async function drain(call: GrpcStreamCall): Promise<{ responses: Uint8Array[]; error?: unknown }> {
  const responses: Uint8Array[] = [];
  try {
    for await (const response of call.responses()) responses.push(Uint8Array.from(response));
    return { responses };
  } catch (error) {
    return { responses, error };
  }
}

function openCall(url: string, maxResponseBytes = 64 * 1024): GrpcStreamCall {
  const call = new GrpcStreamCall(url, streamPath, { "x-raftkit-node": "1" }, maxResponseBytes);
  cleanups.push(() => call.close());
  return call;
}

/** A bare h2c server answering every stream with `respond`. */
async function rawServer(respond: (stream: http2.ServerHttp2Stream) => void): Promise<string> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream) => {
    stream.on("error", () => undefined);
    respond(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return `http://127.0.0.1:${address.port}`;
}

function envelope(flags: number, payload: Uint8Array, declaredLength = payload.byteLength): Buffer {
  const bytes = Buffer.alloc(5 + payload.byteLength);
  bytes[0] = flags;
  bytes.writeUInt32BE(declaredLength, 1);
  bytes.set(payload, 5);
  return bytes;
}

describe("streamRequestParts", () => {
  it("joined, the parts are protobuf-es's encoding of the StreamRequest", () => {
    const sizes = [[], [0], [1], [127, 128], [300, 16_384, 70_000], [1, 2, 3, 4, 5, 6, 7, 8]];
    const ids = [0, 1, 127, 128, 2 ** 31, 2 ** 53 - 1];
    let cases = 0;
    for (const messageSizes of sizes) {
      const messages = messageSizes.map((size, index) =>
        new Uint8Array(size).fill((index * 37 + 11) & 0xff),
      );
      for (const fromNodeId of ids) {
        for (const cluster of ids) {
          const encoded = messages.map((message) => ({
            byteLength: message.byteLength,
            parts: [message],
          }));
          const parts = streamRequestParts(fromNodeId, cluster, encoded);
          const request = create(StreamRequestSchema, {
            fromNodeId: BigInt(fromNodeId),
            clusterId: BigInt(cluster),
            messages,
          });
          const expected = toBinary(StreamRequestSchema, request);
          // Byte-wise (toEqual walks large arrays element by element, slowly).
          expect(Buffer.from(joined(parts)).equals(Buffer.from(expected))).toBe(true);
          expect(joined(parts).byteLength).toBe(expected.byteLength);
          // The messages' bytes go out as they are, not copied.
          for (const message of messages) {
            if (message.byteLength > 0) expect(parts).toContain(message);
          }
          cases++;
        }
      }
    }
    expect(cases).toBe(sizes.length * ids.length * ids.length);
  });
});

describe("GrpcStreamCall against the transport service", () => {
  it("delivers a batch and reads its acknowledgement", async () => {
    const { nodes, addresses } = await startCluster([1, 2]);
    cleanups.push(async () => {
      for (const node of nodes) await node.stop();
    });
    const receiver = nodes[1]!;
    const call = openCall(addresses.get(2)!);
    const message = encodeGroupMessage({ groupId: 3, message: heartbeat(1, 2, 7) });
    expect(call.write(streamRequestParts(1, clusterId, [whole(message), whole(message)]))).toBe(true);
    const iterator = call.responses()[Symbol.asyncIterator]();
    const first = await iterator.next();
    // StreamResponse { batches_received: 1 }
    expect(first.done).toBe(false);
    expect(Uint8Array.from(first.value ?? [])).toEqual(new Uint8Array([0x08, 0x01]));
    await waitFor("both messages", () => receiver.handler.received.length === 2);
    expect(receiver.handler.received.map((r) => [r.from, r.groupId, r.message.term])).toEqual([
      [1, 3, 7],
      [1, 3, 7],
    ]);
    call.close();
    const rest = await iterator.next().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isTransportError(rest) && rest.code).toBe(TransportErrorCode.Closed);
  });

  it("ends with the server's gRPC status and message when it refuses the stream", async () => {
    const { nodes, addresses } = await startCluster([1, 2]);
    cleanups.push(async () => {
      for (const node of nodes) await node.stop();
    });
    const call = openCall(addresses.get(2)!);
    const message = encodeGroupMessage({ groupId: 3, message: heartbeat(1, 2, 7) });
    call.write(streamRequestParts(1, clusterId + 1, [whole(message)]));
    const { responses, error } = await drain(call);
    expect(responses).toEqual([]);
    expect(isTransportError(error) && error.code).toBe(TransportErrorCode.Unreachable);
    // FailedPrecondition (9), with the receiver's reason.
    expect(String(error)).toMatch(/gRPC status 9: .*cluster/);
    expect(call.open).toBe(false);
    expect(() => call.write([message])).toThrow(/gRPC status 9/);
  });
});

describe("the connect transport over GrpcStreamCall", () => {
  it("delivers appends whose large entries went by reference, byte for byte", async () => {
    const { nodes } = await startCluster([1, 2]);
    cleanups.push(async () => {
      for (const node of nodes) await node.stop();
    });
    const [sender, receiver] = [nodes[0]!, nodes[1]!];
    const sizes = [0, 100, 4095, 4096, 4097, 300_000, 70_000];
    const sent = sizes.map((size, index) => {
      const data = new Uint8Array(size);
      for (let at = 0; at < size; at++) data[at] = (at * 31 + index * 7) & 0xff;
      const entries = [
        { term: 2, index: 10 + index, type: EntryType.Normal, data },
        { term: 2, index: 11 + index, type: EntryType.Normal, data: data.subarray(size >> 1) },
      ];
      return { ...heartbeat(1, 2, 2), type: MessageType.Append, index: 9 + index, entries };
    });
    sender.transport.send(sent.map((message) => ({ groupId: 5, message })));
    await waitFor("every append", () => receiver.handler.received.length === sent.length);
    receiver.handler.received.forEach((received, index) => {
      const expected = sent[index]!;
      expect({ ...received.message, entries: [] }).toEqual({ ...expected, entries: [] });
      expect(received.message.entries.length).toBe(2);
      received.message.entries.forEach((entry, at) => {
        const want = expected.entries[at]!;
        expect([entry.term, entry.index, entry.type]).toEqual([want.term, want.index, want.type]);
        expect(Buffer.from(entry.data).equals(Buffer.from(want.data))).toBe(true);
      });
    });
  });
});

describe("GrpcStreamCall refuses bad answers", () => {
  it("an HTTP status other than 200 is Unreachable", async () => {
    const url = await rawServer((stream) => {
      stream.respond({ ":status": 503 });
      stream.end();
    });
    const { error } = await drain(openCall(url));
    expect(isTransportError(error) && error.code).toBe(TransportErrorCode.Unreachable);
    expect(String(error)).toMatch(/HTTP status 503/);
  });

  it("a response message above the limit is FrameTooLarge, before it arrives whole", async () => {
    const url = await rawServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto" });
      stream.write(envelope(0, new Uint8Array(10), 1_000_000));
    });
    const { error } = await drain(openCall(url, 1024));
    expect(isTransportError(error) && error.code).toBe(TransportErrorCode.FrameTooLarge);
    expect(String(error)).toMatch(/1000000 bytes, allowed ≤ 1024/);
  });

  it("a compressed response message is Malformed", async () => {
    const url = await rawServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto" });
      stream.write(envelope(1, new Uint8Array([0x08, 0x01])));
    });
    const { error } = await drain(openCall(url));
    expect(isTransportError(error) && error.code).toBe(TransportErrorCode.Malformed);
  });

  it("messages split across chunks are reassembled; a stream closed without a status fails", async () => {
    const url = await rawServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto" });
      const two = Buffer.concat([
        envelope(0, new Uint8Array([0x08, 0x01])),
        envelope(0, new Uint8Array([0x08, 0x02])),
      ]);
      // One byte per DATA frame, then the stream is reset without trailers.
      let at = 0;
      const next = (): void => {
        if (at < two.length) {
          stream.write(two.subarray(at, at + 1), next);
          at++;
        } else {
          stream.close(http2.constants.NGHTTP2_CANCEL);
        }
      };
      next();
    });
    const { responses, error } = await drain(openCall(url));
    expect(responses).toEqual([new Uint8Array([0x08, 0x01]), new Uint8Array([0x08, 0x02])]);
    expect(isTransportError(error) && error.code).toBe(TransportErrorCode.Unreachable);
  });

  it("a status 0 in the trailers ends the responses normally", async () => {
    const url = await rawServer((stream) => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc+proto" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(envelope(0, new Uint8Array([0x08, 0x05])));
    });
    const call = openCall(url);
    expect(await drain(call)).toEqual({ responses: [new Uint8Array([0x08, 0x05])] });
    expect(call.open).toBe(false);
  });
});
