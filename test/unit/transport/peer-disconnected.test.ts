import { afterEach, describe, expect, it } from "vitest";
import { heartbeat } from "./helpers.js";
import { startCluster, waitFor } from "../../integration/transport/harness.js";
import type { TestNode } from "../../integration/transport/harness.js";

const running: TestNode[] = [];
afterEach(async () => {
  for (const node of running.splice(0)) await node.stop();
});

describe("TransportHandler.onPeerDisconnected", () => {
  it("fires on the receiver when the sender's connection is cut (a killed process), naming the sender", async () => {
    const { nodes } = await startCluster([1, 2]);
    running.push(...nodes);
    const [one, two] = nodes as [TestNode, TestNode];
    one.transport.send([{ groupId: 7, message: heartbeat(1, 2, 1) }]);
    await waitFor("the heartbeat", () => two.handler.received.length === 1);
    expect(two.handler.disconnected).toEqual([]);
    // Node 1 dies: its transport goes away with its connections, without a goodbye.
    await one.transport.close();
    await waitFor("node 2 to notice", () => two.handler.disconnected.length > 0);
    expect(two.handler.disconnected).toEqual([1]);
    expect(one.handler.disconnected).toEqual([]); // node 2 never streamed to node 1
  });

  it("does not fire while the stream stays up", async () => {
    const { nodes } = await startCluster([1, 2]);
    running.push(...nodes);
    const [one, two] = nodes as [TestNode, TestNode];
    for (let term = 1; term <= 20; term++) {
      one.transport.send([{ groupId: 7, message: heartbeat(1, 2, term) }]);
    }
    await waitFor("the heartbeats", () => two.handler.received.length === 20);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(two.handler.disconnected).toEqual([]);
  });
});
