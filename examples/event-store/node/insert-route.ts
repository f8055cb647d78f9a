/**
 * EventStoreService.Insert's binary forms (Connect proto, gRPC, gRPC-Web)
 * without protobuf-es's reflection over the events (NodeExtras.binaryRoutes).
 * protobuf-es decoded each event's doubles into number[] on the leader (one
 * push per value, then a copy into a Float64Array by the buffer's merge);
 * here the request is read through a "wire" schema that does not declare
 * `events` (field 2): protobuf-es keeps each occurrence of it as an unknown
 * field entry (a view of the request's bytes, no copy), and those bytes go
 * to the hand decoder (insert-wire.ts), straight into Float64Arrays (a packed
 * double field is one copy of its bytes). Undeclared, a field 2 of the wrong
 * wire type reaches the hand decoder too (InvalidArgument naming it), where
 * protobuf-es's own parse failure is answered Internal by Connect.
 *
 * The bytes are exactly proto/eventstore/v1/eventstore.proto's: `stream` and
 * `async` are read by protobuf-es with the real field types, other fields
 * are skipped (the generic service ignores them too), and the hand decoder is
 * tested against protobuf-es both ways (test/unit/event-store/insert-wire and
 * test/integration/event-store-service-binary). The answer is the real
 * InsertResponse (a few bytes). JSON keeps the generic service.
 */
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { DescMessage, DescMethodUnary, Message } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { connectErrorFrom, withoutStackTrace } from "../../../framework/server/index.js";
import type { RawUnaryCall } from "../../../framework/server/index.js";
import { EventStoreService } from "../gen/eventstore/v1/eventstore_pb.js";
import type { InsertBuffer } from "../service/insert-buffer.js";
import { insertDeadlineHeader, InsertWireError, insertStreamHeader } from "../service/insert-wire.js";
import { WireReader, WireType } from "../service/wire-reader.js";

/** InsertRequest as the node's binary route reads it: the events among the unknown fields, as bytes. */
export type InsertRequestWire = Message<"eventstore.internal.InsertRequestWire"> & {
  stream: string;
  async: boolean;
};

const wireFile = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "eventstore/internal/insert_wire.proto",
    package: "eventstore.internal",
    syntax: "proto3",
    messageType: [{
      name: "InsertRequestWire",
      field: [
        { name: "stream", number: 1, label: FieldDescriptorProto_Label.OPTIONAL, type: FieldDescriptorProto_Type.STRING, jsonName: "stream" },
        { name: "async", number: 3, label: FieldDescriptorProto_Label.OPTIONAL, type: FieldDescriptorProto_Type.BOOL, jsonName: "async" },
      ],
    }],
  }),
  () => undefined,
);

function wireMessage(): GenMessage<InsertRequestWire> {
  const desc: DescMessage | undefined = wireFile.getMessage("eventstore.internal.InsertRequestWire");
  if (desc === undefined) throw new Error("event store insert wire: schema missing");
  return desc as GenMessage<InsertRequestWire>;
}

export const insertRequestWireSchema = wireMessage();

/** Insert as the node's binary route serves it: the wire request in, the real InsertResponse out. */
export const insertServerMethod: DescMethodUnary<typeof insertRequestWireSchema, typeof EventStoreService.method.insert.output> = {
  ...EventStoreService.method.insert,
  input: insertRequestWireSchema,
};

/**
 * The request's bytes as the wire schema reads them; a body protobuf-es
 * cannot read is Internal "parse binary: …", as connect answers it.
 */
export function parseInsertRequestWire(body: Uint8Array): InsertRequestWire {
  try {
    return fromBinary(insertRequestWireSchema, body);
  } catch (error) {
    throw new ConnectError(`parse binary: ${error instanceof Error ? error.message : String(error)}`, Code.Internal);
  }
}

/** The path Insert is served at. */
export const insertPath = `/${EventStoreService.typeName}/${EventStoreService.method.insert.name}`;

/**
 * The payloads of the request's `events` occurrences (field 2), in order;
 * an InsertWireError when one is not length-delimited or its length is wrong.
 */
export function eventsOccurrences(request: InsertRequestWire): Uint8Array[] {
  const occurrences: Uint8Array[] = [];
  for (const field of request.$unknown ?? []) {
    if (field.no !== 2) continue;
    const name = occurrences.length === 0 ? "events" : `events#${occurrences.length + 1}`;
    if (field.wireType !== WireType.LengthDelimited) {
      throw new InsertWireError(name, 0, `wire type ${field.wireType}, expected ${WireType.LengthDelimited}`);
    }
    const reader = new WireReader(field.data);
    let range: { readonly start: number; readonly end: number };
    try {
      range = reader.delimited();
    } catch (error) {
      throw new InsertWireError(name, reader.pos, error instanceof Error ? error.message : String(error));
    }
    occurrences.push(field.data.subarray(range.start, range.end));
  }
  return occurrences;
}


/**
 * The Overloaded answer to an Insert call that the leader's buffer refuses
 * from its queue alone (InsertBuffer.refusalBefore), decided on the call's
 * headers (`insertStreamHeader`, the deadline): undefined when the call does
 * not name its stream or the buffer would take it. Under overload most
 * inserts are refused, and each refusal after the body was read, decoded
 * and checked cost the leader about what an admitted insert costs (500,000
 * events/s offered in inserts of 256: 7,388 refused against 4,331 admitted,
 * the leader at 4.4 µs of CPU per acknowledged event against 2.6 unloaded).
 */
export function earlyInsertRefusal(buffer: Pick<InsertBuffer, "refusalBefore">, call: RawUnaryCall,
  wallNowMs: () => number = Date.now): ConnectError | undefined {
  const stale = staleInsertRefusal(call, wallNowMs());
  if (stale !== undefined) return stale;
  const named = call.headers[insertStreamHeader];
  if (typeof named !== "string") return undefined;
  let stream: string;
  try {
    stream = decodeURIComponent(named);
  } catch {
    return undefined; // not what this client sends: the body decides
  }
  const refusal = buffer.refusalBefore(stream, call.deadlineMs);
  return refusal === undefined ? undefined : connectErrorFrom(refusal.error, refusal.groupId, () => undefined);
}

/**
 * How late past its caller's wall-clock deadline (`insertDeadlineHeader`)
 * an insert may arrive and still be read: the two clocks may differ (on
 * one host they do not; across hosts, by what NTP leaves), and a call
 * within this of its deadline is left to the leader's own deadline check.
 */
export const staleInsertToleranceMs = 1000;

/**
 * DeadlineExceeded, without reading the body, for an insert that arrives
 * more than staleInsertToleranceMs after its caller's deadline by the
 * caller's wall clock: its caller has given up, and storing it would turn
 * the caller's timeout into an unknown outcome for stored events. A
 * starved leader (load 14-17, 500,000 events/s offered) parsed requests'
 * headers seconds after they were sent and stored 885,504 events of inserts
 * whose callers had already given up: counted from the headers' arrival,
 * connect-timeout-ms made them look fresh.
 */
function staleInsertRefusal(call: RawUnaryCall, wallNowMs: number): ConnectError | undefined {
  const header = call.headers[insertDeadlineHeader];
  if (typeof header !== "string" || !/^\d{1,16}$/.test(header)) return undefined;
  const lateMs = wallNowMs - Number(header);
  if (lateMs <= staleInsertToleranceMs) return undefined;
  return withoutStackTrace(() => new ConnectError(`insert arrived ${Math.round(lateMs)} ms after its caller's deadline (by the caller's ` +
    `clock): not read, nothing of it written (if every insert from this client is refused so, its host's clock ` +
    `is behind this node's by more than ${staleInsertToleranceMs} ms: synchronise the clocks)`, Code.DeadlineExceeded));
}
