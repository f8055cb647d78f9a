import type { ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { NodeId } from "../raft/index.js";
import type { StreamRequest, StreamResponseSchema } from "../../gen/raftkit/v1/transport_pb.js";
import { TransportService } from "../../gen/raftkit/v1/transport_pb.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import { connectCodeOf } from "./connect-code.js";
import type { GroupMessage } from "./group-message.js";
import type { TransportLimits } from "./limits.js";
import type { Logger } from "./logger.js";
import { checkClusterId } from "./cluster-check.js";
import { decodeGroupMessage } from "./message-codec.js";
import { assert } from "./assert.js";
import { OpenStreams } from "./open-streams.js";
import type { RawStreamServer } from "./raw-stream-handler.js";
import { wrapStreamHandler } from "./raw-stream-handler.js";
import type { FrameSlabs } from "./frame-slabs.js";
import { createFrameSlabs } from "./frame-slabs.js";
import { receiveSnapshot } from "./snapshot-receiver.js";
import type { TransportHandler } from "./transport.js";

/** The receiving side of the transport, as the node's server mounts it. */
export interface TransportServiceOptions {
  readonly nodeId: NodeId;
  readonly clusterId: number;
  readonly handler: Pick<TransportHandler, "onMessages" | "onSnapshot" | "onPeerDisconnected">;
  readonly limits: TransportLimits;
  readonly logger: Logger;
  /** Memory received frames are gathered into (frame-slabs.ts); a pool of the default size if absent. */
  readonly frameSlabs?: FrameSlabs;
}

/**
 * Mounts raftkit.v1.TransportService on `router`, with frames above
 * limits.maxFrameBytes refused by Connect before they are buffered whole.
 */
export function registerTransportService(
  router: ConnectRouter,
  options: TransportServiceOptions,
): ConnectRouter {
  const streams = new OpenStreams();
  const readMaxBytes = options.limits.maxFrameBytes;
  router.service(TransportService, createTransportServiceImpl(options, streams), { readMaxBytes });
  // Stream calls in gRPC's binary form are served from their bytes (raw-stream-handler.ts).
  const path = `/${TransportService.typeName}/${TransportService.method.stream.name}`;
  const index = router.handlers.findIndex((handler) => handler.requestPath === path);
  assert(index >= 0, () => `no handler for ${path} after registering the service`);
  const server: RawStreamServer = {
    serve: (requests, call) => serveBatches(options, streams, requests, call),
  };
  // One pool per node: every peer's stream gathers its frames into it.
  const frameSlabs = options.frameSlabs ?? createFrameSlabs();
  router.handlers[index] = wrapStreamHandler(router.handlers[index]!, server, readMaxBytes, frameSlabs);
  return router;
}

export function createTransportServiceImpl(
  options: TransportServiceOptions,
  streams: OpenStreams = new OpenStreams(),
): ServiceImpl<typeof TransportService> {
  return {
    stream: (requests, context) => serveStream(options, streams, requests, context),
    sendSnapshot: async (requests, context) => {
      try {
        return await receiveSnapshot(options, requests, context);
      } catch (error) {
        throw rejectPeer(options.logger, "snapshot", error, context);
      }
    },
  };
}

async function* serveStream(
  options: TransportServiceOptions,
  streams: OpenStreams,
  requests: AsyncIterable<StreamRequest>,
  context: HandlerContext,
): AsyncIterable<MessageInitShape<typeof StreamResponseSchema>> {
  const call = {
    aborted: () => context.signal.aborted,
    peerHeader: context.requestHeader.get("x-raftkit-node") ?? undefined,
  };
  for await (const batchesReceived of serveBatches(options, streams, requests, call)) {
    yield { batchesReceived: BigInt(batchesReceived) };
  }
}

/** One Stream call: each batch checked and handed over, then acknowledged by its count. */
async function* serveBatches(
  options: TransportServiceOptions,
  streams: OpenStreams,
  requests: AsyncIterable<BatchHeader & { readonly messages: readonly Uint8Array[] }>,
  call: { readonly aborted: () => boolean; readonly peerHeader: string | undefined },
): AsyncIterable<number> {
  let batchesReceived = 0;
  let streamPeer: NodeId | undefined;
  try {
    for await (const request of requests) {
      const from = checkBatchHeader(options, request, streamPeer);
      if (streamPeer === undefined) streams.opened(from);
      streamPeer = from;
      const messages = request.messages.map((bytes) => checkedMessage(options.nodeId, from, bytes));
      options.handler.onMessages(from, messages);
      batchesReceived++;
      yield batchesReceived;
    }
  } catch (error) {
    const what = `stream from node ${streamPeer ?? "?"}`;
    throw rejectedPeer(options.logger, what, error, call.aborted(), call.peerHeader);
  } finally {
    // Ended or broken: when a peer's process dies, this is how its followers hear it first.
    if (streamPeer !== undefined && streams.closed(streamPeer)) {
      options.handler.onPeerDisconnected?.(streamPeer);
    }
  }
}

type BatchHeader = Pick<StreamRequest, "fromNodeId" | "clusterId">;

function checkBatchHeader(
  options: TransportServiceOptions,
  request: BatchHeader,
  streamPeer: NodeId | undefined,
): NodeId {
  checkClusterId(options.clusterId, request.clusterId);
  const from = Number(request.fromNodeId);
  if (from === 0 || from === options.nodeId || (streamPeer !== undefined && from !== streamPeer)) {
    throw new TransportError(
      TransportErrorCode.InvalidMessage,
      `batch from node ${request.fromNodeId}, allowed a fixed peer (${streamPeer ?? "any"}) ` +
        `other than 0 and this node ${options.nodeId}`,
    );
  }
  return from;
}

function checkedMessage(nodeId: NodeId, from: NodeId, bytes: Uint8Array): GroupMessage {
  const groupMessage = decodeGroupMessage(bytes);
  const { message, groupId } = groupMessage;
  if (message.from !== from || message.to !== nodeId) {
    throw new TransportError(
      TransportErrorCode.InvalidMessage,
      `group ${groupId}: message ${message.from} → ${message.to} on the stream ` +
        `${from} → ${nodeId}`,
    );
  }
  return groupMessage;
}

/** Logs why a peer's call is refused and turns it into the ConnectError it receives. */
export function rejectPeer(
  logger: Logger,
  what: string,
  error: unknown,
  context: HandlerContext,
): ConnectError {
  const peer = context.requestHeader.get("x-raftkit-node") ?? undefined;
  return rejectedPeer(logger, what, error, context.signal.aborted, peer);
}

function rejectedPeer(
  logger: Logger,
  what: string,
  error: unknown,
  aborted: boolean,
  peer: string | undefined,
): ConnectError {
  const reason = error instanceof Error ? error.message : String(error);
  const fields = { peer, reason };
  if (aborted) logger.info(`transport: ${what} ended by the peer`, fields);
  else logger.error(`transport: ${what} rejected`, fields);
  if (error instanceof ConnectError) return error;
  return new ConnectError(reason, connectCodeOf(error), undefined, undefined, error);
}
