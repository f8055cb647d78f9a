import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { DescMessage, JsonValue, MessageShape } from "@bufbuild/protobuf";
import type { MessageCodec } from "../../../framework/statemachine/index.js";

/**
 * A MessageCodec over a protobuf-es schema: the event store's messages are
 * protobuf-es (its service is also a Connect service, and Connect v2 serves
 * protobuf-es descriptors only), so the executable layer encodes them with
 * the same model instead of a second generated one.
 */
export function protobufEsCodec<Desc extends DescMessage>(schema: Desc): MessageCodec<MessageShape<Desc>> {
  return {
    encode: (message) => toBinary(schema, message),
    decode: (bytes) => fromBinary(schema, bytes),
    // The gateway hands parsed JSON; fromJson checks its shape and throws naming the field.
    fromJson: (json) => fromJson(schema, json as JsonValue),
    toJson: (message) => toJson(schema, message),
  };
}
