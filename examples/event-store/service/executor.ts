import type {
  ApplyContext,
  ExecutorRegistry,
  QueryContext,
} from "../../../framework/statemachine/index.js";
import type {
  AggregateRequest,
  AggregateResponse,
  AggregateWindowsRequest,
  AggregateWindowsResponse,
  CreateStreamRequest,
  CreateStreamResponse,
  InsertRequest,
  InsertResponse,
  ListStreamsRequest,
  ListStreamsResponse,
  QueryRangeRequest,
  QueryRangeResponse,
  StreamInfoRequest,
  StreamInfoResponse,
} from "../gen/eventstore/v1/eventstore_pb.js";
import {
  Aggregate,
  AggregateWindows,
  CreateStream,
  Insert,
  ListStreams,
  QueryRange,
  StreamInfo,
} from "./descriptors.js";

type Reply<Response> = Response | Promise<Response>;

/** What the state machine implements: one method per rpc (the codegen shape). */
export interface EventStoreServiceExecutor {
  createStream(request: CreateStreamRequest, context: ApplyContext): Reply<CreateStreamResponse>;
  insert(request: InsertRequest, context: ApplyContext): Reply<InsertResponse>;
  queryRange(request: QueryRangeRequest, context: QueryContext): Reply<QueryRangeResponse>;
  aggregate(request: AggregateRequest, context: QueryContext): Reply<AggregateResponse>;
  aggregateWindows(
    request: AggregateWindowsRequest,
    context: QueryContext,
  ): Reply<AggregateWindowsResponse>;
  streamInfo(request: StreamInfoRequest, context: QueryContext): Reply<StreamInfoResponse>;
  listStreams(request: ListStreamsRequest, context: QueryContext): Reply<ListStreamsResponse>;
}

export function registerEventStoreService(
  registry: ExecutorRegistry,
  executor: EventStoreServiceExecutor,
): void {
  registry.registerCommand(CreateStream, (request, context) => executor.createStream(request, context));
  registry.registerCommand(Insert, (request, context) => executor.insert(request, context));
  registry.registerQuery(QueryRange, (request, context) => executor.queryRange(request, context));
  registry.registerQuery(Aggregate, (request, context) => executor.aggregate(request, context));
  registry.registerQuery(AggregateWindows, (request, context) =>
    executor.aggregateWindows(request, context),
  );
  registry.registerQuery(StreamInfo, (request, context) => executor.streamInfo(request, context));
  registry.registerQuery(ListStreams, (request, context) => executor.listStreams(request, context));
}
