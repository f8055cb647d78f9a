import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { NodeId } from "../../../framework/raft/index.js";
import type { GroupMessage } from "../../../framework/transport/index.js";
import { heartbeat } from "../../unit/transport/helpers.js";
import type { TestNode } from "./harness.js";
import { startCluster, waitFor } from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function cluster(nodeIds: readonly NodeId[], limits = {}) {
  const started = await startCluster(nodeIds, limits);
  cleanups.push(async () => {
    for (const node of started.nodes) await node.stop();
  });
  return started;
}

function node(nodes: readonly TestNode[], index: number): TestNode {
  const found = nodes[index];
  if (found === undefined) throw new Error(`no node at ${index}`);
  return found;
}

/** `count` heartbeats from → to spread over `groups` groups; term = sequence number per pair. */
function traffic(
  from: NodeId,
  to: NodeId,
  count: number,
  groups: number,
  start = 1,
): GroupMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    groupId: 1000 + (((start + i) * 7) % groups),
    message: heartbeat(from, to, start + i),
  }));
}

describe("ConnectTransport on loopback", () => {
  it("delivers between 3 nodes for many groups, in order per peer", async () => {
    // Every message is counted: a starved process acknowledging late must not get its stream
    // declared dead (the harness's 2 s ackTimeoutMs dropped 500 groups' messages at load 28-33).
    const { nodes } = await cluster([1, 2, 3], { ackTimeoutMs: 60_000 });
    const perPair = 3000;
    for (let round = 0; round < 10; round++) {
      for (const sender of nodes) {
        const batch: GroupMessage[] = [];
        for (const receiver of nodes) {
          if (receiver === sender) continue;
          batch.push(
            ...traffic(
              sender.nodeId,
              receiver.nodeId,
              perPair / 10,
              500,
              1 + round * (perPair / 10),
            ),
          );
        }
        sender.transport.send(batch);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor("all messages", () =>
      nodes.every((n) => n.handler.received.length === 2 * perPair),
    );
    for (const receiver of nodes) {
      for (const sender of nodes) {
        if (sender === receiver) continue;
        const fromSender = receiver.handler.received.filter((r) => r.from === sender.nodeId);
        expect(fromSender.map((r) => r.message.term)).toEqual(
          Array.from({ length: perPair }, (_, i) => i + 1),
        );
        expect(new Set(fromSender.map((r) => r.groupId)).size).toBe(500);
        expect(fromSender.every((r) => r.message.to === receiver.nodeId)).toBe(true);
      }
      // Coalescing: far fewer batches than messages.
      expect(receiver.handler.batches).toBeLessThan(receiver.handler.received.length / 10);
    }
    expect(nodes.every((n) => n.handler.unreachable.length === 0)).toBe(true);
  });

  it("reconnects after the peer's server restarts on the same port", async () => {
    const { nodes } = await cluster([1, 2]);
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    a.transport.send(traffic(1, 2, 10, 3));
    await waitFor("first messages", () => b.handler.received.length === 10);
    const port = b.port;
    await b.stopServer();
    let term = 100;
    await waitFor("unreachable reported while the peer is down", () => {
      a.transport.send(traffic(1, 2, 1, 1, term++));
      return a.handler.unreachable.some((r) => r.nodeId === 2);
    });
    await b.startServer(port);
    const before = b.handler.received.length;
    await waitFor("messages flow again", () => {
      a.transport.send(traffic(1, 2, 1, 1, term++));
      return b.handler.received.length > before + 5;
    });
    const terms = b.handler.received.slice(before).map((r) => r.message.term);
    expect([...terms].sort((x, y) => x - y)).toEqual(terms);
    expect(a.logger.has("warn", /stream to peer failed/)).toBe(true);
  });

  it("follows a peer to a new address on reconnect", async () => {
    const { nodes, addresses } = await cluster([1, 2]);
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    a.transport.send(traffic(1, 2, 5, 2));
    await waitFor("first messages", () => b.handler.received.length === 5);
    await b.stopServer();
    addresses.set(2, await b.startServer());
    let term = 100;
    await waitFor("messages at the new address", () => {
      a.transport.send(traffic(1, 2, 1, 1, term++));
      return b.handler.received.length > 5;
    });
  });

  it("a peer that accepts TCP and never answers blocks nobody; its queue is bounded", async () => {
    const silentSockets = new Set<net.Socket>();
    const blackHole = net.createServer((socket) => silentSockets.add(socket));
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      for (const socket of silentSockets) socket.destroy();
      await new Promise<void>((resolve) => blackHole.close(() => resolve()));
    });
    const address = blackHole.address();
    if (address === null || typeof address === "string") throw new Error("expected a TCP address");
    const maxQueued = 64;
    const { nodes, addresses } = await cluster([1, 2], {
      maxQueuedMessagesPerPeer: maxQueued,
      ackTimeoutMs: 400,
    });
    addresses.set(9, `http://127.0.0.1:${address.port}`);
    const [a, b] = [node(nodes, 0), node(nodes, 1)];

    // Distinct groups so each dropped message shows up as its own report.
    const toSilent = Array.from({ length: 3 * maxQueued }, (_, i) => ({
      groupId: i,
      message: heartbeat(1, 9, 1),
    }));
    a.transport.send(toSilent);
    // Below the live peer's queue bound: nothing to it may be dropped.
    a.transport.send(traffic(1, 2, 50, 10));
    await waitFor("delivery to the live peer", () => b.handler.received.length === 50);
    await waitFor(
      "drops beyond the queue bound reported",
      () => a.handler.unreachable.filter((r) => r.nodeId === 9).length >= 2 * maxQueued,
    );
    expect(a.handler.unreachable.every((r) => r.nodeId === 9)).toBe(true);
    await waitFor("the silent stream declared dead", () =>
      a.logger.has("warn", /no acknowledgement/),
    );
    await waitFor(
      "every message to the silent peer reported",
      () => new Set(a.handler.unreachable.map((r) => r.groupId)).size === 3 * maxQueued,
    );
    a.transport.send(traffic(1, 2, 10, 5, 51));
    await waitFor("the live peer still served", () => b.handler.received.length === 60);
  });

  it("drops and reports a message larger than a frame, keeps sending the rest", async () => {
    const { nodes } = await cluster([1, 2], { maxFrameBytes: 64 * 1024 });
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    const huge = { ...heartbeat(1, 2, 5), context: new Uint8Array(100 * 1024) };
    a.transport.send([{ groupId: 77, message: huge }, ...traffic(1, 2, 3, 1)]);
    await waitFor("small messages", () => b.handler.received.length === 3);
    await waitFor("the huge one reported", () =>
      a.handler.unreachable.some((r) => r.groupId === 77),
    );
    expect(a.logger.has("error", /larger than maxFrameBytes/)).toBe(true);
  });

  it("splits a large backlog into frames within maxFrameBytes", async () => {
    const { nodes } = await cluster([1, 2], { maxFrameBytes: 16 * 1024 });
    const [a, b] = [node(nodes, 0), node(nodes, 1)];
    const messages = traffic(1, 2, 400, 4).map((m) => ({
      ...m,
      message: { ...m.message, context: new Uint8Array(1000).fill(m.message.term % 256) },
    }));
    a.transport.send(messages);
    await waitFor("all 400", () => b.handler.received.length === 400);
    expect(b.handler.batches).toBeGreaterThanOrEqual(Math.ceil((400 * 1010) / (16 * 1024)));
    expect(b.handler.received.map((r) => r.message.context[0])).toEqual(
      messages.map((m) => m.message.term % 256),
    );
  });
});
