import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { DescMessage, JsonValue, MessageShape } from "@bufbuild/protobuf";
import type { MessageCodec } from "./executable-message.js";

/**
 * Adapts a protobuf-es (v2) message schema to a MessageCodec (what codegen
 * emits per message in its protobuf-es mode, `messages=protobuf-es`). For
 * state machines whose service is also a Connect service: Connect v2 serves
 * protobuf-es descriptors only, so the executable layer encodes the same
 * model instead of a second generated one.
 */
export function protobufEsCodec<Desc extends DescMessage>(
  schema: Desc,
): MessageCodec<MessageShape<Desc>> {
  return {
    encode: (message) => toBinary(schema, message),
    decode: (bytes) => fromBinary(schema, bytes),
    fromJson: (json) => {
      if (!isJsonValue(json)) {
        throw new TypeError(`${schema.typeName}: JSON input holds a value JSON cannot ` +
          `(undefined, a function, a bigint, a symbol or a non-finite number)`);
      }
      // fromJson checks the shape and throws naming the field that is wrong.
      return fromJson(schema, json);
    },
    toJson: (message) => toJson(schema, message),
  };
}

/** Whether a value is plain JSON data (what JSON.parse returns). */
function isJsonValue(value: unknown): value is JsonValue {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object":
      if (value === null) return true;
      if (Array.isArray(value)) return value.every(isJsonValue);
      return Object.values(value).every(isJsonValue);
    default:
      return false;
  }
}
