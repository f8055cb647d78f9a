/**
 * EventStore.insert against two fake nodes (Connect servers in this
 * process): an Overloaded answer is retried on the same node after the
 * backoff, not on the next URL (a follower, which forwards the insert to
 * the same leader or names it: a second request for every refusal), and
 * every attempt carries its deadline to the node (connect-timeout-ms), so
 * that a leader can refuse, unwritten, what it could not apply in time.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { EventStore } from "../../../examples/event-store/client/index.js";
import type { EventStoreClient } from "../../../examples/event-store/client/index.js";
import { EventStoreService, FieldType } from "../../../examples/event-store/gen/eventstore/v1/eventstore_pb.js";
import { OverloadedSchema } from "../../../gen/raftkit/v1/gateway_pb.js";

interface FakeNode {
  readonly url: string;
  /** connect-timeout-ms of each Insert this node received, in order. */
  readonly inserts: (string | null)[];
  close(): Promise<void>;
}

/** A node that answers StreamInfo with one double field, and Insert as `answer` says for the n-th insert. */
async function startFakeNode(answer: (insertNumber: number) => "overloaded" | "accept"): Promise<FakeNode> {
  const inserts: (string | null)[] = [];
  const routes = (router: ConnectRouter): void => {
    router.service(EventStoreService, {
      streamInfo: (request) => ({ stream: request.stream, fields: [{ name: "v", type: FieldType.DOUBLE }] }),
      insert: (request, context) => {
        inserts.push(context.requestHeader.get("connect-timeout-ms"));
        if (answer(inserts.length) === "overloaded") {
          throw new ConnectError("stream 's': an insert now would wait ~6000 ms, allowed 5000 ms, back off",
            Code.ResourceExhausted, undefined, [{ desc: OverloadedSchema, value: create(OverloadedSchema, { groupId: 1n }) }]);
        }
        return { accepted: request.events?.timestamps.length ?? 0 };
      },
    });
  };
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    inserts,
    async close() {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const started: FakeNode[] = [];
let client: EventStoreClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await Promise.all(started.splice(0).map((node) => node.close()));
});

describe("EventStore.insert under back-pressure", () => {
  it("retries an Overloaded insert on the same node, with the attempt's deadline sent along", async () => {
    const leader = await startFakeNode((insertNumber) => (insertNumber <= 2 ? "overloaded" : "accept"));
    const other = await startFakeNode(() => "accept");
    started.push(leader, other);
    client = await EventStore.connect([leader.url, other.url], { deadlineMs: 30_000 });
    const result = await client.insert("s", [{ timestamp: 1_700_000_000_000_000, values: { v: 1.5 } },
      { timestamp: 1_700_000_000_000_001, values: { v: 2.5 } }]);
    expect(result.accepted).toBe(2);
    expect(leader.inserts).toHaveLength(3);
    expect(other.inserts).toHaveLength(0);
    for (const timeout of leader.inserts) {
      expect(Number(timeout)).toBeGreaterThan(0);
      expect(Number(timeout)).toBeLessThanOrEqual(5_000);
    }
  });
});
