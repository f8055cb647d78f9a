import { parse } from "csv-parse";
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { EventRow, FieldValue } from "../client/index.js";
import { FieldType } from "../gen/eventstore/v1/eventstore_pb.js";
import type { FieldSpec } from "../gen/eventstore/v1/eventstore_pb.js";

/** Rows of a CSV (header: timestamp, optional id, the fields) or NDJSON file, with the bytes read so far. */
export async function* readEventFile(path: string, fields: readonly FieldSpec[]):
  AsyncIterable<{ readonly row: EventRow; readonly bytesRead: number }> {
  const input = createReadStream(path);
  let line = 0;
  const typed = (name: string, raw: unknown): FieldValue => {
    const field = fields.find((candidate) => candidate.name === name);
    if (field === undefined) throw new Error(`${path}:${line}: unknown field '${name}'`);
    if (field.type === FieldType.STRING) return String(raw);
    if (field.type === FieldType.BOOL) return raw === true || raw === "true" || raw === "1";
    const number = Number(raw);
    if (typeof raw === "string" && raw.trim() === "") throw new Error(`${path}:${line}: field '${name}' is empty`);
    return number;
  };
  const toRow = (record: Record<string, unknown>): EventRow => {
    line += 1;
    const timestamp = Number(record["timestamp"]);
    if (!Number.isSafeInteger(timestamp)) throw new Error(`${path}:${line}: timestamp ${String(record["timestamp"])} is not integer µs`);
    const values: Record<string, FieldValue> = {};
    for (const [name, raw] of Object.entries(record)) {
      if (name !== "timestamp" && name !== "id") values[name] = typed(name, raw);
    }
    const id = record["id"];
    return id === undefined || id === "" ? { timestamp, values } : { timestamp, id: String(id), values };
  };
  if (path.endsWith(".csv")) {
    for await (const record of input.pipe(parse({ columns: true, skip_empty_lines: true, trim: true })) as Readable) {
      yield { row: toRow(record as Record<string, unknown>), bytesRead: input.bytesRead };
    }
    return;
  }
  for await (const text of createInterface({ input, crlfDelay: Infinity })) {
    if (text.trim() === "") continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      throw new Error(`${path}:${line + 1}: not JSON: ${String(error)}`);
    }
    if (typeof record !== "object" || record === null) throw new Error(`${path}:${line + 1}: not an object`);
    yield { row: toRow(record as Record<string, unknown>), bytesRead: input.bytesRead };
  }
}

export function fileBytes(path: string): number {
  return statSync(path).size;
}
