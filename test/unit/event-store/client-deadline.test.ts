import { Code, ConnectError } from "@connectrpc/connect";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { EventStore } from "../../../examples/event-store/client/index.js";

/** A port nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

describe("EventStore client deadline", () => {
  it("retries an unreachable node until its deadline, then fails Unavailable (a fractional attempt time threw RangeError)", async () => {
    const port = await closedPort();
    // A deadline under the 5 s attempt cap: every attempt's timeout is the time left, never a whole number of ms.
    const store = await EventStore.connect([`http://127.0.0.1:${port}`], { deadlineMs: 1_500 });
    const started = performance.now();
    const failure = await store.info("s").then(() => undefined, (error: unknown) => error);
    store.close();
    expect(failure).toBeInstanceOf(ConnectError);
    expect(String(failure)).not.toMatch(/out of range/);
    expect(ConnectError.from(failure).code).toBe(Code.Unavailable);
    // It kept trying (backoff included) until the deadline, not one attempt and out.
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
  }, 60_000);
});
