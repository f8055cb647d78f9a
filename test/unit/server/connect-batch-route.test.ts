/**
 * The Connect unary route of ExecuteBatch (connect-batch-route.ts): what a
 * connect-es client sends is answered as connect would answer it — the
 * executor's outcomes, its refusals as Connect errors, ResourceExhausted
 * past the size limit, Internal for a body protobuf cannot read — and every
 * other form of the call is left to connect (serve returns false).
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { createConnectBatchRoute, createConnectUnaryRoute } from "../../../framework/server/connect-batch-route.js";
import type { RawUnaryCall, RawUnaryHandler } from "../../../framework/server/connect-batch-route.js";
import type { BinaryBatchRequest, BinaryBatchResponse } from "../../../framework/server/gateway-service.js";
import {
  decodeExecuteOutcome,
  decodeExecuteRequest,
  executeBatchClientMethod,
  executeBatchPath,
  executeBatchRequestMessage,
  newRawExecuteRequest,
  OutcomeWriter,
} from "../../../framework/server/gateway-wire.js";
import { ExecuteKind, NotLeaderSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import { executeBatchServerMethod } from "../../../framework/server/gateway-wire.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

type Executor = (request: BinaryBatchRequest, callTimeoutMs: number | undefined) => Promise<BinaryBatchResponse>;

/** An h2c server whose handler is the route, and "fallback" (404) for what the route leaves to connect. */
async function serve(execute: Executor, readMaxBytes = 1 << 20): Promise<{ url: string; fallbacks: () => number }> {
  return serveRoute(createConnectBatchRoute(execute, readMaxBytes));
}

async function serveRoute(route: ReturnType<typeof createConnectBatchRoute>): Promise<{ url: string; fallbacks: () => number }> {
  let fallbacks = 0;
  const server = http2.createServer((request, response) => {
    if (route.serve(request, response)) return;
    fallbacks++;
    request.resume();
    response.writeHead(404, { "content-type": "text/plain" });
    response.end("fallback");
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  closers.push(
    () =>
      new Promise<void>((closed) => {
        for (const session of sessions) session.destroy();
        server.close(() => closed());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, fallbacks: () => fallbacks };
}

/** Each request's payload, echoed as its result. */
const echo: Executor = async (request) => {
  const writer = new OutcomeWriter(request.requests.length);
  const scratch = newRawExecuteRequest();
  request.requests.forEach((bytes, i) => writer.response(i, decodeExecuteRequest(bytes, i, scratch).payload.slice()));
  return writer.message();
};

type Protocol = "connect" | "grpc" | "grpcWeb";

async function call(url: string, payloads: Uint8Array[], timeoutMs: number | undefined, protocol: Protocol = "connect"): Promise<Uint8Array[]> {
  const transport = protocol === "connect" ? createConnectTransport({ baseUrl: url, httpVersion: "2" })
    : protocol === "grpc" ? createGrpcTransport({ baseUrl: url }) : createGrpcWebTransport({ baseUrl: url, httpVersion: "2" });
  const requests = payloads.map((payload, i) => ({ groupId: BigInt(i + 1), kind: ExecuteKind.COMMAND, payload }));
  const answer = await transport.unary(executeBatchClientMethod, undefined, timeoutMs, undefined, executeBatchRequestMessage(requests));
  return answer.message.outcomes.map((bytes, i) => {
    const outcome = decodeExecuteOutcome(bytes, i).outcome;
    if (outcome.case !== "response") throw new Error(`outcome ${i}: ${outcome.case}`);
    return outcome.value.result;
  });
}

/** One raw h2c POST to ExecuteBatch: status, content type and body. */
async function rawPost(
  url: string,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array[],
): Promise<{ status: number; contentType: string | undefined; body: string }> {
  const session = http2.connect(url);
  try {
    return await new Promise((done, failed) => {
      session.on("error", failed);
      const stream = session.request({ ":method": "POST", ":path": executeBatchPath, ...headers });
      let status = 0;
      let contentType: string | undefined;
      const chunks: Buffer[] = [];
      stream.on("response", (response) => {
        status = Number(response[":status"]);
        contentType = response["content-type"] as string | undefined;
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => done({ status, contentType, body: Buffer.concat(chunks).toString("utf8") }));
      stream.on("error", failed);
      for (const part of body) stream.write(part);
      stream.end();
    });
  } finally {
    session.close();
  }
}

describe("createConnectBatchRoute", () => {
  it("answers a connect-es client's call with the executor's outcomes and hands it the call's timeout", async () => {
    const timeouts: (number | undefined)[] = [];
    const { url, fallbacks } = await serve(async (request, timeoutMs) => {
      timeouts.push(timeoutMs);
      return echo(request, timeoutMs);
    });
    const payloads = Array.from({ length: 300 }, (_, i) => new Uint8Array([i & 0xff, i >> 8, 7]));
    expect(await call(url, payloads, 30_000)).toEqual(payloads);
    expect(await call(url, [new Uint8Array(100_000).fill(9)], undefined)).toEqual([new Uint8Array(100_000).fill(9)]);
    expect(await call(url, [], 30_000)).toEqual([]);
    expect(timeouts[0]).toBeGreaterThan(25_000);
    expect(timeouts[0]).toBeLessThanOrEqual(30_000);
    expect(timeouts[1]).toBeUndefined();
    expect(fallbacks()).toBe(0);
  });

  it("answers the executor's refusal as a Connect error with its code, message and metadata", async () => {
    const { url } = await serve(async () => {
      throw new ConnectError("batch of 9 requests, allowed at most 4", Code.InvalidArgument, { "x-why": "limit" });
    });
    const refused = await call(url, [new Uint8Array([1])], 30_000).then(
      () => undefined,
      (error: unknown) => ConnectError.from(error),
    );
    expect([refused?.code, refused?.rawMessage, refused?.metadata.get("x-why")]).toEqual([
      Code.InvalidArgument,
      "batch of 9 requests, allowed at most 4",
      "limit",
    ]);
    // Anything else thrown is Unknown (HTTP 500), as connect answers it.
    const { url: other } = await serve(async () => {
      throw new Error("boom");
    });
    const internal = await rawPost(other, { "content-type": "application/proto" }, [new Uint8Array([0x0a, 0x01, 0x08])]);
    expect([internal.status, internal.contentType, JSON.parse(internal.body)]).toEqual([
      500,
      "application/json",
      { code: "unknown", message: "boom" },
    ]);
  });

  it("refuses a body past readMaxBytes with ResourceExhausted, whether its length is declared or not", async () => {
    let executed = 0;
    const { url } = await serve(async (request, timeoutMs) => {
      executed++;
      return echo(request, timeoutMs);
    }, 1000);
    const declared = await rawPost(url, { "content-type": "application/proto", "content-length": 5000 }, [new Uint8Array(5000)]);
    expect([declared.status, JSON.parse(declared.body).code]).toEqual([429, "resource_exhausted"]);
    // No content-length: refused once the chunks read pass the limit.
    const chunked = await rawPost(url, { "content-type": "application/proto" }, [new Uint8Array(600), new Uint8Array(600)]);
    expect([chunked.status, JSON.parse(chunked.body).code]).toEqual([429, "resource_exhausted"]);
    expect(executed).toBe(0);
    // At the limit, still served.
    expect(await call(url, [new Uint8Array(900).fill(1)], 30_000)).toEqual([new Uint8Array(900).fill(1)]);
  });

  it("answers a body protobuf cannot read with Internal 'parse binary', as connect does", async () => {
    const { url } = await serve(echo);
    const garbage = await rawPost(url, { "content-type": "application/proto" }, [new Uint8Array([0xff, 0xff, 0xff, 0x07])]);
    expect(garbage.status).toBe(500);
    expect(JSON.parse(garbage.body)).toMatchObject({ code: "internal", message: expect.stringMatching(/^parse binary: /) });
  });

  it("leaves every other form of the call to connect", async () => {
    const { url, fallbacks } = await serve(echo);
    const body = [new Uint8Array([0x0a, 0x00])];
    const forms: http2.OutgoingHttpHeaders[] = [
      { "content-type": "application/json" },
      { "content-type": "application/proto; charset=utf-8" },
      { "content-type": "application/proto", "content-encoding": "gzip" },
      { "content-type": "application/proto", "connect-protocol-version": "2" },
      { "content-type": "application/proto", "connect-timeout-ms": "soon" },
      { "content-type": "application/proto", "connect-timeout-ms": "12345678901" },
    ];
    for (const headers of forms) {
      expect((await rawPost(url, headers, body)).body).toBe("fallback");
    }
    expect(fallbacks()).toBe(forms.length);
    const plain = await rawPost(url, { "content-type": "application/proto", "connect-protocol-version": "1", "connect-timeout-ms": "5000" }, body);
    expect([plain.status, plain.contentType]).toEqual([200, "application/proto"]);
  });

  it("drops the answer of a call whose client has gone, and keeps serving", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    const { url } = await serve(async (request, timeoutMs) => {
      arrived++;
      if (arrived === 1) await held;
      return echo(request, timeoutMs);
    });
    const session = http2.connect(url);
    const stream = session.request({ ":method": "POST", ":path": executeBatchPath, "content-type": "application/proto" });
    stream.on("error", () => undefined); // the reset below
    stream.end(new Uint8Array([0x0a, 0x02, 0x1a, 0x00]));
    const deadline = Date.now() + 30_000;
    while (arrived === 0 && Date.now() < deadline) await new Promise((tick) => setTimeout(tick, 10));
    expect(arrived).toBe(1);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise<void>((closed) => session.close(() => closed()));
    release();
    expect(await call(url, [new Uint8Array([5])], 30_000)).toEqual([new Uint8Array([5])]);
  });
});

/** ExecuteBatch's echo as a raw unary handler (bytes in, bytes out), telling each call's timeout. */
function rawEcho(timeouts: (number | undefined)[] = []): RawUnaryHandler {
  return async (body, rawCall) => {
    timeouts.push(rawCall.timeoutMs);
    const answer = await echo(fromBinary(executeBatchServerMethod.input, body), rawCall.timeoutMs);
    return toBinary(executeBatchServerMethod.output, answer);
  };
}

describe("createConnectUnaryRoute", () => {
  it("serves gRPC and gRPC-Web clients too when asked, with their timeouts", async () => {
    const timeouts: (number | undefined)[] = [];
    const { url, fallbacks } = await serveRoute(createConnectUnaryRoute(rawEcho(timeouts), 1 << 20, undefined, { grpc: true }));
    const payloads = Array.from({ length: 50 }, (_, i) => new Uint8Array([i, 1, 2]));
    for (const protocol of ["connect", "grpc", "grpcWeb"] as const) {
      expect(await call(url, payloads, 30_000, protocol)).toEqual(payloads);
      expect(await call(url, [new Uint8Array(200_000).fill(3)], undefined, protocol)).toEqual([new Uint8Array(200_000).fill(3)]);
      expect(await call(url, [], 30_000, protocol)).toEqual([]);
    }
    expect(fallbacks()).toBe(0);
    expect(timeouts).toHaveLength(9);
    for (const index of [0, 3, 6]) {
      expect(timeouts[index]).toBeGreaterThan(25_000);
      expect(timeouts[index]).toBeLessThanOrEqual(30_000);
    }
    expect([timeouts[1], timeouts[4], timeouts[7]]).toEqual([undefined, undefined, undefined]);
  });

  it("tells the handler the call's deadline on the route's clock, counted from when its headers arrived", async () => {
    const calls: { readonly timeoutMs: number | undefined; readonly deadlineMs: number | undefined }[] = [];
    let clockMs = 1_000_000;
    const { url } = await serveRoute(createConnectUnaryRoute(async (body, rawCall) => {
      calls.push({ timeoutMs: rawCall.timeoutMs, deadlineMs: rawCall.deadlineMs });
      return rawEcho()(body, rawCall);
    }, 1 << 20, undefined, { grpc: true, now: () => (clockMs += 1000) }));
    for (const protocol of ["connect", "grpc", "grpcWeb"] as const) {
      expect(await call(url, [new Uint8Array([1])], 30_000, protocol)).toEqual([new Uint8Array([1])]);
      expect(await call(url, [new Uint8Array([2])], undefined, protocol)).toEqual([new Uint8Array([2])]);
    }
    expect(calls).toHaveLength(6);
    // One clock reading per call with a timeout (1,001,000, 1,002,000, 1,003,000), none without.
    calls.forEach(({ timeoutMs, deadlineMs }, index) => {
      if (index % 2 === 1) {
        expect([timeoutMs, deadlineMs]).toEqual([undefined, undefined]);
        return;
      }
      expect(timeoutMs).toBeGreaterThan(25_000);
      expect(deadlineMs).toBe(1_000_000 + 1000 * (index / 2 + 1) + timeoutMs!);
    });
  });

  it("answers a call refuseEarly refuses from its headers at once, in every form, without reading its body or calling the handler", async () => {
    let handled = 0;
    const asked: (number | undefined)[] = [];
    const { url } = await serveRoute(createConnectUnaryRoute(async (body, rawCall) => {
      handled++;
      return rawEcho()(body, rawCall);
    }, 1 << 20, undefined, {
      grpc: true,
      refuseEarly: (rawCall) => {
        asked.push(rawCall.timeoutMs);
        return rawCall.timeoutMs !== undefined && rawCall.timeoutMs < 20_000
          ? new ConnectError("stream 's': an insert now would wait ~9000 ms, back off", Code.ResourceExhausted) : undefined;
      },
    }));
    const big = new Uint8Array(300_000).fill(7);
    for (const protocol of ["connect", "grpc", "grpcWeb"] as const) {
      const refused = await call(url, [big], 10_000, protocol).then(() => undefined, (error: unknown) => ConnectError.from(error));
      expect([refused?.code, refused?.rawMessage]).toEqual([Code.ResourceExhausted, "stream 's': an insert now would wait ~9000 ms, back off"]);
      expect(await call(url, [big], 30_000, protocol)).toEqual([big]);
      expect(await call(url, [new Uint8Array([1])], undefined, protocol)).toEqual([new Uint8Array([1])]);
    }
    expect(handled).toBe(6);
    expect(asked).toHaveLength(9);
  });

  it("answers errors to gRPC and gRPC-Web clients with code, message, details and metadata, and the read limit", async () => {
    const { url, fallbacks } = await serveRoute(createConnectUnaryRoute(async (body) => {
      if (body.byteLength > 100) return rawEcho()(body, { timeoutMs: undefined, deadlineMs: undefined, headers: {} });
      throw new ConnectError("node 2 does not lead group 7", Code.FailedPrecondition, { "x-why": "moved" },
        [{ desc: NotLeaderSchema, value: create(NotLeaderSchema, { groupId: 7n, leaderNodeId: 3n, leaderAddress: "http://n3" }) }]);
    }, 1000, undefined, { grpc: true }));
    for (const protocol of ["connect", "grpc", "grpcWeb"] as const) {
      const refused = await call(url, [new Uint8Array([1])], 30_000, protocol).then(() => undefined, (error: unknown) => ConnectError.from(error));
      expect([refused?.code, refused?.rawMessage, refused?.metadata.get("x-why")]).toEqual([Code.FailedPrecondition,
        "node 2 does not lead group 7", "moved"]);
      expect(refused?.findDetails(NotLeaderSchema).map((detail) => [detail.groupId, detail.leaderNodeId, detail.leaderAddress]))
        .toEqual([[7n, 3n, "http://n3"]]);
      const big = await call(url, [new Uint8Array(2000)], 30_000, protocol).then(() => undefined, (error: unknown) => ConnectError.from(error));
      expect(big?.code).toBe(Code.ResourceExhausted);
      expect(big?.rawMessage).toMatch(/^message size \d+ is larger than configured readMaxBytes 1000$/);
      expect(await call(url, [new Uint8Array(150).fill(4)], 30_000, protocol)).toEqual([new Uint8Array(150).fill(4)]);
    }
    expect(fallbacks()).toBe(0);
  });

  it("answers a gRPC body that is not one whole uncompressed message as connect does, and leaves gRPC to connect unless asked", async () => {
    const { url } = await serveRoute(createConnectUnaryRoute(rawEcho(), 1 << 20, undefined, { grpc: true }));
    const grpcStatus = async (body: Uint8Array): Promise<[string | undefined, string | undefined]> => {
      const answer = await rawPostBytes(url, { "content-type": "application/grpc", te: "trailers" }, [body]);
      return [answer.headers["grpc-status"] as string | undefined, decodeURIComponent(String(answer.headers["grpc-message"]))];
    };
    expect(await grpcStatus(new Uint8Array(0))).toEqual([String(Code.Unimplemented), "protocol error: missing input message for unary method"]);
    expect(await grpcStatus(Uint8Array.of(0, 0, 0))).toEqual([String(Code.InvalidArgument), "protocol error: incomplete envelope"]);
    expect(await grpcStatus(Uint8Array.of(0, 0, 0, 0, 9, 1))).toEqual([String(Code.InvalidArgument), "protocol error: incomplete envelope"]);
    expect(await grpcStatus(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0))).toEqual([String(Code.Unimplemented),
      "protocol error: received extra input message for unary method"]);
    expect(await grpcStatus(Uint8Array.of(1, 0, 0, 0, 0))).toEqual([String(Code.Internal),
      "received compressed envelope, but do not know how to decompress"]);
    const { url: connectOnly, fallbacks } = await serveRoute(createConnectUnaryRoute(rawEcho(), 1 << 20));
    for (const contentType of ["application/grpc", "application/grpc+proto", "application/grpc-web", "application/grpc-web+proto"]) {
      expect(Buffer.from((await rawPostBytes(connectOnly, { "content-type": contentType }, [Uint8Array.of(0, 0, 0, 0, 0)])).body).toString())
        .toBe("fallback");
    }
    // A compressed call or an unknown timeout unit: connect's.
    expect(Buffer.from((await rawPostBytes(url, { "content-type": "application/grpc", "grpc-encoding": "gzip" }, [Uint8Array.of(0, 0, 0, 0, 0)])).body)
      .toString()).toBe("fallback");
    expect(Buffer.from((await rawPostBytes(url, { "content-type": "application/grpc", "grpc-timeout": "5X" }, [Uint8Array.of(0, 0, 0, 0, 0)])).body)
      .toString()).toBe("fallback");
    expect(fallbacks()).toBe(4);
  });

  it("hands the handler the body as a plain Uint8Array (slice copies) with the call's headers, and answers its bytes", async () => {
    const seen: { isBuffer: boolean; body: number[]; call: RawUnaryCall }[] = [];
    const handler: RawUnaryHandler = async (body, call) => {
      seen.push({ isBuffer: Buffer.isBuffer(body), body: Array.from(body), call });
      // slice() must copy: a view would share the bytes written below.
      const copy = body.slice(0, 2);
      body.fill(0);
      return Uint8Array.of(...copy, 9);
    };
    const { url } = await serveRoute(createConnectUnaryRoute(handler, 1 << 20));
    const answer = await rawPostBytes(url, { "content-type": "application/proto", "connect-timeout-ms": "4000", "x-marker": "m" },
      [Uint8Array.of(1, 2), Uint8Array.of(3)]);
    expect([answer.status, answer.contentType, Array.from(answer.body)]).toEqual([200, "application/proto", [1, 2, 9]]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.isBuffer).toBe(false);
    expect(seen[0]!.body).toEqual([1, 2, 3]);
    expect(seen[0]!.call.timeoutMs).toBe(4000);
    expect(seen[0]!.call.headers["x-marker"]).toBe("m");
  });

  it("with reuseBodies joins a body of several chunks into memory reused once the handler settled; each call reads its own bytes", async () => {
    const run = async (reuseBodies: boolean) => {
      const seen: { memory: ArrayBufferLike; bytes: number; sum: number; first: number; last: number }[] = [];
      const handler: RawUnaryHandler = async (body) => {
        await new Promise((resolve) => setImmediate(resolve)); // the body stays readable across turns
        let sum = 0;
        for (const byte of body) sum += byte;
        seen.push({ memory: body.buffer, bytes: body.byteLength, sum, first: body[0]!, last: body[body.byteLength - 1]! });
        return Uint8Array.of(body[0]!);
      };
      const { url } = await serveRoute(createConnectUnaryRoute(handler, 1 << 20, undefined, { reuseBodies }));
      // 40,000 bytes: more than one 16 KiB DATA frame, so the route receives several chunks.
      for (const fill of [1, 2, 3]) {
        const body = new Uint8Array(40_000).fill(fill);
        body[0] = 100 + fill;
        body[body.byteLength - 1] = 200 + fill;
        const answer = await rawPostBytes(url, { "content-type": "application/proto" }, [body.subarray(0, 20_000), body.subarray(20_000)]);
        expect([answer.status, Array.from(answer.body)]).toEqual([200, [100 + fill]]);
      }
      expect(seen.map(({ bytes, sum, first, last }) => [bytes, sum, first, last])).toEqual([1, 2, 3].map((fill) =>
        [40_000, fill * 39_998 + 100 + fill + 200 + fill, 100 + fill, 200 + fill]));
      return seen.map((call) => call.memory);
    };
    const reused = await run(true);
    expect(reused[1]).toBe(reused[0]);
    expect(reused[2]).toBe(reused[0]);
    const fresh = await run(false);
    expect(fresh[1]).not.toBe(fresh[0]);
  });

  it("with reuseBodies never hands one call's memory to another while the first handler runs", async () => {
    const calls = 4;
    let arrived = 0;
    let allArrived: () => void = () => {};
    const barrier = new Promise<void>((resolve) => {
      allArrived = resolve;
    });
    const handler: RawUnaryHandler = async (body) => {
      if (++arrived === calls) allArrived();
      await barrier; // every body has been joined before any handler reads its own
      const fill = body[1]!;
      return Uint8Array.of(body.every((byte) => byte === fill) ? fill : 0);
    };
    const { url } = await serveRoute(createConnectUnaryRoute(handler, 1 << 20, undefined, { reuseBodies: true }));
    const answers = await Promise.all(Array.from({ length: calls }, (_, index) => {
      const body = new Uint8Array(40_000).fill(index + 1);
      return rawPostBytes(url, { "content-type": "application/proto" }, [body.subarray(0, 20_000), body.subarray(20_000)]);
    }));
    expect(answers.map((answer) => Array.from(answer.body))).toEqual([[1], [2], [3], [4]]);
  });

  it("answers a handler's ConnectError as it is and anything else as errorOf makes it", async () => {
    const { url } = await serveRoute(createConnectUnaryRoute(async (body) => {
      if (body[0] === 1) throw new ConnectError("not here", Code.FailedPrecondition, { "x-why": "moved" });
      if (body[0] === 2) throw new Error("boom");
      throw new TypeError("sync-like");
    }, 1 << 20, (reason) => new ConnectError("internal error", Code.Internal, undefined, undefined, reason)));
    const refused = await rawPostBytes(url, { "content-type": "application/proto" }, [Uint8Array.of(1)]);
    expect([refused.status, refused.headers["x-why"], JSON.parse(Buffer.from(refused.body).toString("utf8"))])
      .toEqual([400, "moved", { code: "failed_precondition", message: "not here" }]);
    for (const first of [2, 3]) {
      const internal = await rawPostBytes(url, { "content-type": "application/proto" }, [Uint8Array.of(first)]);
      expect([internal.status, internal.contentType, JSON.parse(Buffer.from(internal.body).toString("utf8"))])
        .toEqual([500, "application/json", { code: "internal", message: "internal error" }]);
    }
  });
});

/** One raw h2c POST to ExecuteBatch's path: status, headers and body bytes. */
async function rawPostBytes(
  url: string,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array[],
): Promise<{ status: number; contentType: string | undefined; headers: http2.IncomingHttpHeaders; body: Uint8Array }> {
  const session = http2.connect(url);
  try {
    return await new Promise((done, failed) => {
      session.on("error", failed);
      const stream = session.request({ ":method": "POST", ":path": executeBatchPath, ...headers });
      let answerHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on("response", (response) => {
        answerHeaders = response;
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => done({ status: Number(answerHeaders[":status"]), contentType: answerHeaders["content-type"] as string | undefined,
        headers: answerHeaders, body: new Uint8Array(Buffer.concat(chunks)) }));
      stream.on("error", failed);
      for (const part of body) stream.write(part);
      stream.end();
    });
  } finally {
    session.close();
  }
}
