// The create-stream form's field list, as text: "price:double:aggregated,
// volume:int64:aggregated, symbol:string" → FieldSpecs. Pure.
import { create } from "@bufbuild/protobuf";
import type { FieldSpec } from "../../gen/eventstore/v1/eventstore_pb.js";
import { FieldSpecSchema, FieldType } from "../../gen/eventstore/v1/eventstore_pb.js";

const fieldTypes: ReadonlyMap<string, FieldType> = new Map([
  ["int64", FieldType.INT64],
  ["double", FieldType.DOUBLE],
  ["bool", FieldType.BOOL],
  ["string", FieldType.STRING],
]);

export function fieldTypeName(type: FieldType): string {
  for (const [name, value] of fieldTypes) if (value === type) return name;
  return `type ${type}`;
}

/** Parses the field list; throws an Error naming the bad item and what is allowed. */
export function parseSchemaText(text: string): FieldSpec[] {
  const items = text
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== "");
  if (items.length === 0)
    throw new Error(
      "fields: none given; write name:type[:aggregated], e.g. price:double:aggregated",
    );
  const names = new Set<string>();
  return items.map((item) => {
    const [name = "", typeName = "", flag, ...rest] = item.split(":").map((part) => part.trim());
    const type = fieldTypes.get(typeName);
    if (rest.length > 0 || name === "" || type === undefined) {
      throw new Error(
        `field "${item}": write name:type[:aggregated] with type one of ` +
          [...fieldTypes.keys()].join(", "),
      );
    }
    if (flag !== undefined && flag !== "aggregated")
      throw new Error(`field "${item}": third part "${flag}", allowed "aggregated"`);
    if (names.has(name)) throw new Error(`field "${name}" is named twice`);
    names.add(name);
    const aggregated = flag === "aggregated";
    if (aggregated && type !== FieldType.INT64 && type !== FieldType.DOUBLE) {
      throw new Error(`field "${name}": only int64 and double fields can be aggregated`);
    }
    return create(FieldSpecSchema, { name, type, aggregated });
  });
}

export function formatSchema(fields: readonly FieldSpec[]): string {
  return fields
    .map(
      (field) =>
        `${field.name}:${fieldTypeName(field.type)}${field.aggregated ? ":aggregated" : ""}`,
    )
    .join(", ");
}
