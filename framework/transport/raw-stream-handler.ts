import type { UniversalHandler, UniversalServerRequest, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { ConnectError } from "@connectrpc/connect";
import { connectCodeOf } from "./connect-code.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import { malformed, WireReader, WireTypeLengthDelimited, WireTypeVarint } from "./wire-reader.js";
import { varintSize } from "./wire-writer.js";
import type { FrameSlabs } from "./frame-slabs.js";

/** One request of the Stream call, as the raw handler decodes it (messages are views). */
export interface RawStreamRequest {
  readonly fromNodeId: bigint;
  readonly clusterId: bigint;
  readonly messages: Uint8Array[];
}

/**
 * Serves one Stream call's requests: returns the acknowledgements to send
 * (batchesReceived after each request), throws to refuse the peer (the
 * error's ConnectError becomes the gRPC status). `done` runs once at the end.
 */
export interface RawStreamServer {
  serve(
    requests: AsyncIterable<RawStreamRequest>,
    call: { readonly aborted: () => boolean; readonly peerHeader: string | undefined },
  ): AsyncIterable<number>;
}

const envelopeBytes = 5;
const grpcContentTypes: ReadonlySet<string> = new Set(["application/grpc", "application/grpc+proto"]);

/**
 * Wraps connect's handler of TransportService.Stream: a call in the gRPC
 * protocol's binary form (what every raftkit peer sends), uncompressed and
 * without a timeout, is served here from the request body's bytes — its
 * envelopes split by hand and its StreamRequests decoded by hand, their
 * messages as views of the received frame — instead of through connect's
 * protocol layer (async-iterable transforms, envelope decoder, protobuf-es
 * parse per request, envelope and serializer per acknowledgement: ~0.2 s of
 * a follower's ~3.5 s busy in an 8 s service bench). Anything else (Connect
 * or gRPC-Web protocol, JSON, compression, grpc-timeout) goes to connect's
 * handler unchanged. The answers are connect's: status 200, acknowledgements
 * in gRPC envelopes, grpc-status/grpc-message trailers.
 * @internal
 */
export function wrapStreamHandler(
  connectHandler: UniversalHandler,
  server: RawStreamServer,
  readMaxBytes: number,
  frameSlabs: FrameSlabs,
): UniversalHandler {
  const handler = (request: UniversalServerRequest): Promise<UniversalServerResponse> => {
    const body = request.body;
    if (!servedRaw(request) || !isByteIterable(body)) return connectHandler(request);
    const trailer = new Headers();
    const call = {
      aborted: () => request.signal.aborted,
      peerHeader: request.header.get("x-raftkit-node") ?? undefined,
    };
    const acks = server.serve(readRequests(body, readMaxBytes, frameSlabs), call);
    return Promise.resolve({
      status: 200,
      header: new Headers({ "content-type": "application/grpc+proto" }),
      body: answer(acks, trailer),
      trailer,
    });
  };
  return Object.assign(handler, {
    protocolNames: connectHandler.protocolNames,
    service: connectHandler.service,
    method: connectHandler.method,
    requestPath: connectHandler.requestPath,
    allowedMethods: connectHandler.allowedMethods,
    supportedContentType: connectHandler.supportedContentType,
  });
}

function servedRaw(request: UniversalServerRequest): boolean {
  const header = request.header;
  const contentType = header.get("content-type")?.toLowerCase();
  const encoding = header.get("grpc-encoding");
  return (
    request.method === "POST" &&
    contentType !== undefined &&
    contentType !== null &&
    grpcContentTypes.has(contentType) &&
    (encoding === null || encoding === "identity") &&
    header.get("grpc-timeout") === null
  );
}

function isByteIterable(body: UniversalServerRequest["body"]): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

/** The acknowledgements in envelopes, then the status in the trailer (a refusal's as connect words it). */
async function* answer(acks: AsyncIterable<number>, trailer: Headers): AsyncIterable<Uint8Array> {
  try {
    for await (const batchesReceived of acks) yield ackEnvelope(batchesReceived);
    trailer.set("grpc-status", "0");
  } catch (error) {
    const connectError =
      error instanceof ConnectError
        ? error
        : new ConnectError(messageOf(error), connectCodeOf(error), undefined, undefined, error);
    trailer.set("grpc-status", String(connectError.code));
    trailer.set("grpc-message", encodeURIComponent(connectError.rawMessage));
  }
}

/** StreamResponse { batches_received } in its gRPC envelope. */
function ackEnvelope(batchesReceived: number): Uint8Array {
  const payloadBytes = 1 + varintSize(batchesReceived);
  const bytes = new Uint8Array(envelopeBytes + payloadBytes);
  new DataView(bytes.buffer).setUint32(1, payloadBytes, false);
  let position = envelopeBytes;
  bytes[position++] = 0x08;
  let value = batchesReceived;
  while (value > 0x7f) {
    bytes[position++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  bytes[position] = value;
  return bytes;
}

/**
 * The body's gRPC envelopes as decoded StreamRequests; a frame over `readMaxBytes` is refused
 * unread. Each frame is gathered into memory of `frameSlabs` (reused once no view of it is left).
 */
async function* readRequests(
  body: AsyncIterable<Uint8Array>,
  readMaxBytes: number,
  frameSlabs: FrameSlabs,
): AsyncIterable<RawStreamRequest> {
  const header = new Uint8Array(envelopeBytes);
  let headerFill = 0;
  let frame: Uint8Array | undefined;
  let frameFill = 0;
  for await (const chunk of body) {
    let at = 0;
    while (at < chunk.byteLength) {
      if (frame === undefined) {
        const take = Math.min(envelopeBytes - headerFill, chunk.byteLength - at);
        header.set(chunk.subarray(at, at + take), headerFill);
        headerFill += take;
        at += take;
        if (headerFill < envelopeBytes) break;
        headerFill = 0;
        const view = new DataView(header.buffer);
        const flags = view.getUint8(0);
        const length = view.getUint32(1, false);
        if (flags !== 0) {
          throw new TransportError(
            TransportErrorCode.Malformed,
            `frame flags ${flags}: compressed without a grpc-encoding, or not a message`,
          );
        }
        if (length > readMaxBytes) {
          throw new TransportError(
            TransportErrorCode.FrameTooLarge,
            `message size ${length} is larger than configured readMaxBytes ${readMaxBytes}`,
          );
        }
        // Always gathered into memory of its own, even when it lies whole in one chunk (as
        // connect does). The body's chunks are node Buffers, and messages decoded in place were
        // Buffer views: Buffer's slice() does not copy, and the event store's decoder
        // (insert-wire.ts, `new Float64Array(bytes.slice(start, end).buffer)`) relies on it
        // copying - 2ce44d0 lost events in the event store service test that way. The slabs'
        // views are plain Uint8Arrays (over shared memory), whose slice() copies.
        frame = frameSlabs.take(length);
        frameFill = 0;
      }
      const take = Math.min(frame.byteLength - frameFill, chunk.byteLength - at);
      frame.set(chunk.subarray(at, at + take), frameFill);
      frameFill += take;
      at += take;
      if (frameFill === frame.byteLength) {
        const whole = frame;
        frame = undefined;
        yield decodeStreamRequest(whole);
      }
    }
  }
  if (frame !== undefined || headerFill > 0) {
    throw new TransportError(TransportErrorCode.Malformed, "request body ends inside a frame");
  }
}

/** StreamRequest (proto/raftkit/v1/transport.proto) by hand; messages are views of `bytes`. */
export function decodeStreamRequest(bytes: Uint8Array): RawStreamRequest {
  const reader = new WireReader(bytes);
  let fromNodeId = 0;
  let clusterId = 0;
  const messages: Uint8Array[] = [];
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === 1 * 8 + WireTypeVarint) fromNodeId = reader.uint53("StreamRequest.from_node_id");
    else if (tag === 2 * 8 + WireTypeVarint) clusterId = reader.uint53("StreamRequest.cluster_id");
    else if (tag === 3 * 8 + WireTypeLengthDelimited) messages.push(reader.bytesField("StreamRequest.messages"));
    else if (tag >>> 3 <= 3) throw malformed(`field ${tag >>> 3} has wire type ${tag & 7}, not the schema's`);
    else reader.skip(tag);
  }
  return { fromNodeId: BigInt(fromNodeId), clusterId: BigInt(clusterId), messages };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
