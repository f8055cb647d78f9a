import type { Client } from "@connectrpc/connect";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { TransportService } from "../../gen/raftkit/v1/transport_pb.js";
import { TransportError, TransportErrorCode } from "./errors.js";

/**
 * One HTTP/2 connection (h2c, gRPC protocol) to one peer, with its own
 * session manager: tearing it down never disturbs another peer's connection.
 * @internal
 */
export interface PeerConnection {
  readonly client: Client<typeof TransportService>;
  readonly abort: AbortController;
  close(): void;
}

/** Acks and snapshot answers are tiny; anything larger from a peer is refused. */
const responseMaxBytes = 64 * 1024;

export function openPeerConnection(baseUrl: string, writeMaxBytes: number): PeerConnection {
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager,
    readMaxBytes: responseMaxBytes,
    writeMaxBytes,
  });
  const abort = new AbortController();
  return {
    client: createClient(TransportService, transport),
    abort,
    close(): void {
      abort.abort();
      sessionManager.abort();
    },
  };
}

/** A failed call as a TransportError: network trouble is Unreachable, the rest `fallback`. */
export function callError(error: unknown, fallback: TransportErrorCode): TransportError {
  if (error instanceof TransportError) return error;
  const connectError = ConnectError.from(error);
  const unreachable =
    connectError.code === Code.Unavailable ||
    connectError.code === Code.Canceled ||
    connectError.code === Code.DeadlineExceeded;
  return new TransportError(
    unreachable ? TransportErrorCode.Unreachable : fallback,
    connectError.message,
    { cause: error },
  );
}
