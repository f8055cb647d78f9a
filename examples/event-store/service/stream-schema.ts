import {
  StateMachineError,
  StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import type { FieldSpec as EngineField, FieldType as EngineFieldType, StreamSchema } from "../engine/index.js";
import { FieldSpecSchema, FieldType } from "../gen/eventstore/v1/eventstore_pb.js";
import type { FieldSpec } from "../gen/eventstore/v1/eventstore_pb.js";
import { create } from "@bufbuild/protobuf";
import { EVENT_ID_FIELD } from "./columnar-events.js";

function invalid(text: string): StateMachineError {
  return new StateMachineError(StateMachineErrorCode.InvalidArgument, text);
}

const engineTypes = new Map<FieldType, EngineFieldType>([
  [FieldType.INT64, "int64"],
  [FieldType.DOUBLE, "double"],
  [FieldType.BOOL, "bool"],
  [FieldType.STRING, "string"],
]);

/** Stream names of users: the engine's names, not starting with '_' (reserved for hidden streams). */
export function checkUserStreamName(stream: string): void {
  if (stream.startsWith("_")) throw invalid(`stream '${stream}': names starting with '_' are reserved`);
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(stream)) {
    throw invalid(`stream '${stream}': name must match [A-Za-z0-9_.-]{1,64}`);
  }
}

/** The stored schema of a create request: the user's fields plus the hidden id field. */
export function storedSchemaOf(stream: string, fields: readonly FieldSpec[]): StreamSchema {
  const stored: EngineField[] = fields.map((field, position) => {
    if (field.name.startsWith("_")) {
      throw invalid(`stream '${stream}': field #${position} '${field.name}': names starting with '_' are reserved`);
    }
    const type = engineTypes.get(field.type);
    if (type === undefined) {
      throw invalid(`stream '${stream}': field #${position} '${field.name}': type ${field.type}, ` +
        `allowed FIELD_TYPE_INT64, _DOUBLE, _BOOL or _STRING`);
    }
    return { name: field.name, type, aggregated: field.aggregated };
  });
  stored.push({ name: EVENT_ID_FIELD, type: "string", aggregated: false });
  return { fields: stored };
}

export function userFieldsOf(schema: StreamSchema): EngineField[] {
  return schema.fields.filter((field) => field.name !== EVENT_ID_FIELD);
}

export function toFieldSpecs(schema: StreamSchema): FieldSpec[] {
  return userFieldsOf(schema).map((field) => create(FieldSpecSchema, {
    name: field.name,
    type: [...engineTypes].find(([, type]) => type === field.type)![0],
    aggregated: field.aggregated === true,
  }));
}

export function sameSchema(left: StreamSchema, right: StreamSchema): boolean {
  return left.fields.length === right.fields.length && left.fields.every((field, index) => {
    const other = right.fields[index]!;
    return field.name === other.name && field.type === other.type &&
      (field.aggregated === true) === (other.aggregated === true);
  });
}
