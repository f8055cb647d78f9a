/**
 * Executable messages of the test state machine, written the way ts-proto 2
 * generates them (MessageFns objects over @bufbuild/protobuf/wire), so the
 * tests exercise the same adapter (tsProtoCodec) generated code will use.
 */
import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire";

export interface AddRequest {
  name: string;
  delta: number;
}

export interface NameRequest {
  name: string;
}

export interface CounterValue {
  value: number;
}

export interface PutRequest {
  key: string;
  value: string;
}

export interface PreviousValue {
  found: boolean;
  value: string;
}

export interface StampRequest {
  draws: number;
}

export interface StampResponse {
  timestampMs: number;
  index: number;
  position: number;
  randoms: number[];
}

/** A JSON object's members, or a TypeError naming the message (as ts-proto's fromJSON would fail). */
function jsonObject(object: unknown, message: string): Record<string, unknown> {
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    throw new TypeError(`${message}: expected a JSON object, got ${JSON.stringify(object)}`);
  }
  return object as Record<string, unknown>;
}

function jsonString(fields: Record<string, unknown>, name: string): string {
  const value = fields[name] ?? "";
  if (typeof value !== "string") throw new TypeError(`field "${name}": expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function jsonInt32(fields: Record<string, unknown>, name: string): number {
  const value = fields[name] ?? 0;
  if (typeof value !== "number" || !Number.isInteger(value) || Math.abs(value) > 2 ** 31) {
    throw new TypeError(`field "${name}": expected an int32, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Reads fields until the end, calling `field` for each; unknown fields are skipped. */
function readFields(
  input: Uint8Array,
  field: (reader: BinaryReader, number: number) => boolean,
): void {
  const reader = new BinaryReader(input);
  while (reader.pos < reader.len) {
    const [number, wireType] = reader.tag();
    if (!field(reader, number)) reader.skip(wireType, number);
  }
}

export const AddRequest = {
  encode(message: AddRequest, writer: BinaryWriter = new BinaryWriter()): BinaryWriter {
    if (message.name !== "") writer.uint32(10).string(message.name);
    if (message.delta !== 0) writer.uint32(16).sint32(message.delta);
    return writer;
  },
  decode(input: Uint8Array): AddRequest {
    const message: AddRequest = { name: "", delta: 0 };
    readFields(input, (reader, number) => {
      if (number === 1) message.name = reader.string();
      else if (number === 2) message.delta = reader.sint32();
      else return false;
      return true;
    });
    return message;
  },
  fromJSON(object: unknown): AddRequest {
    const fields = jsonObject(object, "AddRequest");
    return { name: jsonString(fields, "name"), delta: jsonInt32(fields, "delta") };
  },
  toJSON(message: AddRequest): unknown {
    return { name: message.name, delta: message.delta };
  },
};

export const NameRequest = {
  encode(message: NameRequest, writer: BinaryWriter = new BinaryWriter()): BinaryWriter {
    if (message.name !== "") writer.uint32(10).string(message.name);
    return writer;
  },
  decode(input: Uint8Array): NameRequest {
    const message: NameRequest = { name: "" };
    readFields(input, (reader, number) => {
      if (number !== 1) return false;
      message.name = reader.string();
      return true;
    });
    return message;
  },
  fromJSON(object: unknown): NameRequest {
    return { name: jsonString(jsonObject(object, "NameRequest"), "name") };
  },
  toJSON(message: NameRequest): unknown {
    return { name: message.name };
  },
};

export const CounterValue = {
  encode(message: CounterValue, writer: BinaryWriter = new BinaryWriter()): BinaryWriter {
    if (message.value !== 0) writer.uint32(8).int64(message.value);
    return writer;
  },
  decode(input: Uint8Array): CounterValue {
    const message: CounterValue = { value: 0 };
    readFields(input, (reader, number) => {
      if (number !== 1) return false;
      message.value = Number(reader.int64());
      return true;
    });
    return message;
  },
  fromJSON(object: unknown): CounterValue {
    const fields = jsonObject(object, "CounterValue");
    const value = fields.value ?? 0;
    const parsed = typeof value === "string" ? Number(value) : value;
    if (typeof parsed !== "number" || !Number.isSafeInteger(parsed)) throw new TypeError(`CounterValue.value: ${String(value)}`);
    return { value: parsed };
  },
  toJSON(message: CounterValue): unknown {
    // proto3 JSON renders int64 as a string.
    return { value: String(message.value) };
  },
};

export const PutRequest = {
  encode(message: PutRequest, writer: BinaryWriter = new BinaryWriter()): BinaryWriter {
    if (message.key !== "") writer.uint32(10).string(message.key);
    if (message.value !== "") writer.uint32(18).string(message.value);
    return writer;
  },
  decode(input: Uint8Array): PutRequest {
    const message: PutRequest = { key: "", value: "" };
    readFields(input, (reader, number) => {
      if (number === 1) message.key = reader.string();
      else if (number === 2) message.value = reader.string();
      else return false;
      return true;
    });
    return message;
  },
  fromJSON(object: unknown): PutRequest {
    if (typeof object !== "object" || object === null) {
      throw new TypeError("PutRequest: not an object");
    }
    const key = "key" in object ? object.key : "";
    const value = "value" in object ? object.value : "";
    if (typeof key !== "string" || typeof value !== "string") {
      throw new TypeError("PutRequest: key and value must be strings");
    }
    return { key, value };
  },
  toJSON(message: PutRequest): unknown {
    return { key: message.key, value: message.value };
  },
};

export const PreviousValue = {
  encode(message: PreviousValue, writer: BinaryWriter = new BinaryWriter()): BinaryWriter {
    if (message.found) writer.uint32(8).bool(message.found);
    if (message.value !== "") writer.uint32(18).string(message.value);
    return writer;
  },
  decode(input: Uint8Array): PreviousValue {
    const message: PreviousValue = { found: false, value: "" };
    readFields(input, (reader, number) => {
      if (number === 1) message.found = reader.bool();
      else if (number === 2) message.value = reader.string();
      else return false;
      return true;
    });
    return message;
  },
  fromJSON(object: unknown): PreviousValue {
    if (typeof object !== "object" || object === null) throw new TypeError("not an object");
    const found = "found" in object && object.found === true;
    const value = "value" in object && typeof object.value === "string" ? object.value : "";
    return { found, value };
  },
  toJSON(message: PreviousValue): unknown {
    return { found: message.found, value: message.value };
  },
};

export const StampRequest = {
  encode(message: StampRequest, writer: BinaryWriter = new BinaryWriter()): BinaryWriter {
    if (message.draws !== 0) writer.uint32(8).uint32(message.draws);
    return writer;
  },
  decode(input: Uint8Array): StampRequest {
    const message: StampRequest = { draws: 0 };
    readFields(input, (reader, number) => {
      if (number !== 1) return false;
      message.draws = reader.uint32();
      return true;
    });
    return message;
  },
};

export const StampResponse = {
  encode(message: StampResponse, writer: BinaryWriter = new BinaryWriter()): BinaryWriter {
    if (message.timestampMs !== 0) writer.uint32(8).int64(message.timestampMs);
    if (message.index !== 0) writer.uint32(16).uint64(message.index);
    if (message.position !== 0) writer.uint32(24).uint32(message.position);
    for (const random of message.randoms) writer.uint32(32).uint32(random);
    return writer;
  },
  decode(input: Uint8Array): StampResponse {
    const message: StampResponse = { timestampMs: 0, index: 0, position: 0, randoms: [] };
    readFields(input, (reader, number) => {
      if (number === 1) message.timestampMs = Number(reader.int64());
      else if (number === 2) message.index = Number(reader.uint64());
      else if (number === 3) message.position = reader.uint32();
      else if (number === 4) message.randoms.push(reader.uint32());
      else return false;
      return true;
    });
    return message;
  },
};
