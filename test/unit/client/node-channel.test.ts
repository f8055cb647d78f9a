/**
 * The per-node channel over a real HTTP/2 connection to an in-process
 * gateway that echoes payloads: requests gather into ExecuteBatch calls
 * within the count and byte limits, each answered in its own slot.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openNodeChannel } from "../../../framework/client/node-channel.js";
import { GatewayService } from "../../../gen/raftkit/v1/gateway_pb.js";

const calls: string[] = [];
let server: http2.Http2Server;
let url: string;

beforeAll(async () => {
  const handler = connectNodeAdapter({
    routes: (router) =>
      router.service(GatewayService, {
        execute: async (request) => {
          calls.push("execute 1");
          return { result: request.payload };
        },
        executeBatch: async (request) => {
          calls.push(`batch ${request.requests.length}`);
          return {
            outcomes: request.requests.map((one) =>
              one.payload[0] === 0xee
                ? { outcome: { case: "failure" as const, value: { code: Code.InvalidArgument, message: "refused 0xee" } } }
                : { outcome: { case: "response" as const, value: { result: one.payload } } },
            ),
          };
        },
      }),
  });
  server = http2.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("node channel", () => {
  it("batches requests within the count and byte limits; every request gets its own answer", async () => {
    calls.length = 0;
    const channel = openNodeChannel(url, { maxInFlightCalls: 1, maxBatchRequests: 3, maxBatchBytes: 10 }, () => performance.now());
    const payloads = Array.from({ length: 7 }, (_, i) => new Uint8Array([i === 4 ? 0xee : i, 1, 2, 3]));
    const outcomes = await Promise.all(payloads.map((payload) => channel.execute({ groupId: 1n, payload }, 5_000)));
    expect(calls).toEqual(["batch 2", "batch 2", "batch 2", "execute 1"]);
    for (const [i, outcome] of outcomes.entries()) {
      if (i === 4) {
        expect(outcome).toMatchObject({ ok: false, failure: { code: Code.InvalidArgument, message: "refused 0xee" } });
      } else {
        expect(outcome.ok && [...outcome.response.result]).toEqual([...payloads[i]!]);
      }
    }
    channel.close();
  });

  it("answers queued requests when closed (nothing hangs)", async () => {
    const channel = openNodeChannel(url, { maxInFlightCalls: 1, maxBatchRequests: 1, maxBatchBytes: 100 }, () => performance.now());
    const pending = [1, 2, 3].map((i) => channel.execute({ groupId: 1n, payload: new Uint8Array([i]) }, 5_000));
    channel.close();
    const outcomes = await Promise.all(pending);
    expect(outcomes.every((outcome) => !outcome.ok)).toBe(true);
  });
});
