import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Message, NodeId } from "../raft/index.js";
import type { SendSnapshotRequestSchema } from "../../gen/raftkit/v1/transport_pb.js";
import type { Clock, TimerHandle } from "./clock.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import { chunkOverheadBytes } from "./frame-limits.js";
import type { GroupId } from "./group-message.js";
import type { TransportLimits } from "./limits.js";
import type { Logger } from "./logger.js";
import { messageToProto } from "./message-convert.js";
import { callError, openPeerConnection } from "./peer-connection.js";

export interface SnapshotTransfer {
  readonly nodeId: NodeId;
  readonly clusterId: number;
  readonly to: NodeId;
  readonly baseUrl: string;
  readonly groupId: GroupId;
  readonly message: Message;
  readonly chunks: AsyncIterable<Uint8Array>;
  readonly limits: TransportLimits;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Aborts the transfer (the transport is closing). */
  readonly signal: AbortSignal;
}

/**
 * Streams one snapshot on its own HTTP/2 connection, so megabytes of
 * snapshot never queue ahead of the heartbeats on the peer's message stream.
 * Chunks larger than a frame are split. Fails (SnapshotFailed, or Unreachable
 * for network trouble) when the receiver refuses it, when it makes no
 * progress for snapshotIdleTimeoutMs, or when the receiver's byte count
 * differs from what was sent.
 * @internal
 */
export async function sendSnapshotOverConnect(transfer: SnapshotTransfer): Promise<void> {
  const { limits, clock, baseUrl } = transfer;
  const connection = openPeerConnection(baseUrl, limits.maxFrameBytes);
  const onClose = (): void => connection.abort.abort(transfer.signal.reason);
  transfer.signal.addEventListener("abort", onClose);
  let lastProgress = clock.now();
  let bytesSent = 0;
  const idleWatch = watchIdle(clock, limits.snapshotIdleTimeoutMs, () => lastProgress, (idle) => {
    const text = `snapshot idle for ${Math.round(idle)} ms`;
    connection.abort.abort(new TransportError(TransportErrorCode.Unreachable, text));
  });
  async function* frames(): AsyncGenerator<MessageInitShape<typeof SendSnapshotRequestSchema>> {
    const header = {
      fromNodeId: BigInt(transfer.nodeId),
      clusterId: BigInt(transfer.clusterId),
      groupId: BigInt(transfer.groupId),
      message: messageToProto(transfer.message),
    };
    yield { frame: { case: "header", value: header } };
    const pieceMax = limits.maxFrameBytes - chunkOverheadBytes;
    for await (const chunk of transfer.chunks) {
      for (let offset = 0; offset < chunk.length; offset += pieceMax) {
        const piece = chunk.subarray(offset, Math.min(chunk.length, offset + pieceMax));
        lastProgress = clock.now();
        bytesSent += piece.length;
        yield { frame: { case: "data", value: piece } };
      }
    }
  }
  try {
    const response = await connection.client.sendSnapshot(frames(), {
      signal: connection.abort.signal,
      headers: { "x-raftkit-node": String(transfer.nodeId) },
    });
    if (Number(response.bytesReceived) !== bytesSent) {
      throw new TransportError(
        TransportErrorCode.SnapshotFailed,
        `receiver stored ${response.bytesReceived} bytes, sent ${bytesSent}`,
      );
    }
  } catch (error) {
    const failure = callError(error, TransportErrorCode.SnapshotFailed);
    transfer.logger.warn("transport: snapshot transfer failed", {
      peer: transfer.to,
      groupId: transfer.groupId,
      bytesSent,
      reason: failure.message,
    });
    throw failure;
  } finally {
    idleWatch.cancel();
    transfer.signal.removeEventListener("abort", onClose);
    connection.close();
  }
}

/** Calls `onIdle` once when `lastProgress()` is `timeoutMs` or more in the past. */
function watchIdle(
  clock: Clock,
  timeoutMs: number,
  lastProgress: () => number,
  onIdle: (idleMs: number) => void,
): TimerHandle {
  let timer = clock.setTimeout(function onIdleTimeout() {
    const idle = clock.now() - lastProgress();
    if (idle >= timeoutMs) onIdle(idle);
    else timer = clock.setTimeout(onIdleTimeout, timeoutMs - idle);
  }, timeoutMs);
  return { cancel: () => timer.cancel() };
}
