import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { randomBytes } from "node:crypto";
import { backoffDelayMs, defaultBackoff } from "../../../framework/client/index.js";
import { NotLeaderSchema, OverloadedSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import {
  CreateStreamRequestSchema,
  EventStoreService,
} from "../gen/eventstore/v1/eventstore_pb.js";
import type {
  AggregateResponse,
  AggregateWindowsResponse,
  FieldSpec,
  StreamInfoResponse,
} from "../gen/eventstore/v1/eventstore_pb.js";
import type { EventColumns, EventRow } from "./event-rows.js";
import { countOf, toRows, wireEventsOf } from "./event-rows.js";
import { createInsertCall } from "./insert-call.js";
import type { InsertCall } from "./insert-call.js";

export interface ConnectOptions {
  /** Overall deadline of one call, retries included (default 15000 ms). */
  readonly deadlineMs?: number;
}

export interface InsertOptions {
  /** Answer once buffered on the leader (may be lost if it fails within the flush delay). */
  readonly async?: boolean;
  /**
   * Give every event without an id a unique one (default true): a retry after
   * an unknown outcome (leader killed, deadline) is then deduplicated by the
   * stream. Off: no id cost, but such a retry may store events twice.
   */
  readonly exactlyOnce?: boolean;
}

export interface InsertResult {
  readonly accepted: number;
  readonly duplicates: number;
}

export interface RangeOptions {
  readonly from?: number;
  readonly to?: number;
}

export interface EventStoreClient {
  createStream(stream: string, fields: readonly { name: string; type: "int64" | "double" | "bool" | "string"; aggregated?: boolean }[],
    options?: { flushEvents?: number; flushDelayMs?: number; maxPendingEvents?: number; dedupWindowMs?: number }): Promise<boolean>;
  insert(stream: string, events: readonly EventRow[] | EventColumns, options?: InsertOptions): Promise<InsertResult>;
  query(stream: string, options?: RangeOptions & { limit?: number; descending?: boolean }): Promise<EventRow[]>;
  aggregate(stream: string, range?: RangeOptions): Promise<AggregateResponse>;
  windows(stream: string, options: RangeOptions & { width: number; origin?: number; limit?: number }): Promise<AggregateWindowsResponse>;
  info(stream: string): Promise<StreamInfoResponse>;
  /** Events after `after` (µs), polled every `intervalMs` until the signal aborts. */
  tail(stream: string, options: { after?: number; intervalMs?: number; signal?: AbortSignal }): AsyncIterable<EventRow[]>;
  close(): void;
}

type Service = Client<typeof EventStoreService>;

const fieldTypes = { int64: 1, double: 2, bool: 3, string: 4 } as const;

/** Whether a failed attempt may be sent again (elsewhere or later) and where the leader is. */
function retryPlan(error: unknown): { retry: boolean; leader?: string } {
  const connectError = ConnectError.from(error);
  const [notLeader] = connectError.findDetails(NotLeaderSchema);
  if (notLeader !== undefined) return { retry: true, ...(notLeader.leaderAddress === "" ? {} : { leader: notLeader.leaderAddress }) };
  // ResourceExhausted is back-pressure only with an Overloaded detail: without, it is a request
  // above the node's read limit, which no retry fixes (it was retried until the call's deadline).
  if (connectError.code === Code.ResourceExhausted) return { retry: connectError.findDetails(OverloadedSchema).length > 0 };
  // Unavailable: node down or stopping; Aborted: proposal dropped;
  // DeadlineExceeded/Canceled: this attempt's own timeout (outcome unknown: ids make the retry safe).
  return {
    retry: [Code.Unavailable, Code.Aborted, Code.DeadlineExceeded, Code.Canceled].includes(connectError.code),
  };
}

export const EventStore = {
  /** Connects to the cluster through any of its nodes' URLs ("http://127.0.0.1:7001"). */
  async connect(urls: readonly string[], options: ConnectOptions = {}): Promise<EventStoreClient> {
    if (urls.length === 0) throw new RangeError("EventStore.connect: give at least one node URL");
    return createEventStoreClient(urls, options);
  },
};

function createEventStoreClient(urls: readonly string[], options: ConnectOptions): EventStoreClient {
  const deadlineMs = options.deadlineMs ?? 15_000;
  const clients = new Map<string, Service>();
  const clientOf = (url: string): Service => {
    let client = clients.get(url);
    if (client === undefined) {
      client = createClient(EventStoreService, createConnectTransport({
        baseUrl: url,
        httpVersion: "2",
        useBinaryFormat: true,
        // Like framework/client: no gzip of answers on the cluster's own network.
        acceptCompression: [],
      }));
      clients.set(url, client);
    }
    return client;
  };
  // Inserts: the hand-encoded request posted as it is (insert-call.ts), not through connect's serializer.
  const insertCalls = new Map<string, InsertCall>();
  const insertCallOf = (url: string): InsertCall => {
    let insertCall = insertCalls.get(url);
    if (insertCall === undefined) {
      insertCall = createInsertCall(url);
      insertCalls.set(url, insertCall);
    }
    return insertCall;
  };
  const leaders = new Map<string, string>();
  const fieldsOf = new Map<string, FieldSpec[]>();
  const producer = randomBytes(6).toString("base64url");
  let sequence = 0;

  /** Sends to the stream's leader, following NotLeader hints and retrying retryable failures with backoff. */
  const send = async <Result>(stream: string,
    call: (client: Service, signal: AbortSignal, url: string, attemptMs: number) => Promise<Result>): Promise<Result> => {
    const deadline = performance.now() + deadlineMs;
    let url = leaders.get(stream) ?? urls[0]!;
    for (let attempt = 0; ; attempt++) {
      const left = deadline - performance.now();
      try {
        // AbortSignal.timeout takes whole ms only: a fractional one threw a RangeError that
        // ended the call (every call whose last 5 s had begun: a sync insert retrying through
        // a failover).
        const attemptMs = Math.max(1, Math.ceil(Math.min(left, 5_000)));
        const result = await call(clientOf(url), AbortSignal.timeout(attemptMs), url, attemptMs);
        leaders.set(stream, url);
        return result;
      } catch (error) {
        const plan = retryPlan(error);
        if (!plan.retry || performance.now() >= deadline) throw ConnectError.from(error);
        if (plan.leader !== undefined && plan.leader !== url) {
          url = plan.leader;
          continue;
        }
        // Overloaded (the leader's back-pressure, or this client's own waiting bound) is retried on the
        // same node after the backoff: another node is a follower, which forwards the insert to the same
        // leader or names it - a detour that made an overloaded leader's every refused insert cost a
        // second request.
        const code = ConnectError.from(error).code;
        if (code === Code.Unavailable || (plan.leader === undefined && code !== Code.ResourceExhausted)) {
          url = urls[(urls.indexOf(url) + 1) % urls.length]!;
        }
        await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(attempt, defaultBackoff, Math.random())));
      }
    }
  };
  const fields = async (stream: string): Promise<FieldSpec[]> => {
    let known = fieldsOf.get(stream);
    if (known === undefined) {
      known = (await send(stream, (client, signal) => client.streamInfo({ stream }, { signal }))).fields;
      fieldsOf.set(stream, known);
    }
    return known;
  };
  return {
    async createStream(stream, specs, settings = {}) {
      const request = create(CreateStreamRequestSchema, {
        stream,
        fields: specs.map((field) => ({ name: field.name, type: fieldTypes[field.type], aggregated: field.aggregated === true })),
        buffer: { flushEvents: settings.flushEvents ?? 0, flushDelayMs: settings.flushDelayMs ?? 0, maxPendingEvents: settings.maxPendingEvents ?? 0 },
        dedupWindowMs: settings.dedupWindowMs ?? 0,
      });
      return (await send(stream, (client, signal) => client.createStream(request, { signal }))).created;
    },
    async insert(stream, input, insertOptions = {}) {
      const count = countOf(input);
      const exactlyOnce = insertOptions.exactlyOnce !== false;
      let ids: string[] | undefined;
      if (exactlyOnce) {
        const given = Array.isArray(input) ? (input as readonly EventRow[]).map((row) => row.id) : Array.from((input as EventColumns).ids ?? []);
        const prefix = `${producer}.${(sequence++).toString(36)}.`;
        ids = Array.from({ length: count }, (_, row) => given[row] || prefix + row.toString(36));
      }
      const events = wireEventsOf(await fields(stream), input, ids);
      const async = insertOptions.async === true;
      // The attempt's deadline goes to the leader too (connect-timeout-ms): it refuses, unwritten, an
      // insert that could not apply in time rather than storing it after this client gave up.
      const response = await send(stream, (_client, signal, url, attemptMs) =>
        insertCallOf(url).insert(stream, events, { async, signal, timeoutMs: attemptMs }));
      return { accepted: response.accepted, duplicates: response.duplicates };
    },
    async query(stream, range = {}) {
      const response = await send(stream, (client, signal) => client.queryRange({
        stream, descending: range.descending === true, limit: range.limit ?? 0,
        ...(range.from === undefined ? {} : { from: BigInt(range.from) }),
        ...(range.to === undefined ? {} : { to: BigInt(range.to) }),
      }, { signal }));
      return toRows(response.events);
    },
    aggregate: (stream, range = {}) => send(stream, (client, signal) => client.aggregate({
      stream, ...(range.from === undefined ? {} : { from: BigInt(range.from) }), ...(range.to === undefined ? {} : { to: BigInt(range.to) }),
    }, { signal })),
    windows: (stream, window) => send(stream, (client, signal) => client.aggregateWindows({
      stream, width: BigInt(window.width), origin: BigInt(window.origin ?? 0), limit: window.limit ?? 0,
      ...(window.from === undefined ? {} : { from: BigInt(window.from) }), ...(window.to === undefined ? {} : { to: BigInt(window.to) }),
    }, { signal })),
    info: (stream) => send(stream, (client, signal) => client.streamInfo({ stream }, { signal })),
    async *tail(stream, tailOptions) {
      let after = tailOptions.after ?? -1;
      while (tailOptions.signal?.aborted !== true) {
        const rows = await this.query(stream, { from: after + 1, limit: 10_000 });
        if (rows.length > 0) {
          after = rows[rows.length - 1]!.timestamp;
          yield rows;
        } else {
          await new Promise((resolve) => setTimeout(resolve, tailOptions.intervalMs ?? 500));
        }
      }
    },
    close() {
      clients.clear();
      for (const insertCall of insertCalls.values()) insertCall.close();
      insertCalls.clear();
    },
  };
}
