import { create, toBinary } from "@bufbuild/protobuf";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport as createConnectProtocolTransport } from "@connectrpc/connect-node";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import {
  StreamRequestSchema,
  TransportService,
} from "../../../gen/raftkit/v1/transport_pb.js";
import type { RawStreamRequest } from "../../../framework/transport/raw-stream-handler.js";
import {
  decodeStreamRequest,
  wrapStreamHandler,
} from "../../../framework/transport/raw-stream-handler.js";
import type { FrameSlabs } from "../../../framework/transport/frame-slabs.js";
import { createFrameSlabs } from "../../../framework/transport/frame-slabs.js";
import type { GroupMessage, Logger, Transport, TransportHandler, TransportLimits } from "../../../framework/transport/index.js";
import {
  createConnectTransport,
  createSilentLogger,
  createSystemClock,
  createTransportLimits,
  encodeGroupMessage,
  registerTransportService,
} from "../../../framework/transport/index.js";
import { listenDualProtocol } from "../../../framework/server/dual-protocol-listener.js";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createSeededRandom, EntryType, MessageType } from "../../../framework/raft/index.js";
import { heartbeat } from "../../unit/transport/helpers.js";
import { clusterId, startCluster, waitFor } from "./harness.js";

// The collector on demand: a slab comes back only once the collector found no view of it.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function envelope(payload: Uint8Array, flags = 0): Uint8Array {
  const bytes = new Uint8Array(5 + payload.byteLength);
  bytes[0] = flags;
  new DataView(bytes.buffer).setUint32(1, payload.byteLength, false);
  bytes.set(payload, 5);
  return bytes;
}

function requestBytes(fromNodeId: number, cluster: number, messages: Uint8Array[]): Uint8Array {
  const request = create(StreamRequestSchema, {
    fromNodeId: BigInt(fromNodeId),
    clusterId: BigInt(cluster),
    messages,
  });
  return toBinary(StreamRequestSchema, request);
}

async function* chunksOf(chunks: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const chunk of chunks) {
    await Promise.resolve();
    yield chunk;
  }
}

/** A fake connect handler that counts the calls it was given. */
function fallbackHandler(): UniversalHandler & { calls: number } {
  const handler = Object.assign(
    async () => {
      handler.calls++;
      return { status: 299 };
    },
    {
      calls: 0,
      protocolNames: ["connect", "grpc", "grpcweb"],
      service: TransportService,
      method: TransportService.method.stream,
      requestPath: "/raftkit.v1.TransportService/Stream",
      allowedMethods: ["POST"],
      supportedContentType: () => true,
    },
  );
  return handler as unknown as UniversalHandler & { calls: number };
}

function request(
  headers: Record<string, string>,
  body: AsyncIterable<Uint8Array>,
): UniversalServerRequest {
  return {
    httpVersion: "2.0",
    url: "http://127.0.0.1/raftkit.v1.TransportService/Stream",
    method: "POST",
    header: new Headers(headers),
    body,
    signal: new AbortController().signal,
  };
}

/** Runs one call through the wrapped handler; returns what it decoded, the answer and its trailer. */
/**
 * Node 2's transport service on the node's own listener (HTTP/1.1 and h2c on
 * one port, as raftkit nodes serve it) and node 1's transport sending to it;
 * both are closed after the test.
 */
async function senderToListener(
  handler: TransportHandler,
  options: { readonly limits: TransportLimits; readonly logger: Logger; readonly frameSlabs?: FrameSlabs },
): Promise<Transport> {
  const { limits, logger, frameSlabs } = options;
  const listener = await listenDualProtocol(
    "127.0.0.1",
    0,
    connectNodeAdapter({
      routes: (router) =>
        registerTransportService(router, {
          nodeId: 2,
          clusterId,
          handler,
          limits,
          logger,
          ...(frameSlabs === undefined ? {} : { frameSlabs }),
        }),
    }),
  );
  cleanups.push(() => listener.closeConnections());
  const sender = createConnectTransport({
    nodeId: 1,
    clusterId,
    resolvePeer: () => `http://127.0.0.1:${listener.port}`,
    handler,
    clock: createSystemClock(),
    random: createSeededRandom(1),
    logger,
  });
  await sender.start();
  cleanups.push(() => sender.close());
  return sender;
}

async function serveRaw(
  chunks: readonly Uint8Array[],
  readMaxBytes = 1 << 20,
  headers: Record<string, string> = { "content-type": "application/grpc+proto" },
  // Small slabs: frames fill them, move on to the next and, with both lent, get fresh memory.
  frameSlabs: FrameSlabs = createFrameSlabs({ slabBytes: 64, maxSlabs: 2 }),
): Promise<{
  requests: RawStreamRequest[];
  body: Uint8Array[];
  status: number;
  trailer: Record<string, string>;
  fallbackCalls: number;
}> {
  const requests: RawStreamRequest[] = [];
  const fallback = fallbackHandler();
  const handler = wrapStreamHandler(
    fallback,
    {
      async *serve(incoming) {
        for await (const decoded of incoming) {
          requests.push(decoded);
          yield requests.length;
        }
      },
    },
    readMaxBytes,
    frameSlabs,
  );
  const response = await handler(request(headers, chunksOf(chunks)));
  const body: Uint8Array[] = [];
  for await (const chunk of response.body ?? []) body.push(chunk);
  const trailer: Record<string, string> = {};
  response.trailer?.forEach((value, key) => (trailer[key] = value));
  return { requests, body, status: response.status, trailer, fallbackCalls: fallback.calls };
}

describe("the raw Stream handler", () => {
  const message = (term: number): Uint8Array =>
    encodeGroupMessage({ groupId: 3, message: heartbeat(1, 2, term) });
  const frames = [
    envelope(requestBytes(1, clusterId, [message(1), message(2)])),
    envelope(requestBytes(1, clusterId, [])),
    envelope(requestBytes(1, clusterId, [message(3)])),
  ];
  const all = new Uint8Array(frames.reduce((sum, frame) => sum + frame.byteLength, 0));
  frames.reduce((at, frame) => (all.set(frame, at), at + frame.byteLength), 0);

  it("decodes frames however the body is cut: whole, one byte at a time, several per chunk", async () => {
    const cuts: Uint8Array[][] = [
      frames,
      [all],
      [...all].map((byte) => new Uint8Array([byte])),
      [all.subarray(0, 3), all.subarray(3, 40), all.subarray(40)],
      // node's body chunks are Buffers: what is handed on must still be plain Uint8Arrays.
      [Buffer.from(all)],
      frames.map((frame) => Buffer.from(frame)),
    ];
    for (const chunks of cuts) {
      const result = await serveRaw(chunks);
      expect(result.fallbackCalls).toBe(0);
      expect(result.status).toBe(200);
      expect(result.trailer).toEqual({ "grpc-status": "0" });
      expect(result.requests.map((r) => [r.fromNodeId, r.clusterId, r.messages.length])).toEqual([
        [1n, BigInt(clusterId), 2],
        [1n, BigInt(clusterId), 0],
        [1n, BigInt(clusterId), 1],
      ]);
      // Not Buffers (whose slice() does not copy: the event store's decoder relies on it).
      for (const m of result.requests.flatMap((r) => r.messages)) {
        expect(Buffer.isBuffer(m)).toBe(false);
        expect(Object.getPrototypeOf(m)).toBe(Uint8Array.prototype);
      }
      expect(result.requests.flatMap((r) => r.messages.map((m) => [...m]))).toEqual(
        [message(1), message(2), message(3)].map((m) => [...m]),
      );
      // StreamResponse { batches_received: n } in envelopes.
      expect(result.body.map((chunk) => [...chunk])).toEqual([
        [0, 0, 0, 0, 2, 0x08, 1],
        [0, 0, 0, 0, 2, 0x08, 2],
        [0, 0, 0, 0, 2, 0x08, 3],
      ]);
    }
  });

  it("refuses a frame above readMaxBytes, a compressed frame and a body cut inside a frame", async () => {
    const big = await serveRaw([envelope(new Uint8Array(2000))], 1000);
    expect(big.trailer["grpc-status"]).toBe(String(Code.ResourceExhausted));
    expect(decodeURIComponent(big.trailer["grpc-message"] ?? "")).toMatch(/2000 .* 1000/);
    const compressed = await serveRaw([envelope(requestBytes(1, clusterId, []), 1)]);
    expect(compressed.trailer["grpc-status"]).toBe(String(Code.InvalidArgument));
    const cut = await serveRaw([frames[0]!, frames[2]!.subarray(0, 9)]);
    expect(cut.requests.length).toBe(1);
    expect(cut.trailer["grpc-status"]).toBe(String(Code.InvalidArgument));
    expect(decodeURIComponent(cut.trailer["grpc-message"] ?? "")).toMatch(/ends inside a frame/);
  });

  it("hands every other form of the call to connect's handler", async () => {
    const forms: Record<string, string>[] = [
      { "content-type": "application/connect+proto" },
      { "content-type": "application/grpc+json" },
      { "content-type": "application/grpc-web+proto" },
      { "content-type": "application/grpc+proto", "grpc-encoding": "gzip" },
      { "content-type": "application/grpc+proto", "grpc-timeout": "5S" },
    ];
    for (const headers of forms) {
      const result = await serveRaw([all], 1 << 20, headers);
      expect(result.fallbackCalls, JSON.stringify(headers)).toBe(1);
      expect(result.status).toBe(299);
      expect(result.requests).toEqual([]);
    }
  });

  it("decodes StreamRequest as protobuf-es encodes it, skipping unknown fields", () => {
    const bytes = requestBytes(2 ** 40, 7, [message(4), new Uint8Array(0)]);
    // An unknown varint field 9 and an unknown length-delimited field 10 appended.
    const extended = new Uint8Array([...bytes, 0x48, 0x05, 0x52, 0x02, 0xaa, 0xbb]);
    const decoded = decodeStreamRequest(extended);
    expect([decoded.fromNodeId, decoded.clusterId]).toEqual([2n ** 40n, 7n]);
    expect(decoded.messages.map((m) => [...m])).toEqual([[...message(4)], []]);
    // messages as a varint: a known field with the wrong wire type.
    expect(() => decodeStreamRequest(new Uint8Array([0x18, 0x01]))).toThrow(/wire type/);
  });
});

describe("the transport service on a node's server", () => {
  it("serves the Connect protocol's Stream through connect and gRPC's by hand, alike", async () => {
    const { nodes, addresses } = await startCluster([1, 2]);
    cleanups.push(async () => {
      for (const node of nodes) await node.stop();
    });
    const [sender, receiver] = [nodes[0]!, nodes[1]!];
    // gRPC (the transport's own client): served by hand.
    sender.transport.send([{ groupId: 3, message: heartbeat(1, 2, 5) }]);
    await waitFor("the gRPC batch", () => receiver.handler.received.length === 1);
    // Connect protocol over HTTP/2: connect's handler.
    const client = createClient(
      TransportService,
      createConnectProtocolTransport({ baseUrl: addresses.get(2)!, httpVersion: "2" }),
    );
    async function* requests(): AsyncIterable<{
      fromNodeId: bigint;
      clusterId: bigint;
      messages: Uint8Array[];
    }> {
      yield { fromNodeId: 1n, clusterId: BigInt(clusterId), messages: [message(6)] };
    }
    const acks: bigint[] = [];
    for await (const ack of client.stream(requests())) acks.push(ack.batchesReceived);
    expect(acks).toEqual([1n]);
    expect(receiver.handler.received.map((r) => r.message.term)).toEqual([5, 6]);
  });

  it("appends through the node's listener keep their bytes after later batches arrived", async () => {
    // The node's own listener (HTTP/1.1 and h2c on one port), as raftkit nodes serve the transport.
    const received: Array<{ readonly data: Uint8Array }> = [];
    const logger = createSilentLogger();
    const limits = createTransportLimits();
    const handler = {
      onMessages: (_from: number, messages: readonly GroupMessage[]) => {
        for (const { message } of messages) received.push({ data: message.entries[0]!.data });
      },
      onSnapshot: async () => {
        throw new Error("no snapshots here");
      },
      onUnreachable: () => undefined,
    };
    const sender = await senderToListener(handler, { limits, logger });
    // Small appends, one batch per turn: each frame arrives whole in one read.
    const rounds = 200;
    const dataOf = (round: number): Uint8Array =>
      Uint8Array.from({ length: 64 + (round % 300) }, (_, at) => (at * 13 + round * 7) & 0xff);
    for (let round = 0; round < rounds; round++) {
      const entry = { term: 2, index: round + 1, type: EntryType.Normal, data: dataOf(round) };
      const append = { ...heartbeat(1, 2, 2), type: MessageType.Append, index: round, entries: [entry] };
      sender.send([{ groupId: 7, message: append }]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor("every append", () => received.length === rounds);
    const wrong = received.filter(({ data }, round) => !Buffer.from(data).equals(Buffer.from(dataOf(round))));
    expect(wrong.length).toBe(0);
    // Handed on as plain Uint8Arrays, never node Buffers (slice() must copy).
    expect(received.filter(({ data }) => Object.getPrototypeOf(data) !== Uint8Array.prototype).length).toBe(0);
  });

  it("appends kept by a late reader keep their bytes while the other frames' slabs are reused", async () => {
    // Small slabs: ~4 frames each, so slabs are collected and lent again many times over the run;
    // the 12 kept frames pin at most 12 of the 16.
    const frameSlabs = createFrameSlabs({ slabBytes: 2048, maxSlabs: 16 });
    const kept: Array<{ readonly round: number; readonly data: Uint8Array }> = [];
    let receivedCount = 0;
    const logger = createSilentLogger();
    const handler = {
      onMessages: (_from: number, messages: readonly GroupMessage[]) => {
        for (const { message } of messages) {
          const entry = message.entries[0]!;
          // Every 25th is kept (a late reader); the others are dropped at once.
          if (entry.index % 25 === 0) kept.push({ round: entry.index - 1, data: entry.data });
          receivedCount++;
        }
      },
      onSnapshot: async () => {
        throw new Error("no snapshots here");
      },
      onUnreachable: () => undefined,
    };
    const sender = await senderToListener(handler, { limits: createTransportLimits(), logger, frameSlabs });
    const rounds = 300;
    const dataOf = (round: number): Uint8Array =>
      Uint8Array.from({ length: 300 + (round % 200) }, (_, at) => (at * 31 + round * 11) & 0xff);
    for (let round = 0; round < rounds; round++) {
      const entry = { term: 2, index: round + 1, type: EntryType.Normal, data: dataOf(round) };
      const append = { ...heartbeat(1, 2, 2), type: MessageType.Append, index: round, entries: [entry] };
      sender.send([{ groupId: 7, message: append }]);
      await waitFor(`append ${round + 1}`, () => receivedCount === round + 1);
      if (round % 10 === 9) collectGarbage();
    }
    expect(kept.length).toBe(rounds / 25);
    const wrong = kept.filter(({ round, data }) => !Buffer.from(data).equals(Buffer.from(dataOf(round))));
    expect(wrong.map(({ round }) => round)).toEqual([]);
    expect(kept.every(({ data }) => data.buffer instanceof SharedArrayBuffer)).toBe(true);
    // Not vacuous: slabs were collected and lent again while the kept views lived.
    expect(frameSlabs.stats.returns).toBeGreaterThan(10);
    expect(frameSlabs.stats.lendings).toBeGreaterThan(frameSlabs.stats.slabs + 10);
  });

  function message(term: number): Uint8Array {
    return encodeGroupMessage({ groupId: 3, message: heartbeat(1, 2, term) });
  }
});
