/**
 * The client's line to one node: one HTTP/2 connection (every request of
 * every partition multiplexed on it), and a batcher that folds requests
 * issued while earlier calls are in flight into one ExecuteBatch call — a
 * unary call costs about a millisecond here, a batch of hundreds about the
 * same.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client, Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { ExecuteRequestSchema } from "../../gen/raftkit/v1/gateway_pb.js";
import { GatewayService } from "../../gen/raftkit/v1/gateway_pb.js";
import { decodeExecuteOutcome, executeBatchClientMethod, executeBatchRequestMessage } from "../server/gateway-wire.js";
import type { AttemptOutcome } from "./attempt-outcome.js";
import { failureFromBatch, failureFromConnectError } from "./attempt-outcome.js";

export type ExecuteRequestInit = MessageInitShape<typeof ExecuteRequestSchema>;

export interface BatchingLimits {
  /** Batch calls in flight per node; further requests queue and go in the next batch. */
  readonly maxInFlightCalls: number;
  /** Most requests per batch call. */
  readonly maxBatchRequests: number;
  /**
   * Most payload bytes per batch call (a request larger than this goes alone).
   * Keep it below the nodes' request limit (--max-proposal-bytes + 64 KiB).
   */
  readonly maxBatchBytes: number;
}

export const defaultBatchingLimits: BatchingLimits = { maxInFlightCalls: 4, maxBatchRequests: 512, maxBatchBytes: 512 * 1024 };

export interface NodeChannel {
  readonly url: string;
  /** Sends one request (alone or in a batch); never rejects: failures are outcomes. */
  execute(request: ExecuteRequestInit, timeoutMs: number): Promise<AttemptOutcome>;
  close(): void;
}

interface Pending {
  readonly request: ExecuteRequestInit;
  readonly deadline: number;
  readonly resolve: (outcome: AttemptOutcome) => void;
}

export function openNodeChannel(url: string, limits: BatchingLimits, now: () => number): NodeChannel {
  const sessions = new Http2SessionManager(url);
  // No response compression (gRPC's own default): connect-node asks for gzip
  // unless told otherwise, and gzip of every batch answer over 1 KiB cost the
  // nodes 3–9 % of their CPU on a LAN/loopback (docs/benchmarks.md, host part).
  const transport = createConnectTransport({
    baseUrl: url,
    httpVersion: "2",
    sessionManager: sessions,
    acceptCompression: [],
  });
  const gateway = createClient(GatewayService, transport);
  let queue: Pending[] = [];
  let inFlight = 0;
  let flushScheduled = false;

  const flush = (): void => {
    flushScheduled = false;
    while (queue.length > 0 && inFlight < limits.maxInFlightCalls) {
      const batch = takeBatch(queue, limits);
      queue = queue.slice(batch.length);
      inFlight++;
      void send(gateway, transport, batch, now).finally(() => {
        inFlight--;
        if (queue.length > 0) flush();
      });
    }
  };
  return {
    url,
    execute(request, timeoutMs) {
      return new Promise((resolve) => {
        queue.push({ request: { ...request, timeoutMs }, deadline: now() + timeoutMs, resolve });
        // Requests issued in this turn of the event loop gather first; while every
        // call slot is busy they keep gathering until one frees.
        if (!flushScheduled && inFlight < limits.maxInFlightCalls) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },
    close() {
      const dropped = queue;
      queue = [];
      const failure = failureFromConnectError(new ConnectError(`connection to ${url} closed by the client`, Code.Canceled));
      for (const pending of dropped) pending.resolve({ ok: false, failure });
      sessions.abort();
    },
  };
}

/** The longest prefix of the queue within the count and byte limits (at least one request). */
function takeBatch(queue: readonly Pending[], limits: BatchingLimits): Pending[] {
  let bytes = 0;
  let count = 0;
  for (const pending of queue) {
    const size = pending.request.payload?.length ?? 0;
    if (count > 0 && (count >= limits.maxBatchRequests || bytes + size > limits.maxBatchBytes)) break;
    bytes += size;
    count++;
  }
  return queue.slice(0, count);
}

async function send(
  gateway: Client<typeof GatewayService>,
  transport: Transport,
  batch: readonly Pending[],
  now: () => number,
): Promise<void> {
  const timeoutMs = Math.max(1, Math.ceil(Math.max(...batch.map((pending) => pending.deadline)) - now()));
  if (batch.length === 1) {
    const only = batch[0]!;
    try {
      only.resolve({ ok: true, response: await gateway.execute(only.request, { timeoutMs }) });
    } catch (error) {
      only.resolve({ ok: false, failure: failureFromConnectError(error) });
    }
    return;
  }
  let outcomes: readonly Uint8Array[];
  try {
    // The binary wire by hand (framework/server/gateway-wire.ts): the same bytes as protobuf-es's, less CPU.
    const message = executeBatchRequestMessage(batch.map((pending) => pending.request));
    const answer = await transport.unary(executeBatchClientMethod, undefined, timeoutMs, undefined, message);
    outcomes = answer.message.outcomes;
  } catch (error) {
    const failure = failureFromConnectError(error);
    for (const pending of batch) pending.resolve({ ok: false, failure });
    return;
  }
  for (const [at, pending] of batch.entries()) pending.resolve(outcomeAt(outcomes, at));
}

function outcomeAt(outcomes: readonly Uint8Array[], at: number): AttemptOutcome {
  const bytes = outcomes[at];
  if (bytes === undefined) {
    return {
      ok: false,
      failure: failureFromConnectError(new Error(`batch answer has no outcome ${at} of ${outcomes.length}`)),
    };
  }
  let outcome;
  try {
    outcome = decodeExecuteOutcome(bytes, at).outcome;
  } catch (error) {
    return { ok: false, failure: failureFromConnectError(new ConnectError(`malformed batch answer: ${String(error)}`, Code.Internal)) };
  }
  switch (outcome.case) {
    case "response":
      return { ok: true, response: outcome.value };
    case "failure":
      return { ok: false, failure: failureFromBatch(outcome.value) };
    default:
      return {
        ok: false,
        failure: failureFromConnectError(new Error(`batch answer's outcome ${at} of ${outcomes.length} is empty`)),
      };
  }
}
