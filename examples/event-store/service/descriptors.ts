/**
 * The executable messages of eventstore.v1.EventStoreService: the ones
 * `raftkit generate` writes (examples/event-store/buf.gen.yaml, messages in
 * protobuf-es mode, into ../gen/eventstore/v1/eventstore_raftkit.ts), with the
 * event store's codec overrides applied. Names kept for the rest of the example.
 */
import {
  createEventStoreServiceDescriptors,
  eventStoreServiceStateMachine,
} from "../gen/eventstore/v1/eventstore_raftkit.js";
import { insertRequestCodec } from "./insert-codec.js";

export const eventStoreStateMachineType = eventStoreServiceStateMachine;

/**
 * The codec overrides, all in one place: messages whose generic protobuf-es
 * codec is too slow for the hot path get a hand codec that is wire-compatible
 * with the .proto (tests compare it with protobuf-es both ways).
 *
 * - insertRequest: InsertRequest, decoded without protobuf-es's reflection
 *   (the apply on every replica; docs/event-store-service.md "Wire codec").
 */
export const codecOverrides = {
  insertRequest: insertRequestCodec,
} as const;

/** The generated descriptors with the overrides: give these to register, clients and DI. */
export const eventStoreDescriptors = createEventStoreServiceDescriptors({
  insert: { request: codecOverrides.insertRequest },
});

export const CreateStream = eventStoreDescriptors.createStream;
export const Insert = eventStoreDescriptors.insert;
export const QueryRange = eventStoreDescriptors.queryRange;
export const Aggregate = eventStoreDescriptors.aggregate;
export const AggregateWindows = eventStoreDescriptors.aggregateWindows;
export const StreamInfo = eventStoreDescriptors.streamInfo;
export const ListStreams = eventStoreDescriptors.listStreams;
