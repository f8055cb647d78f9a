/**
 * Transport throughput: small raft messages (Append with one 64-byte entry)
 * from node 1 to node 2 through one ConnectTransport pair on loopback h2c,
 * against a baseline measured in the same run: unary Connect (gRPC) calls
 * carrying one message each, 64 in flight, served by the same process.
 *
 *   npm run bench:transport            (BENCH_SECONDS=5 to lengthen each phase)
 */
import * as http2 from "node:http2";
import type { DescMethod, DescMethodUnary } from "@bufbuild/protobuf";
import { create, createFileRegistry, isMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createConnectTransport as createConnectProtocolTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import {
  file_raftkit_v1_transport,
  StreamRequestSchema,
  StreamResponseSchema,
} from "../../gen/raftkit/v1/transport_pb.js";
import type { Message, NodeId } from "../../framework/raft/index.js";
import { createSeededRandom, EntryType, MessageType } from "../../framework/raft/index.js";
import type { GroupMessage, TransportHandler } from "../../framework/transport/index.js";
import {
  createConnectTransport,
  createSilentLogger,
  createSystemClock,
  createTransportLimits,
  decodeGroupMessage,
  encodeGroupMessage,
  registerTransportService,
} from "../../framework/transport/index.js";

const seconds = Number(process.env.BENCH_SECONDS ?? "3");
const groups = 1000;
const limits = createTransportLimits();

function append(from: NodeId, to: NodeId, index: number): Message {
  return {
    type: MessageType.Append,
    to,
    from,
    term: 9,
    logTerm: 9,
    index: index - 1,
    entries: [
      { term: 9, index, type: EntryType.Normal, data: new Uint8Array(64).fill(index & 0xff) },
    ],
    commit: index - 1,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: new Uint8Array(0),
  };
}

/** A unary rpc for the baseline only, described at run time (not part of the product's schema). */
function unaryBenchMethod(): DescMethodUnary {
  const file = create(FileDescriptorProtoSchema, {
    name: "raftkit/bench/unary.proto",
    package: "raftkit.bench",
    dependency: ["raftkit/v1/transport.proto"],
    syntax: "proto3",
    service: [
      {
        name: "UnaryBenchService",
        method: [
          {
            name: "Send",
            inputType: ".raftkit.v1.StreamRequest",
            outputType: ".raftkit.v1.StreamResponse",
          },
        ],
      },
    ],
  });
  const registry = createFileRegistry(file, (name) =>
    name === "raftkit/v1/transport.proto" ? file_raftkit_v1_transport : undefined,
  );
  const method = registry.getService("raftkit.bench.UnaryBenchService")?.methods[0];
  if (method === undefined || !isUnary(method)) throw new Error("bench method not built");
  return method;
}

function isUnary(method: DescMethod): method is DescMethodUnary {
  return method.methodKind === "unary";
}

const counters = { messages: 0, batches: 0, dropped: 0 };
let onDelivered: (() => void) | undefined;
const handler: TransportHandler = {
  onMessages(_from: NodeId, messages: readonly GroupMessage[]): void {
    counters.batches++;
    counters.messages += messages.length;
    onDelivered?.();
  },
  onSnapshot: async () => {
    throw new Error("no snapshots in this benchmark");
  },
  onUnreachable(): void {
    counters.dropped++;
  },
};

async function startServer(
  routes: (router: ConnectRouter) => void,
): Promise<[http2.Http2Server, string]> {
  const server = http2.createServer(connectNodeAdapter({ routes }));
  // Idle client sessions would keep server.close() waiting; cut them on close.
  server.on("session", (session) => sessions.add(session));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("expected a TCP address");
  return [server, `http://127.0.0.1:${address.port}`];
}

const sessions = new Set<http2.ServerHttp2Session>();
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Streams appends 1 → 2 for `seconds`, keeping at most `window` messages unreceived. */
async function measureStream(
  url: string,
): Promise<{ messages: number; batches: number; elapsed: number }> {
  const transport = createConnectTransport({
    nodeId: 1,
    clusterId: 1,
    resolvePeer: (peer) => (peer === 2 ? url : undefined),
    handler,
    clock: createSystemClock(),
    random: createSeededRandom(1),
    logger: createSilentLogger(),
    limits,
  });
  await transport.start();
  const window = 4096;
  const burst = 256;
  let sent = 0;
  counters.messages = counters.batches = counters.dropped = 0;
  const run = async (durationMs: number): Promise<void> => {
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      if (sent - counters.messages < window) {
        const batch: GroupMessage[] = [];
        for (let i = 0; i < burst; i++, sent++)
          batch.push({ groupId: sent % groups, message: append(1, 2, sent + 1) });
        transport.send(batch);
      }
      await tick();
    }
    // Drain, bounded: a dropped message (reported, counted) would never arrive.
    const drainStart = performance.now();
    while (counters.messages < sent && performance.now() - drainStart < 10_000) await tick();
  };
  await run(500); // warm-up
  counters.messages = counters.batches = 0;
  sent = 0;
  const start = performance.now();
  await run(seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  await transport.close();
  return { messages: counters.messages, batches: counters.batches, elapsed };
}

/** Unary calls, one message each, `inFlight` at a time, for `seconds`. */
async function measureUnary(
  url: string,
  method: DescMethodUnary,
  inFlight: number,
): Promise<{ messages: number; elapsed: number }> {
  const sessionManager = new Http2SessionManager(url);
  const client = process.env.BENCH_CONNECT_PROTOCOL
    ? createConnectProtocolTransport({ baseUrl: url, httpVersion: "2", sessionManager })
    : createGrpcTransport({ baseUrl: url, sessionManager });
  let calls = 0;
  let stop = false;
  const worker = async (id: number): Promise<void> => {
    for (let index = 1; !stop; index++) {
      const bytes = encodeGroupMessage({
        groupId: (id * 7919 + index) % groups,
        message: append(1, 2, index),
      });
      const input = create(StreamRequestSchema, {
        fromNodeId: 1n,
        clusterId: 1n,
        messages: [bytes],
      });
      await client.unary(method, undefined, undefined, undefined, input);
      calls++;
    }
  };
  const runFor = async (durationMs: number): Promise<void> => {
    stop = false;
    const workers = Array.from({ length: inFlight }, (_, id) => worker(id));
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    stop = true;
    await Promise.all(workers);
  };
  await runFor(500);
  calls = 0;
  const start = performance.now();
  await runFor(seconds * 1000);
  sessionManager.abort();
  return { messages: calls, elapsed: (performance.now() - start) / 1000 };
}

/** One message at a time: send, wait until the receiver's handler has it, repeat. */
async function measureStreamLatency(url: string): Promise<{ messages: number; elapsed: number }> {
  const transport = createConnectTransport({
    nodeId: 1,
    clusterId: 1,
    resolvePeer: (peer) => (peer === 2 ? url : undefined),
    handler,
    clock: createSystemClock(),
    random: createSeededRandom(1),
    logger: createSilentLogger(),
    limits,
  });
  await transport.start();
  const run = async (durationMs: number): Promise<number> => {
    let count = 0;
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      const delivered = new Promise<void>((resolve) => {
        onDelivered = resolve;
      });
      transport.send([{ groupId: count % groups, message: append(1, 2, count + 1) }]);
      await delivered;
      count++;
    }
    onDelivered = undefined;
    return count;
  };
  await run(500);
  const start = performance.now();
  const messages = await run(seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  await transport.close();
  return { messages, elapsed };
}

async function main(): Promise<void> {
  const method = unaryBenchMethod();
  const [server, url] = await startServer((router) => {
    registerTransportService(router, {
      nodeId: 2,
      clusterId: 1,
      handler,
      limits,
      logger: createSilentLogger(),
    });
    router.rpc(method, (request) => {
      if (!isMessage(request, StreamRequestSchema)) throw new Error("expected a StreamRequest");
      handler.onMessages(1, request.messages.map(decodeGroupMessage));
      return create(StreamResponseSchema, { batchesReceived: 1n });
    });
  });
  const unary = await measureUnary(url, method, 64);
  const stream = await measureStream(url);
  const single = await measureStreamLatency(url);
  const unaryRate = unary.messages / unary.elapsed;
  const streamRate = stream.messages / stream.elapsed;
  const fmt = (value: number): string => Math.round(value).toLocaleString("en-US");
  console.log(
    "transport benchmark: Append with one 64 B entry, node 1 → node 2, loopback h2c, " +
      `${seconds} s per phase`,
  );
  console.log(`  baseline unary gRPC, 1 msg/call, 64 in flight: ${fmt(unaryRate)} msgs/s`);
  console.log(
    `  ConnectTransport bidi stream:                   ${fmt(streamRate)} msgs/s, ` +
      `${fmt(stream.batches / stream.elapsed)} batches/s, ` +
      `${(stream.messages / stream.batches).toFixed(1)} msgs/batch`,
  );
  console.log(
    `  ratio stream / unary: ${(streamRate / unaryRate).toFixed(1)}x; dropped: ${counters.dropped}`,
  );
  const singleRate = single.messages / single.elapsed;
  console.log(
    `  one message at a time on the stream: ${fmt(singleRate)} msgs/s, ` +
      `mean send-to-handler latency ${(1000 / singleRate).toFixed(2)} ms`,
  );
  server.close();
  for (const session of sessions) session.destroy();
}

await main();
