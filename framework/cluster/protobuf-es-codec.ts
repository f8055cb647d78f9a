import type { DescMessage, JsonValue, MessageShape } from "@bufbuild/protobuf";
import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { MessageCodec } from "../statemachine/index.js";

/** A MessageCodec over a protobuf-es schema (the meta group's messages are protobuf-es). */
export function protobufEsCodec<Desc extends DescMessage>(
  schema: Desc,
): MessageCodec<MessageShape<Desc>> {
  return {
    encode: (message) => toBinary(schema, message),
    decode: (bytes) => fromBinary(schema, bytes),
    // The gateway hands parsed JSON as unknown; fromJson checks it against the schema.
    fromJson: (json) => fromJson(schema, json as JsonValue),
    toJson: (message) => toJson(schema, message),
  };
}
