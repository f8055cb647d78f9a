import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from "node:http2";
import { connect, constants } from "node:http2";
import { TransportError, TransportErrorCode } from "./errors.js";
import { varintSize } from "./wire-writer.js";

/** gRPC's 5-byte message prefix: a flags byte, then the message length (u32, big-endian). */
const envelopeBytes = 5;
const compressedFlag = 0x01;

/**
 * One bidirectional gRPC call (HTTP/2 without TLS) on its own connection,
 * written by hand instead of through connect's client: a request message is
 * handed over as the list of its parts and goes to the HTTP/2 stream as
 * they are (one writev), so the raft messages' bytes, encoded once by the
 * message codec, are not copied again into a serialized request (protobuf-es
 * `finish`) and again into connect's envelope. The wire is plain gRPC (what
 * connect's gRPC transport sent before): `application/grpc+proto`, messages
 * in 5-byte envelopes, uncompressed, status in the trailers; any gRPC server
 * of the service reads it.
 * @internal
 */
export class GrpcStreamCall {
  private readonly session: ClientHttp2Session;
  private readonly stream: ClientHttp2Stream;
  private failure: TransportError | undefined;
  private ended = false;
  /** Received bytes not yet parsed into whole messages. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private readonly received: Uint8Array[] = [];
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(
    baseUrl: string,
    path: string,
    headers: Readonly<Record<string, string>>,
    private readonly maxResponseBytes: number,
  ) {
    this.session = connect(baseUrl);
    this.session.on("error", (error) => this.fail(unreachable(`connection: ${error.message}`)));
    this.session.on("goaway", () => this.fail(unreachable("connection: the peer sent GOAWAY")));
    this.stream = this.session.request({
      [constants.HTTP2_HEADER_METHOD]: "POST",
      [constants.HTTP2_HEADER_PATH]: path,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc+proto",
      te: "trailers",
      ...headers,
    });
    const stream = this.stream;
    stream.on("response", (responseHeaders) => this.onHeaders(responseHeaders, false));
    stream.on("trailers", (trailers) => this.onHeaders(trailers, true));
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("error", (error) => this.fail(unreachable(`stream: ${error.message}`)));
    stream.on("drain", () => this.wake());
    stream.on("close", () => {
      if (!this.ended) this.fail(unreachable("stream closed without a gRPC status"));
      this.wake();
    });
  }

  /**
   * Writes one request message given as its parts, in order (their total is
   * the message). Returns false when the stream's buffer is full: wait for
   * `drained()` before the next. The parts must not change until written.
   */
  write(parts: readonly Uint8Array[]): boolean {
    if (this.failure !== undefined) throw this.failure;
    let length = 0;
    for (const part of parts) length += part.byteLength;
    const prefix = new Uint8Array(envelopeBytes);
    new DataView(prefix.buffer).setUint32(1, length, false);
    const stream = this.stream;
    stream.cork();
    let accepted = stream.write(prefix);
    for (const part of parts) if (part.byteLength > 0) accepted = stream.write(part) && accepted;
    stream.uncork();
    return accepted;
  }

  /** Neither failed, closed nor ended by the peer. */
  get open(): boolean {
    return this.failure === undefined && !this.ended;
  }

  /** Resolves when the stream takes writes again, or has failed or ended. */
  drained(): Promise<void> {
    if (this.failure !== undefined || this.ended || !this.stream.writableNeedDrain) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.wakeWriter = resolve;
    });
  }

  /** The response messages' payloads as they arrive; ends with the call, throws its failure. */
  async *responses(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const next = this.received.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
    }
  }

  /** Ends the call and its connection at once (anything unwritten is dropped). */
  close(): void {
    if (this.failure === undefined && !this.ended) {
      this.failure = new TransportError(TransportErrorCode.Closed, "stream closed by this node");
    }
    this.stream.destroy();
    this.session.destroy();
    this.wake();
  }

  private onHeaders(headers: IncomingHttpHeaders, trailers: boolean): void {
    if (!trailers) {
      const status = headers[constants.HTTP2_HEADER_STATUS];
      if (Number(status) !== 200) {
        this.fail(unreachable(`HTTP status ${String(status)}, expected 200`));
        return;
      }
    }
    const grpcStatus = headers["grpc-status"];
    if (grpcStatus === undefined) {
      if (trailers) this.fail(unreachable("trailers without grpc-status"));
      return;
    }
    if (grpcStatus === "0") {
      this.ended = true;
      this.wake();
      return;
    }
    const message = headers["grpc-message"];
    const text = typeof message === "string" ? percentDecoded(message) : "";
    this.fail(
      new TransportError(
        TransportErrorCode.Unreachable,
        `peer answered gRPC status ${String(grpcStatus)}: ${text}`,
      ),
    );
  }

  private onData(chunk: Uint8Array): void {
    if (this.failure !== undefined) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    while (this.pendingBytes >= envelopeBytes) {
      const head = this.peek(envelopeBytes);
      const view = new DataView(head.buffer, head.byteOffset, envelopeBytes);
      const flags = view.getUint8(0);
      const length = view.getUint32(1, false);
      if ((flags & compressedFlag) !== 0) {
        this.fail(malformedResponse(`compressed response message (flags ${flags})`));
        return;
      }
      if (length > this.maxResponseBytes) {
        const text = `response message of ${length} bytes, allowed ≤ ${this.maxResponseBytes}`;
        this.fail(new TransportError(TransportErrorCode.FrameTooLarge, text));
        return;
      }
      if (this.pendingBytes < envelopeBytes + length) break;
      // Copies, never views of node's HTTP/2 read chunks (see raw-stream-handler.ts).
      const whole = this.take(envelopeBytes + length);
      // (Not Buffer's slice(), which does not copy: the Uint8Array constructor does.)
      this.received.push(new Uint8Array(whole.subarray(envelopeBytes)));
    }
    // The same for a partial message kept until the next chunk.
    if (this.pendingBytes > 0) this.pending = [joinChunks(this.pending, this.pendingBytes)];
    this.wake();
  }

  /** The first `count` pending bytes (a copy only when they span chunks). */
  private peek(count: number): Uint8Array {
    const first = this.pending[0]!;
    if (first.byteLength >= count) return first.subarray(0, count);
    const joined = joinChunks(this.pending, this.pendingBytes);
    this.pending = [joined];
    return joined.subarray(0, count);
  }

  private take(count: number): Uint8Array {
    const bytes = this.peek(count);
    const first = this.pending[0]!;
    if (first.byteLength === count) this.pending.shift();
    else this.pending[0] = first.subarray(count);
    this.pendingBytes -= count;
    return bytes;
  }

  /** Ends the call with `error` (as a TransportError) unless it already ended. */
  fail(error: unknown): void {
    if (this.failure !== undefined || this.ended) return;
    this.failure = TransportError.from(error, TransportErrorCode.Unreachable);
    this.stream.destroy();
    this.session.destroy();
    this.wake();
  }

  private wake(): void {
    const reader = this.wakeReader;
    const writer = this.wakeWriter;
    this.wakeReader = undefined;
    this.wakeWriter = undefined;
    reader?.();
    writer?.();
  }
}

/** A GroupMessage's encoding as parts in order, and their total size. */
export interface EncodedMessage {
  readonly byteLength: number;
  readonly parts: readonly Uint8Array[];
}

/**
 * Parts of a StreamRequest (proto/raftkit/v1/transport.proto) whose
 * `messages` are the given encoded GroupMessages: the parts list is the
 * request's exact protobuf encoding (fields in number order, zero values
 * omitted, as protobuf-es writes it), with the messages' bytes as they are.
 * @internal
 */
export function streamRequestParts(
  fromNodeId: number,
  clusterId: number,
  messages: readonly EncodedMessage[],
): Uint8Array[] {
  let headerSize = 0;
  if (fromNodeId !== 0) headerSize += 1 + varintSize(fromNodeId);
  if (clusterId !== 0) headerSize += 1 + varintSize(clusterId);
  let scratchSize = headerSize;
  for (const message of messages) scratchSize += 1 + varintSize(message.byteLength);
  const scratch = new Uint8Array(scratchSize);
  let position = 0;
  const varint = (value: number): void => {
    while (value > 0x7f) {
      scratch[position++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    scratch[position++] = value;
  };
  if (fromNodeId !== 0) {
    varint(0x08);
    varint(fromNodeId);
  }
  if (clusterId !== 0) {
    varint(0x10);
    varint(clusterId);
  }
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const message of messages) {
    varint(0x1a);
    varint(message.byteLength);
    parts.push(scratch.subarray(start, position), ...message.parts);
    start = position;
  }
  if (position > start) parts.push(scratch.subarray(start, position));
  return parts;
}

function joinChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const joined = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.byteLength;
  }
  return joined;
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function unreachable(text: string): TransportError {
  return new TransportError(TransportErrorCode.Unreachable, text);
}

function malformedResponse(text: string): TransportError {
  return new TransportError(TransportErrorCode.Malformed, text);
}
