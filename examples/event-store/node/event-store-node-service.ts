import type { Client, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { createConnectTransport } from "@connectrpc/connect-node";
import { NotLeaderSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import { HostError, HostErrorCode } from "../../../framework/host/index.js";
import type { NodeHost } from "../../../framework/host/index.js";
import { connectErrorFrom } from "../../../framework/server/index.js";
import {
  buildCommand,
  buildQuery,
  readCommandResult,
  readQueryResult,
  StateMachineErrorCode,
  isStateMachineError,
} from "../../../framework/statemachine/index.js";
import type { ExecutableMessage } from "../../../framework/statemachine/index.js";
import { createInsertChecker, BLOCK_BYTES_DEFAULT } from "../engine/index.js";
import { EventStoreService } from "../gen/eventstore/v1/eventstore_pb.js";
import { InsertRequestSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import type {
  InsertRequest, InsertResponse, StreamInfoResponse,
} from "../gen/eventstore/v1/eventstore_pb.js";
import type { FieldSpec as EngineField } from "../engine/index.js";
import { toColumnar, wireToColumnar } from "../service/columnar-events.js";
import type { ColumnarEvents } from "../service/columnar-events.js";
import { decodeWireEventsParts, isInsertWireError } from "../service/insert-wire.js";
import type { DecodeTarget, WireEvents } from "../service/insert-wire.js";
import type { ColumnLease } from "../service/insert-arena.js";
import {
  Aggregate, AggregateWindows, CreateStream, QueryRange, StreamInfo,
} from "../service/descriptors.js";
import type { BufferedStream, InsertBuffer } from "../service/insert-buffer.js";
import { storedSchemaOf, userFieldsOf } from "../service/stream-schema.js";
import { eventsOccurrences } from "./insert-route.js";
import type { InsertRequestWire } from "./insert-route.js";
import { createStreamListing } from "./stream-listing.js";
import type { LatencyTrace } from "./latency-trace.js";

export interface EventStoreNodeServiceOptions {
  readonly host: NodeHost;
  readonly buffer: InsertBuffer;
  readonly partitionOf: (stream: string) => Promise<number>;
  readonly addressOf: (nodeId: number) => string | undefined;
  /** Every partition of the event store (ListStreams with partition_id 0 lists them all). */
  readonly partitionIds: readonly number[];
  /**
   * Awaited before an insert is converted and buffered: a macrotask turn
   * (setImmediate in a process). Requests that arrive together are parsed
   * and handled in one chain of microtasks otherwise — at the start of
   * issue #8's overload, 96 inserts of 2,000 events held the leader's event
   * loop for over a second, past its groups' election timeout. Default: none.
   */
  readonly yieldNow?: () => Promise<void>;
  /** Records each binary insert's receipt, admission and answer (EVENTSTORE_TRACE); default: none. */
  readonly trace?: LatencyTrace;
}

/**
 * The Insert of the node's binary route (insert-route.ts): the request's
 * events still as bytes; `forwarded`: the request came from another node
 * (the `forwardedHeader` header), so a NotLeader is answered, not forwarded.
 */
export type BinaryInsertHandler = (request: InsertRequestWire, forwarded: boolean, deadlineMs?: number) => Promise<InsertResponse>;

/**
 * eventstore.v1.EventStoreService on a node: inserts go through this node's
 * leader buffer (NotLeader, with the leader's address, when it does not lead
 * the stream's partition), other commands are proposed directly, queries are
 * linearizable (ReadIndex on the leader).
 */
export function createEventStoreNodeService(
  options: EventStoreNodeServiceOptions,
): ServiceImpl<typeof EventStoreService> {
  return createEventStoreNodeHandlers(options).service;
}

/**
 * The service and, sharing its stream cache and forwarding, the Insert of the
 * binary route: the same checks, errors and buffer, with the events decoded
 * by hand from their bytes into Float64Arrays (no number per value).
 */
export function createEventStoreNodeHandlers(
  options: EventStoreNodeServiceOptions,
): { readonly service: ServiceImpl<typeof EventStoreService>; readonly binaryInsert: BinaryInsertHandler } {
  const { host, buffer, partitionOf, addressOf, partitionIds, yieldNow, trace } = options;
  const streams = new Map<string, BufferedStream>();

  const call = async <Result>(stream: string, work: (groupId: number) => Promise<Result>): Promise<Result> => {
    const groupId = await partitionOf(stream);
    try {
      return await work(groupId);
    } catch (error) {
      throw connectErrorFrom(error, groupId, addressOf);
    }
  };
  const command = <Req, Res>(descriptor: ExecutableMessage<Req, Res>, stream: string, request: Req) =>
    call(stream, async (groupId) =>
      readCommandResult(descriptor, await host.propose(groupId, buildCommand(descriptor, request, undefined)) as Uint8Array));
  const query = <Req, Res>(descriptor: ExecutableMessage<Req, Res>, stream: string, request: Req) =>
    call(stream, async (groupId) => readQueryResult(descriptor, await host.query(groupId, buildQuery(descriptor, request))));

  /** The stream's schema and settings, read once from the local replica (the leader's: current). */
  const bufferedStream = async (groupId: number, stream: string): Promise<BufferedStream> => {
    const cached = streams.get(stream);
    if (cached !== undefined && cached.groupId === groupId) return cached;
    const request = { $typeName: "eventstore.v1.StreamInfoRequest" as const, stream };
    let info: StreamInfoResponse;
    try {
      info = readQueryResult(StreamInfo, await host.staleQuery(groupId, buildQuery(StreamInfo, request)));
    } catch (error) {
      if (!isStateMachineError(error, StateMachineErrorCode.NotFound)) throw error;
      // Created a moment ago and not applied here yet? Ask again linearizably.
      info = readQueryResult(StreamInfo, await host.query(groupId, buildQuery(StreamInfo, request)));
    }
    const schema = storedSchemaOf(stream, info.fields);
    const settings = info.buffer!;
    const entry: BufferedStream = {
      groupId, stream, fields: userFieldsOf(schema),
      settings: { flushEvents: settings.flushEvents, flushDelayMs: settings.flushDelayMs,
        maxPendingEvents: settings.maxPendingEvents, dedupWindowMs: info.dedupWindowMs },
      check: createInsertChecker(stream, schema, BLOCK_BYTES_DEFAULT),
    };
    if (streams.size > 10_000) streams.clear();
    streams.set(stream, entry);
    return entry;
  };

  const leaders = new Map<string, Client<typeof EventStoreService>>();
  const leaderClient = (url: string): Client<typeof EventStoreService> => {
    let client = leaders.get(url);
    if (client === undefined) {
      client = createClient(EventStoreService, createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }));
      leaders.set(url, client);
    }
    return client;
  };
  /**
   * A caller that reached a follower (curl, buf curl) is served through the
   * leader: one forward, marked so it never bounces on. Clients that know
   * the leader (EventStore.connect) go there directly.
   */
  const forwardingCall = <Req, Res>(method: (request: Req, deadlineMs?: number) => Promise<Res>,
    forward: (client: Client<typeof EventStoreService>, request: Req, headers: Headers, timeoutMs?: number) => Promise<Res>) =>
    async (request: Req, forwarded: boolean, deadlineMs?: number): Promise<Res> => {
      try {
        return await method(request, deadlineMs);
      } catch (error) {
        const [notLeader] = error instanceof ConnectError ? error.findDetails(NotLeaderSchema) : [];
        if (notLeader === undefined || notLeader.leaderAddress === "" || forwarded) throw error;
        const headers = new Headers({ [FORWARDED]: String(host.nodeId) });
        // What is left of the caller's deadline goes on with the forward (at least 1 ms: 0 would mean none).
        const timeoutMs = deadlineMs === undefined ? undefined : Math.max(1, Math.floor(deadlineMs - performance.now()));
        return forward(leaderClient(notLeader.leaderAddress), request, headers, timeoutMs);
      }
    };
  const forwarding = <Req, Res>(method: (request: Req, deadlineMs?: number) => Promise<Res>,
    forward: (client: Client<typeof EventStoreService>, request: Req, headers: Headers, timeoutMs?: number) => Promise<Res>) => {
    const served = forwardingCall(method, forward);
    return (request: Req, context: HandlerContext): Promise<Res> => {
      const left = context.timeoutMs();
      return served(request, context.requestHeader.has(FORWARDED), left === undefined ? undefined : performance.now() + left);
    };
  };

  const listStreams = createStreamListing({
    host, partitionIds, addressOf, leaderClient, forwardedHeader: FORWARDED,
  });

  const service: ServiceImpl<typeof EventStoreService> = {
    createStream: forwarding((request) => command(CreateStream, request.stream, request),
      (client, request, headers) => client.createStream(request, { headers })),
    insert: forwarding(insert, (client, request, headers, timeoutMs) => client.insert(request, { headers, timeoutMs })),
    queryRange: forwarding((request) => query(QueryRange, request.stream, request),
      (client, request, headers) => client.queryRange(request, { headers })),
    aggregate: forwarding((request) => query(Aggregate, request.stream, request),
      (client, request, headers) => client.aggregate(request, { headers })),
    aggregateWindows: forwarding((request) => query(AggregateWindows, request.stream, request),
      (client, request, headers) => client.aggregateWindows(request, { headers })),
    streamInfo: forwarding((request) => query(StreamInfo, request.stream, request),
      (client, request, headers) => client.streamInfo(request, { headers })),
    listStreams: (request, context) => listStreams(request, context.requestHeader),
  };
  /** A binary insert on this node; `admitted` hears its first event's timestamp and count once decoded. */
  const binaryInsertHere = (request: InsertRequestWire, deadlineMs?: number,
    admitted?: (key: number, events: number) => void) =>
    insertInto(request.stream, request.async, deadlineMs, (stream) => {
      // Decoded into the stream's column memory (no fresh arrays per insert); the buffer releases it.
      const arena = buffer.arenaOf(stream);
      let lease: ColumnLease | undefined;
      try {
        const wire = decodedEvents(request, (count) => {
          const rows = arena.reserve(count);
          lease = rows.lease;
          return rows;
        });
        admitted?.(wire.timestamps[0] ?? NaN, wire.timestamps.length);
        return { events: wireToColumnar(request.stream, wire, stream.fields), lease };
      } catch (error) {
        lease?.release();
        throw error;
      }
    });
  const binaryInsert = forwardingCall(
    trace === undefined ? binaryInsertHere : async (request: InsertRequestWire, deadlineMs?: number) => {
      const received = trace.now();
      let key = NaN;
      let events = 0;
      let buffered = NaN;
      const response = await binaryInsertHere(request, deadlineMs, (first, count) => {
        key = first;
        events = count;
        buffered = trace.now();
      });
      trace.insert(key, events, received, buffered, trace.now());
      return response;
    },
    (client, request, headers, timeoutMs) => client.insert(forwardedInsert(request), { headers, timeoutMs }));
  return { service, binaryInsert };

  function insert(request: InsertRequest, deadlineMs?: number): Promise<InsertResponse> {
    return insertInto(request.stream, request.async, deadlineMs,
      (stream) => ({ events: toColumnar(request.stream, request.events, stream.fields), lease: undefined }));
  }

  /** An insert on the stream's leader: converted (and checked) after a turn, then buffered. */
  function insertInto(streamName: string, async: boolean, deadlineMs: number | undefined,
    convert: (stream: BufferedStream) => { readonly events: ColumnarEvents; readonly lease: ColumnLease | undefined }):
    Promise<InsertResponse> {
    return call(streamName, async (groupId) => {
      if (!host.isLeader(groupId)) {
        const { leader } = host.status(groupId);
        throw new HostError(HostErrorCode.NotLeader, `node ${host.nodeId} does not lead group ${groupId}`,
          { leaderHint: leader });
      }
      if (yieldNow !== undefined) await yieldNow();
      const stream = await bufferedStream(groupId, streamName);
      const { events, lease } = convert(stream);
      return buffer.insert(stream, events, async, lease, deadlineMs);
    });
  }
}

/** The events of a binary insert; malformed bytes are InvalidArgument naming the field and the byte. */
function decodedEvents(request: InsertRequestWire, targetOf?: (count: number) => DecodeTarget): WireEvents {
  try {
    return decodeWireEventsParts(eventsOccurrences(request), targetOf);
  } catch (error) {
    if (!isInsertWireError(error)) throw error;
    throw new ConnectError(`insert into '${request.stream}': malformed InsertRequest.${error.message}`,
      Code.InvalidArgument, undefined, undefined, error);
  }
}

/** A binary insert as the leader's client sends it on: the events' bytes as they came (field 2). */
function forwardedInsert(request: InsertRequestWire): InsertRequest {
  const forwarded = create(InsertRequestSchema, { stream: request.stream, async: request.async });
  // The events as they came (unknown field entries hold tag-less field bytes, written back verbatim),
  // copied: the request's bytes may be reused memory once the call that read them settles (the node's
  // route joins bodies into a pool), and connect may still be writing the forward then (a deadline).
  forwarded.$unknown = (request.$unknown ?? []).filter((field) => field.no === 2)
    .map((field) => ({ no: field.no, wireType: field.wireType, data: field.data.slice() }));
  return forwarded;
}

/** Header of a request one node forwarded to the leader. */
const FORWARDED = "x-eventstore-forwarded-by";
export const forwardedHeader = FORWARDED;
