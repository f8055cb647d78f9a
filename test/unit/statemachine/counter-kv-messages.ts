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
