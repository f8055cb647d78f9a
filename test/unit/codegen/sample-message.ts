import { create, ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage, MessageShape } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";

/**
 * A protobuf-es message of any schema with every field set (lists of three,
 * maps of two, one member per oneof chosen by `variant`, nested messages to
 * depth 3), values derived from `variant`: sample traffic for codec tests
 * that keeps covering rpcs added later.
 */
export function sampleMessage<Desc extends DescMessage>(
  schema: Desc,
  variant: number,
): MessageShape<Desc> {
  const message = create(schema);
  fill(reflect(schema, message), variant, 0);
  return message;
}

const depthMax = 3;

function fill(message: ReflectMessage, variant: number, depth: number): void {
  for (const field of message.fields) {
    if (field.oneof !== undefined) {
      const members = field.oneof.fields;
      if (members[variant % members.length] !== field) continue;
    }
    if (field.fieldKind === "message" && depth >= depthMax) continue;
    setField(message, field, variant, depth);
  }
}

function setField(message: ReflectMessage, field: DescField, variant: number, depth: number): void {
  const seed = variant * 31 + field.number;
  switch (field.fieldKind) {
    case "scalar":
      message.set(field, scalarSample(field.scalar, seed));
      return;
    case "enum":
      message.set(field, enumSample(field.enum.values.map((value) => value.number), seed));
      return;
    case "message":
      message.set(field, nested(field.message, seed, depth));
      return;
    case "list": {
      const list = message.get(field);
      for (let item = 0; item < 3; item += 1) {
        if (field.listKind === "scalar") list.add(scalarSample(field.scalar, seed + item));
        else if (field.listKind === "enum") {
          list.add(enumSample(field.enum.values.map((value) => value.number), seed + item));
        } else if (depth < depthMax) list.add(nested(field.message, seed + item, depth));
      }
      return;
    }
    case "map": {
      const map = message.get(field);
      for (let entry = 0; entry < 2; entry += 1) {
        const key = scalarSample(field.mapKey, seed + entry);
        if (field.mapKind === "scalar") map.set(key, scalarSample(field.scalar, seed + entry));
        else if (field.mapKind === "enum") {
          map.set(key, enumSample(field.enum.values.map((value) => value.number), seed + entry));
        } else if (depth < depthMax) map.set(key, nested(field.message, seed + entry, depth));
      }
      return;
    }
  }
}

function nested(schema: DescMessage, seed: number, depth: number): ReflectMessage {
  const child = reflect(schema, create(schema));
  fill(child, seed, depth + 1);
  return child;
}

function enumSample(numbers: readonly number[], seed: number): number {
  return numbers[seed % numbers.length] ?? 0;
}

function scalarSample(type: ScalarType, seed: number): unknown {
  switch (type) {
    case ScalarType.DOUBLE:
      return seed * 1.25 - 7.5;
    case ScalarType.FLOAT:
      return seed * 0.5;
    case ScalarType.BOOL:
      return seed % 2 === 1;
    case ScalarType.STRING:
      return `s${seed}-é`;
    case ScalarType.BYTES:
      return Uint8Array.from([seed % 256, 0, 255]);
    case ScalarType.INT64: case ScalarType.SINT64: case ScalarType.SFIXED64:
      return BigInt(seed) * -1_000_000_007n;
    case ScalarType.UINT64: case ScalarType.FIXED64:
      return BigInt(seed) * 1_000_000_007n;
    case ScalarType.INT32: case ScalarType.SINT32: case ScalarType.SFIXED32:
      return -seed;
    case ScalarType.UINT32: case ScalarType.FIXED32:
      return seed + 1;
  }
}
