import { describe, expect, it } from "vitest";
import {
  createMemoryNetwork,
  createTransportLimits,
  isTransportError,
  reconnectDelayMs,
  TransportErrorCode,
} from "../../../framework/transport/index.js";
import { createSeededRandom } from "../../../framework/raft/index.js";
import { digestOf, heartbeat, iterate, RecordingHandler, snapshotMessage } from "./helpers.js";

describe("MemoryNetwork", () => {
  it("delivers nothing until the caller drives it, then per-link batches in order", async () => {
    const network = createMemoryNetwork();
    const handlers = [new RecordingHandler(), new RecordingHandler(), new RecordingHandler()];
    const transports = handlers.map((handler, i) => network.createTransport(i + 1, handler));
    for (const transport of transports) await transport.start();
    transports[0]?.send([
      { groupId: 7, message: heartbeat(1, 2, 1) },
      { groupId: 8, message: heartbeat(1, 3, 1) },
      { groupId: 9, message: heartbeat(1, 2, 2) },
    ]);
    expect(network.pendingMessages()).toBe(3);
    expect(handlers[1]?.received).toEqual([]);
    expect(network.deliverAll()).toBe(3);
    expect(handlers[1]?.received.map((r) => [r.groupId, r.message.term, r.batch])).toEqual([
      [7, 1, 1],
      [9, 2, 1],
    ]);
    expect(handlers[2]?.received.map((r) => r.groupId)).toEqual([8]);
    expect(handlers[1]?.received[0]?.message).toEqual(heartbeat(1, 2, 1));
  });

  it("delivers replies sent by handlers in later rounds, bounded by maxRounds", async () => {
    const network = createMemoryNetwork();
    const ping = new RecordingHandler();
    const pong = new RecordingHandler();
    const a = network.createTransport(1, ping);
    const b = network.createTransport(2, {
      ...pong,
      onMessages: (from, messages) => {
        pong.onMessages(from, messages);
        b.send(
          messages.map((m) => ({
            groupId: m.groupId,
            message: heartbeat(2, 1, m.message.term + 1),
          })),
        );
      },
      onSnapshot: (snapshot) => pong.onSnapshot(snapshot),
      onUnreachable: (groupId, nodeId) => pong.onUnreachable(groupId, nodeId),
    });
    await a.start();
    await b.start();
    a.send([{ groupId: 1, message: heartbeat(1, 2, 1) }]);
    expect(network.deliverAll(1)).toBe(1);
    expect(network.pendingMessages()).toBe(1);
    expect(network.deliverAll()).toBe(1);
    expect(ping.received.map((r) => r.message.term)).toEqual([2]);
  });

  it("drops beyond the bounded queue and reports each group once per round", async () => {
    const network = createMemoryNetwork({ maxQueuedMessagesPerPeer: 2 });
    const sender = new RecordingHandler();
    const a = network.createTransport(1, sender);
    const b = network.createTransport(2, new RecordingHandler());
    await a.start();
    await b.start();
    a.send([1, 2, 3, 4, 3].map((groupId) => ({ groupId, message: heartbeat(1, 2, 1) })));
    expect(network.pendingMessages()).toBe(2);
    expect(sender.unreachable).toEqual([]); // never from inside send()
    network.deliverAll();
    expect(sender.unreachable).toEqual([
      { groupId: 3, nodeId: 2 },
      { groupId: 4, nodeId: 2 },
    ]);
  });

  it("reports a cut link or an unknown node as unreachable", async () => {
    const network = createMemoryNetwork();
    const sender = new RecordingHandler();
    const a = network.createTransport(1, sender);
    const b = network.createTransport(2, new RecordingHandler());
    await a.start();
    await b.start();
    network.setLinkUp(1, 2, false);
    a.send([
      { groupId: 5, message: heartbeat(1, 2, 1) },
      { groupId: 6, message: heartbeat(1, 9, 1) },
    ]);
    network.deliverAll();
    expect(sender.unreachable).toEqual([
      { groupId: 5, nodeId: 2 },
      { groupId: 6, nodeId: 9 },
    ]);
  });

  it("hands envelopes to a simulator for reordering and duplication", async () => {
    const network = createMemoryNetwork();
    const receiver = new RecordingHandler();
    const a = network.createTransport(1, new RecordingHandler());
    await network.createTransport(2, receiver).start();
    await a.start();
    a.send([1, 2].map((term) => ({ groupId: 1, message: heartbeat(1, 2, term) })));
    const [first, second] = network.takePending();
    expect(network.pendingMessages()).toBe(0);
    if (first === undefined || second === undefined) throw new Error("two envelopes expected");
    expect(network.deliver(second)).toBe(true);
    expect(network.deliver(first)).toBe(true);
    expect(network.deliver(first)).toBe(true);
    expect(receiver.received.map((r) => r.message.term)).toEqual([2, 1, 1]);
  });

  it("rejects bad messages as a whole, and use before start or after close", async () => {
    const network = createMemoryNetwork();
    const a = network.createTransport(1, new RecordingHandler());
    expect(() => a.send([])).toThrow(/not running/);
    await a.start();
    const bad = [
      { groupId: 1, message: heartbeat(1, 2, 1) },
      { groupId: 2, message: heartbeat(3, 2, 1) },
    ];
    expect(() => a.send(bad)).toThrow(
      expect.objectContaining({ code: TransportErrorCode.InvalidMessage }),
    );
    expect(network.pendingMessages()).toBe(0);
    expect(() => a.send([{ groupId: 1, message: heartbeat(1, 1, 1) }])).toThrow(/to 1/);
    await a.close();
    expect(() => a.send([])).toThrow(expect.objectContaining({ code: TransportErrorCode.Closed }));
    expect(() => network.createTransport(2, new RecordingHandler())).not.toThrow();
  });

  it("streams snapshots when driven, and rejects refused or unreachable ones", async () => {
    const network = createMemoryNetwork();
    const receiver = new RecordingHandler();
    const a = network.createTransport(1, new RecordingHandler());
    await a.start();
    await network.createTransport(2, receiver).start();
    const chunks = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])];
    const delivered = a.sendSnapshot(2, 11, snapshotMessage(1, 2, 40), iterate(chunks));
    expect(receiver.snapshots).toEqual([]);
    expect(await network.deliverSnapshots()).toBe(1);
    await delivered;
    expect(receiver.snapshots[0]?.bytes).toBe(5);
    expect(receiver.snapshots[0]?.digest).toBe(digestOf(chunks));
    expect(receiver.snapshots[0]?.snapshot.message.snapshot?.metadata.index).toBe(40);

    receiver.refuseSnapshots = true;
    const refused = a.sendSnapshot(2, 11, snapshotMessage(1, 2, 41), iterate(chunks));
    await network.deliverSnapshots();
    await expect(refused).rejects.toSatisfy((e) =>
      isTransportError(e, TransportErrorCode.SnapshotFailed),
    );
    const lost = a.sendSnapshot(3, 11, snapshotMessage(1, 3, 41), iterate(chunks));
    await network.deliverSnapshots();
    await expect(lost).rejects.toSatisfy((e) =>
      isTransportError(e, TransportErrorCode.Unreachable),
    );
    expect(() => a.sendSnapshot(2, 11, heartbeat(1, 2, 1), iterate(chunks))).toThrow(/type 8/);
  });
});

describe("limits and backoff", () => {
  it("rejects a bad limit naming it and the allowed range", () => {
    expect(() => createTransportLimits({ maxFrameBytes: 10 })).toThrow(
      /maxFrameBytes = 10, allowed/,
    );
    expect(() => createTransportLimits({ backoffInitialMs: 50, backoffMaxMs: 10 })).toThrow(
      /backoffMaxMs/,
    );
  });

  it("grows the reconnect delay to the cap, with jitter within [step/2, step]", () => {
    const random = createSeededRandom(7);
    const limits = { backoffInitialMs: 100, backoffMaxMs: 1000 };
    for (let attempt = 0; attempt < 40; attempt++) {
      const step = Math.min(1000, 100 * 2 ** attempt);
      const delay = reconnectDelayMs(attempt, limits, random);
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
    }
    const delays = new Set(Array.from({ length: 20 }, () => reconnectDelayMs(5, limits, random)));
    expect(delays.size).toBeGreaterThan(1);
  });
});
