import {
  ExecutableKind,
  defineExecutableMessage,
} from "../../../framework/statemachine/index.js";
import {
  AggregateRequestSchema,
  AggregateResponseSchema,
  AggregateWindowsRequestSchema,
  AggregateWindowsResponseSchema,
  CreateStreamRequestSchema,
  CreateStreamResponseSchema,
  InsertResponseSchema,
  ListStreamsRequestSchema,
  ListStreamsResponseSchema,
  QueryRangeRequestSchema,
  QueryRangeResponseSchema,
  StreamInfoRequestSchema,
  StreamInfoResponseSchema,
} from "../gen/eventstore/v1/eventstore_pb.js";
import { insertRequestCodec } from "./insert-codec.js";
import { protobufEsCodec } from "./message-codec.js";

/**
 * The executable messages of eventstore.v1.EventStoreService, one per rpc,
 * in the shape `raftkit generate` will emit (docs/state-machines.md "What
 * codegen will emit"); written by hand until codegen lands.
 */
export const eventStoreStateMachineType = "eventstore";

const service = "eventstore.v1.EventStoreService";

/**
 * The codec overrides, all in one place: messages whose generic protobuf-es
 * codec is too slow for the hot path get a hand codec that is wire-compatible
 * with the .proto (tests compare it with protobuf-es both ways). When the
 * generated descriptors replace the hand-written ones below, keep this map:
 * `{ ...generated.Insert, request: codecOverrides.insertRequest }`.
 *
 * - insertRequest: InsertRequest, decoded without protobuf-es's reflection
 *   (the apply on every replica; docs/event-store-service.md "Wire codec").
 */
export const codecOverrides = {
  insertRequest: insertRequestCodec,
} as const;

export const CreateStream = defineExecutableMessage({
  typeName: `${service}/CreateStream`,
  kind: ExecutableKind.Command,
  request: protobufEsCodec(CreateStreamRequestSchema),
  response: protobufEsCodec(CreateStreamResponseSchema),
  stateMachine: eventStoreStateMachineType,
});

export const Insert = defineExecutableMessage({
  typeName: `${service}/Insert`,
  kind: ExecutableKind.Command,
  request: codecOverrides.insertRequest,
  response: protobufEsCodec(InsertResponseSchema),
  stateMachine: eventStoreStateMachineType,
});

export const QueryRange = defineExecutableMessage({
  typeName: `${service}/QueryRange`,
  kind: ExecutableKind.Query,
  request: protobufEsCodec(QueryRangeRequestSchema),
  response: protobufEsCodec(QueryRangeResponseSchema),
  stateMachine: eventStoreStateMachineType,
});

export const Aggregate = defineExecutableMessage({
  typeName: `${service}/Aggregate`,
  kind: ExecutableKind.Query,
  request: protobufEsCodec(AggregateRequestSchema),
  response: protobufEsCodec(AggregateResponseSchema),
  stateMachine: eventStoreStateMachineType,
});

export const AggregateWindows = defineExecutableMessage({
  typeName: `${service}/AggregateWindows`,
  kind: ExecutableKind.Query,
  request: protobufEsCodec(AggregateWindowsRequestSchema),
  response: protobufEsCodec(AggregateWindowsResponseSchema),
  stateMachine: eventStoreStateMachineType,
});

export const StreamInfo = defineExecutableMessage({
  typeName: `${service}/StreamInfo`,
  kind: ExecutableKind.Query,
  request: protobufEsCodec(StreamInfoRequestSchema),
  response: protobufEsCodec(StreamInfoResponseSchema),
  stateMachine: eventStoreStateMachineType,
});

export const ListStreams = defineExecutableMessage({
  typeName: `${service}/ListStreams`,
  kind: ExecutableKind.Query,
  request: protobufEsCodec(ListStreamsRequestSchema),
  response: protobufEsCodec(ListStreamsResponseSchema),
  stateMachine: eventStoreStateMachineType,
});

