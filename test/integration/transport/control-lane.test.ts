import { afterEach, describe, expect, it } from "vitest";
import type { Message, NodeId } from "../../../framework/raft/index.js";
import { EntryType, MessageType } from "../../../framework/raft/index.js";
import { heartbeat } from "../../unit/transport/helpers.js";
import { startCluster, waitFor } from "./harness.js";
import type { TestNode } from "./harness.js";

const running: TestNode[] = [];
afterEach(async () => {
  for (const node of running.splice(0)) await node.stop();
});

function bigAppend(from: NodeId, to: NodeId, index: number, bytes: number): Message {
  return {
    ...heartbeat(from, to, 3),
    type: MessageType.Append,
    index,
    logTerm: 3,
    entries: [{ index: index + 1, term: 3, type: EntryType.Normal, data: new Uint8Array(bytes) }],
  };
}

describe("control lane (issue #8, overload)", () => {
  it("a heartbeat sent behind 25 MB of queued appends arrives before most of them", async () => {
    // ackTimeoutMs: every append is waited for; a starved peer acknowledging late must not get
    // the stream declared dead and the appends dropped (seen at load 30).
    const { nodes } = await startCluster([1, 2], { maxInflightBytes: 1024 * 1024, ackTimeoutMs: 120_000 });
    running.push(...nodes);
    const [one, two] = nodes as [TestNode, TestNode];
    const appends = 100;
    for (let i = 0; i < appends; i++) {
      one.transport.send([{ groupId: 1 + (i % 8), message: bigAppend(1, 2, 10 + i, 256 * 1024) }]);
    }
    one.transport.send([{ groupId: 1, message: heartbeat(1, 2, 3) }]);
    const isHeartbeat = (type: MessageType): boolean => type === MessageType.Heartbeat;
    await waitFor("the heartbeat", () => two.handler.received.some((r) => isHeartbeat(r.message.type)));
    const before = two.handler.received.findIndex((r) => isHeartbeat(r.message.type));
    // One ordered stream would deliver all 100 first; the control lane passes them. The data
    // lane has at most 1 MB (4 appends) unacknowledged, so only a few can be ahead.
    expect(before).toBeLessThan(appends / 4);
    await waitFor("every append", () => two.handler.received.length === appends + 1, 60_000);
    expect(one.handler.unreachable).toEqual([]);
    // Two streams from node 1, one hint when both end (its process is gone).
    await one.transport.close();
    await waitFor("node 2 to notice", () => two.handler.disconnected.length > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(two.handler.disconnected).toEqual([1]);
  }, 120_000);
});
