import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createManualClock } from "../../../framework/transport/index.js";
import { heartbeat } from "../../unit/transport/helpers.js";
import { TestNode, waitFor } from "./harness.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP server that accepts connections and never says a word. */
async function blackHole(): Promise<{ url: string; accepted: () => number }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("expected a TCP address");
  return { url: `http://127.0.0.1:${address.port}`, accepted: () => accepted };
}

describe("PeerChannel liveness and reconnect, driven by an injected clock", () => {
  it("declares a silent stream dead at ackTimeoutMs, backs off, then reconnects", async () => {
    const peer = await blackHole();
    const clock = createManualClock();
    const addresses = new Map([[9, peer.url]]);
    const limits = { ackTimeoutMs: 1000, backoffInitialMs: 100, backoffMaxMs: 400 };
    const node = new TestNode(1, addresses, limits, clock);
    cleanups.push(() => node.transport.close());
    await node.transport.start();
    const reported = (groupId: number): boolean =>
      node.handler.unreachable.some((report) => report.groupId === groupId && report.nodeId === 9);

    node.transport.send([{ groupId: 1, message: heartbeat(1, 9, 1) }]);
    await waitFor("the first connection", () => peer.accepted() === 1);
    clock.advance(999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(node.handler.unreachable).toEqual([]);
    expect(node.logger.has("warn", /no acknowledgement/)).toBe(false);

    clock.advance(1);
    await waitFor("the queued message reported", () => reported(1));
    expect(node.logger.has("warn", /no acknowledgement for 1000 ms/)).toBe(true);

    // In backoff: dropped and reported at once, no new connection.
    node.transport.send([{ groupId: 2, message: heartbeat(1, 9, 2) }]);
    await waitFor("a message sent during backoff reported", () => reported(2));
    expect(peer.accepted()).toBe(1);

    // The first retry waits between 50 and 100 ms (step 100, equal jitter).
    clock.advance(100);
    node.transport.send([{ groupId: 3, message: heartbeat(1, 9, 3) }]);
    await waitFor("a second connection after the backoff", () => peer.accepted() === 2);
    expect(reported(3)).toBe(false);
  });
});
