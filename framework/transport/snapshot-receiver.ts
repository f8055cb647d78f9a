import type { HandlerContext } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  SendSnapshotRequest,
  SendSnapshotResponseSchema,
} from "../../gen/raftkit/v1/transport_pb.js";
import { TransportError, TransportErrorCode } from "./errors.js";
import { messageFromProto } from "./message-convert.js";
import { checkSnapshotMessage } from "./outgoing.js";
import type { TransportServiceOptions } from "./transport-service.js";
import { checkClusterId } from "./cluster-check.js";

/**
 * Serves one SendSnapshot call: checks the header frame, then streams the
 * data frames to the handler as they arrive (never the whole snapshot in
 * memory). Succeeds only if the handler consumed every chunk and resolved.
 * @internal
 */
export async function receiveSnapshot(
  options: TransportServiceOptions,
  requests: AsyncIterable<SendSnapshotRequest>,
  context: HandlerContext,
): Promise<MessageInitShape<typeof SendSnapshotResponseSchema>> {
  const iterator = requests[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true || first.value.frame.case !== "header") {
    const text = "snapshot call without a header frame first";
    throw new TransportError(TransportErrorCode.Malformed, text);
  }
  const header = first.value.frame.value;
  checkClusterId(options.clusterId, header.clusterId);
  if (header.message === undefined) {
    throw new TransportError(TransportErrorCode.Malformed, "snapshot header without a message");
  }
  const from = Number(header.fromNodeId);
  const message = messageFromProto(header.message);
  checkSnapshotMessage(from, options.nodeId, message);
  let bytesReceived = 0;
  let finished = false;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (context.signal.aborted) {
        throw new TransportError(TransportErrorCode.SnapshotFailed, "snapshot call aborted");
      }
      const next = await iterator.next();
      if (next.done === true) break;
      if (next.value.frame.case !== "data") {
        const text = "snapshot frame after the header is not data";
        throw new TransportError(TransportErrorCode.Malformed, text);
      }
      bytesReceived += next.value.frame.value.length;
      yield next.value.frame.value;
    }
    finished = true;
  }
  const groupId = Number(header.groupId);
  await options.handler.onSnapshot({ from, groupId, message, chunks: chunks() });
  if (!finished) {
    throw new TransportError(
      TransportErrorCode.SnapshotFailed,
      `group ${groupId}: handler returned after ${bytesReceived} bytes without reading all chunks`,
    );
  }
  options.logger.info("transport: snapshot received", { from, groupId, bytes: bytesReceived });
  return { bytesReceived: BigInt(bytesReceived) };
}
