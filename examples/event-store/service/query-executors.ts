import { create } from "@bufbuild/protobuf";
import {
  StateMachineError,
  StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import type { RangeAggregate, TimeRange } from "../engine/index.js";
import {
  AggregateResponseSchema,
  AggregateWindowsResponseSchema,
  BufferOptionsSchema,
  FieldAggregateSchema,
  ListStreamsResponseSchema,
  QueryRangeResponseSchema,
  ScanCursorSchema,
  StreamInfoResponseSchema,
  WindowSchema,
} from "../gen/eventstore/v1/eventstore_pb.js";
import type { AggregateResponse, StreamInfoResponse } from "../gen/eventstore/v1/eventstore_pb.js";
import { scanToEvents } from "./columnar-events.js";
import { toFieldSpecs } from "./stream-schema.js";
import { mapEngineErrors } from "./engine-errors.js";
import type { StateCore } from "./event-store-state.js";
import { openStore } from "./event-store-state.js";
import type { EventStoreServiceExecutor } from "./executor.js";

type QueryExecutors = Pick<EventStoreServiceExecutor,
  "queryRange" | "aggregate" | "aggregateWindows" | "streamInfo" | "listStreams">;

function toNumber(name: string, value: bigint): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) {
    throw new StateMachineError(StateMachineErrorCode.InvalidArgument, `${name} = ${value}: beyond ±(2^53 − 1)`);
  }
  return number;
}

function rangeOf(request: { from?: bigint; to?: bigint }): TimeRange {
  return {
    ...(request.from === undefined ? {} : { from: toNumber("from", request.from) }),
    ...(request.to === undefined ? {} : { to: toNumber("to", request.to) }),
  };
}

/** User streams only: hidden ones ('_…') answer as unknown. */
function requireStream(core: StateCore, stream: string): void {
  if (stream.startsWith("_") || !openStore(core).streamNames().includes(stream)) {
    throw new StateMachineError(StateMachineErrorCode.NotFound, `no stream '${stream}'`);
  }
}

function toAggregateResponse(aggregate: RangeAggregate): AggregateResponse {
  return create(AggregateResponseSchema, {
    count: BigInt(aggregate.count),
    ...(aggregate.firstTimestamp === undefined ? {} : { firstTimestamp: BigInt(aggregate.firstTimestamp) }),
    ...(aggregate.lastTimestamp === undefined ? {} : { lastTimestamp: BigInt(aggregate.lastTimestamp) }),
    fields: Object.entries(aggregate.fields).map(([name, field]) =>
      create(FieldAggregateSchema, { name, ...field })),
  });
}

/** Streams one ListStreams answer holds at most (the response stays small). */
export const LIST_STREAMS_LIMIT_MAX = 10_000;
const listStreamsLimitDefault = 1000;

/** A ListStreams request's limit: 0 = the default; beyond the maximum: InvalidArgument. */
export function listLimitOf(limit: number): number {
  if (limit > LIST_STREAMS_LIMIT_MAX) {
    throw new StateMachineError(StateMachineErrorCode.InvalidArgument,
      `limit ${limit}: at most ${LIST_STREAMS_LIMIT_MAX}`);
  }
  return limit === 0 ? listStreamsLimitDefault : limit;
}

function streamInfoOf(core: StateCore, stream: string, appliedIndex: number): StreamInfoResponse {
  const statistics = openStore(core).statistics(stream);
  const settings = core.settings.get(stream);
  if (settings === undefined) throw new Error(`stream '${stream}' has no settings row`);
  return create(StreamInfoResponseSchema, {
    stream,
    fields: toFieldSpecs(statistics.schema),
    buffer: create(BufferOptionsSchema, {
      flushEvents: settings.flushEvents, flushDelayMs: settings.flushDelayMs,
      maxPendingEvents: settings.maxPendingEvents,
    }),
    dedupWindowMs: settings.dedupWindowMs,
    eventCount: BigInt(statistics.eventCount),
    ...(statistics.minTimestamp === undefined ? {} : { minTimestamp: BigInt(statistics.minTimestamp) }),
    ...(statistics.maxTimestamp === undefined ? {} : { maxTimestamp: BigInt(statistics.maxTimestamp) }),
    blockCount: BigInt(statistics.blockCount),
    lateEventCount: BigInt(statistics.lateEventCount),
    appliedIndex: BigInt(appliedIndex),
  });
}

export function createQueryExecutors(core: StateCore): QueryExecutors {
  return {
    queryRange(request) {
      requireStream(core, request.stream);
      const store = openStore(core);
      const result = mapEngineErrors(() => store.scan(request.stream, {
        ...rangeOf(request),
        order: request.descending ? "descending" : "ascending",
        ...(request.limit === 0 ? {} : { limit: request.limit }),
        ...(request.cursor === undefined ? {} : {
          cursor: { timestamp: toNumber("cursor.timestamp", request.cursor.timestamp), tieIndex: request.cursor.tieIndex },
        }),
      }));
      const schema = store.statistics(request.stream).schema;
      return create(QueryRangeResponseSchema, {
        events: scanToEvents(result, schema),
        ...(result.next === undefined ? {} : {
          next: create(ScanCursorSchema, { timestamp: BigInt(result.next.timestamp), tieIndex: result.next.tieIndex }),
        }),
      });
    },
    aggregate(request) {
      requireStream(core, request.stream);
      return toAggregateResponse(mapEngineErrors(() => openStore(core).aggregate(request.stream, rangeOf(request))));
    },
    aggregateWindows(request) {
      requireStream(core, request.stream);
      const result = mapEngineErrors(() => openStore(core).windows(request.stream, {
        ...rangeOf(request),
        width: toNumber("width", request.width),
        origin: toNumber("origin", request.origin),
        ...(request.limit === 0 ? {} : { limit: request.limit }),
      }));
      return create(AggregateWindowsResponseSchema, {
        windows: result.windows.map((window) => create(WindowSchema, {
          start: BigInt(window.start), end: BigInt(window.end), aggregate: toAggregateResponse(window),
        })),
        ...(result.nextFrom === undefined ? {} : { nextFrom: BigInt(result.nextFrom) }),
      });
    },
    streamInfo(request, context) {
      requireStream(core, request.stream);
      return streamInfoOf(core, request.stream, context.appliedIndex);
    },
    listStreams(request, context) {
      if (request.partitionId !== 0 && request.partitionId !== context.partitionId) {
        throw new StateMachineError(StateMachineErrorCode.InvalidArgument,
          `partition_id ${request.partitionId} asked of partition ${context.partitionId}`);
      }
      const limit = listLimitOf(request.limit);
      const names = openStore(core).streamNames()
        .filter((name) => !name.startsWith("_") && name > request.after)
        .sort();
      const page = names.slice(0, limit);
      return create(ListStreamsResponseSchema, {
        streams: page.map((name) => streamInfoOf(core, name, context.appliedIndex)),
        nextAfter: names.length > limit ? page[page.length - 1]! : "",
      });
    },
  };
}
