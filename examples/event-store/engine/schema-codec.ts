import { ByteReader, ByteWriter, textBytes } from "./byte-cursor.js";
import { isEventStoreError } from "./errors.js";
import { checkSchema, type FieldType, type StreamSchema } from "./schema.js";

/**
 * A stream's name and schema in bytes (manifest, WAL, snapshot header):
 * name | u32 field count | per field: u8 type, u8 aggregated, name.
 * @internal
 */
const TYPES: readonly FieldType[] = ["int64", "double", "bool", "string"];

export function schemaBytes(name: string, schema: StreamSchema): number {
  let bytes = textBytes(name) + 4;
  for (const field of schema.fields) bytes += 2 + textBytes(field.name);
  return bytes;
}

export function writeSchema(writer: ByteWriter, name: string, schema: StreamSchema): void {
  writer.text(name);
  writer.u32(schema.fields.length);
  for (const field of schema.fields) {
    writer.u8(TYPES.indexOf(field.type));
    writer.u8(field.aggregated === true ? 1 : 0);
    writer.text(field.name);
  }
}

export function readSchema(reader: ByteReader): { name: string; schema: StreamSchema } {
  const start = reader.at;
  const name = reader.text("stream name");
  const count = reader.u32("field count");
  if (count > 64) reader.fail(`field count ${count}`);
  const fields = [];
  for (let index = 0; index < count; index++) {
    const type = TYPES[reader.u8("field type")];
    if (type === undefined) reader.fail("unknown field type");
    const aggregated = reader.u8("aggregated flag") === 1;
    fields.push({ type: type ?? "int64", aggregated, name: reader.text("field name") });
  }
  try {
    return { name, schema: checkSchema(name, { fields }) };
  } catch (error) {
    if (!isEventStoreError(error)) throw error;
    reader.at = start;
    return reader.fail(`stored schema is invalid: ${error.message}`);
  }
}
