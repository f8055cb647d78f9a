import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { StreamRequestSchema } from "../../../gen/raftkit/v1/transport_pb.js";
import { TransportService } from "../../../gen/raftkit/v1/transport_pb.js";
import {
  encodeGroupMessage,
  isTransportError,
  messageToProto,
  TransportErrorCode,
} from "../../../framework/transport/index.js";
import { digestOf, heartbeat, iterate, snapshotMessage } from "../../unit/transport/helpers.js";
import type { TestNode } from "./harness.js";
import { clusterId, startCluster, waitFor } from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function twoNodes(limits = {}): Promise<[TestNode, TestNode, string]> {
  const { nodes, addresses } = await startCluster([1, 2], limits);
  cleanups.push(async () => {
    for (const node of nodes) await node.stop();
  });
  const [a, b] = nodes;
  const url = addresses.get(2);
  if (a === undefined || b === undefined || url === undefined)
    throw new Error("two nodes expected");
  return [a, b, url];
}

type Frame = MessageInitShape<typeof StreamRequestSchema>;

/** A raw peer: sends the given frames on one Stream call and returns how it ended. */
async function rawStream(
  url: string,
  frames: readonly Frame[],
): Promise<{ acks: number; code?: Code }> {
  const client = createClient(TransportService, createGrpcTransport({ baseUrl: url }));
  let acks = 0;
  try {
    for await (const _ack of client.stream(iterate(frames))) acks++;
    return { acks };
  } catch (error) {
    return { acks, code: ConnectError.from(error).code };
  }
}

const goodFrame = (term: number): Frame => ({
  fromNodeId: 1n,
  clusterId: BigInt(clusterId),
  messages: [encodeGroupMessage({ groupId: 3, message: heartbeat(1, 2, term) })],
});

describe("TransportService refuses bad peers and keeps running", () => {
  it("rejects an oversized frame with ResourceExhausted and a logged error", async () => {
    const [a, b, url] = await twoNodes({ maxFrameBytes: 64 * 1024 });
    const oversized: Frame = { ...goodFrame(2), messages: [new Uint8Array(100 * 1024)] };
    const result = await rawStream(url, [goodFrame(1), oversized, goodFrame(3)]);
    expect(result).toEqual({ acks: 1, code: Code.ResourceExhausted });
    expect(b.handler.received.map((r) => r.message.term)).toEqual([1]);
    expect(b.logger.has("error", /rejected/)).toBe(true);
    a.transport.send([{ groupId: 3, message: heartbeat(1, 2, 9) }]);
    await waitFor("normal traffic after the bad frame", () => b.handler.received.length === 2);
  });

  it("rejects malformed message bytes with InvalidArgument", async () => {
    const [, b, url] = await twoNodes();
    const garbage: Frame = { ...goodFrame(2), messages: [new Uint8Array([0x12, 0xff, 0x01])] };
    expect(await rawStream(url, [goodFrame(1), garbage])).toEqual({
      acks: 1,
      code: Code.InvalidArgument,
    });
    expect(b.logger.has("error", /malformed/)).toBe(true);
  });

  it("rejects another cluster, a forged sender and a misaddressed message", async () => {
    const [, b, url] = await twoNodes();
    const otherCluster = { ...goodFrame(1), clusterId: 7n };
    expect(await rawStream(url, [otherCluster])).toEqual({
      acks: 0,
      code: Code.FailedPrecondition,
    });
    const forged = { ...goodFrame(1), fromNodeId: 3n };
    expect(await rawStream(url, [forged])).toEqual({ acks: 0, code: Code.InvalidArgument });
    const misaddressed = {
      ...goodFrame(1),
      messages: [encodeGroupMessage({ groupId: 3, message: heartbeat(1, 5, 1) })],
    };
    expect(await rawStream(url, [misaddressed])).toEqual({ acks: 0, code: Code.InvalidArgument });
    expect(b.handler.received).toEqual([]);
    expect(b.logger.has("error", /cluster 7/)).toBe(true);
  });
});

describe("snapshot streaming", () => {
  it("streams a multi-MB snapshot in chunks, splitting chunks above a frame", async () => {
    const [a, b] = await twoNodes({ maxFrameBytes: 256 * 1024 });
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const size = i === 5 ? 1024 * 1024 : 100 * 1024 + i;
      chunks.push(Uint8Array.from({ length: size }, (_, j) => (i * 31 + j) & 0xff));
    }
    const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    expect(total).toBeGreaterThan(5 * 1024 * 1024);
    await a.transport.sendSnapshot(2, 17, snapshotMessage(1, 2, 900), iterate(chunks));
    const [received] = b.handler.snapshots;
    expect(received?.bytes).toBe(total);
    expect(received?.digest).toBe(digestOf(chunks));
    expect(received?.snapshot.groupId).toBe(17);
    expect(received?.snapshot.from).toBe(1);
    expect(received?.snapshot.message.snapshot?.metadata).toEqual(
      snapshotMessage(1, 2, 900).snapshot?.metadata,
    );
  });

  it("rejects the sender's promise when the receiver refuses or the peer is unknown", async () => {
    const [a, b] = await twoNodes();
    b.handler.refuseSnapshots = true;
    const refused = a.transport.sendSnapshot(
      2,
      17,
      snapshotMessage(1, 2, 5),
      iterate([new Uint8Array(10)]),
    );
    await expect(refused).rejects.toSatisfy((e) =>
      isTransportError(e, TransportErrorCode.SnapshotFailed),
    );
    const unknown = a.transport.sendSnapshot(8, 17, snapshotMessage(1, 8, 5), iterate([]));
    await expect(unknown).rejects.toSatisfy((e) =>
      isTransportError(e, TransportErrorCode.Unreachable),
    );
  });

  it("refuses a snapshot call that does not start with a header", async () => {
    const [, b, url] = await twoNodes();
    const client = createClient(TransportService, createGrpcTransport({ baseUrl: url }));
    const frames = [{ frame: { case: "data" as const, value: new Uint8Array(3) } }];
    await expect(client.sendSnapshot(iterate(frames))).rejects.toSatisfy(
      (e) => ConnectError.from(e).code === Code.InvalidArgument,
    );
    const header = {
      fromNodeId: 1n,
      clusterId: BigInt(clusterId),
      groupId: 1n,
      message: messageToProto(heartbeat(1, 2, 1)),
    };
    await expect(
      client.sendSnapshot(iterate([{ frame: { case: "header" as const, value: header } }])),
    ).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.InvalidArgument);
    expect(b.handler.snapshots).toEqual([]);
  });
});
