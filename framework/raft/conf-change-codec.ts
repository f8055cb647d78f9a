import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { RaftError, RaftErrorCode } from "./errors.js";
import type { ConfChange, ConfChangeSingle } from "./types.js";
import { ConfChangeTransition, ConfChangeType } from "./types.js";

/**
 * ConfChange entries carry a raftkit.v1.ConfChange (proto/raftkit/v1/raft.proto)
 * as their data, encoded with protobuf's wire format directly so the core has
 * no generated code in it.
 */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const writer = new BinaryWriter();
  if (change.transition !== ConfChangeTransition.Auto) writer.tag(1, WireType.Varint).int32(change.transition);
  for (const single of change.changes) {
    writer.tag(2, WireType.LengthDelimited).fork();
    if (single.type !== ConfChangeType.AddVoter) writer.tag(1, WireType.Varint).int32(single.type);
    if (single.nodeId !== 0) writer.tag(2, WireType.Varint).uint64(single.nodeId);
    writer.join();
  }
  if (change.context.byteLength > 0) writer.tag(3, WireType.LengthDelimited).bytes(change.context);
  return writer.finish();
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  try {
    const reader = new BinaryReader(data);
    let transition = ConfChangeTransition.Auto;
    const changes: ConfChangeSingle[] = [];
    let context: Uint8Array = new Uint8Array(0);
    while (reader.pos < reader.len) {
      const [field, wireType] = reader.tag();
      if (field === 1 && wireType === WireType.Varint) transition = checkedEnum(reader.int32(), 2, "transition");
      else if (field === 2 && wireType === WireType.LengthDelimited) changes.push(decodeSingle(reader.bytes()));
      else if (field === 3 && wireType === WireType.LengthDelimited) context = reader.bytes();
      else reader.skip(wireType, field);
    }
    return { transition, changes, context };
  } catch (error) {
    if (error instanceof RaftError) throw error;
    throw new RaftError(RaftErrorCode.InvalidConfChange, `undecodable ConfChange: ${String(error)}`);
  }
}

function decodeSingle(data: Uint8Array): ConfChangeSingle {
  const reader = new BinaryReader(data);
  let type = ConfChangeType.AddVoter;
  let nodeId = 0;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === WireType.Varint) type = checkedEnum(reader.int32(), 2, "type");
    else if (field === 2 && wireType === WireType.Varint) nodeId = Number(reader.uint64());
    else reader.skip(wireType, field);
  }
  return { type, nodeId };
}

function checkedEnum(value: number, max: number, what: string): number {
  if (!(value >= 0 && value <= max)) {
    throw new RaftError(RaftErrorCode.InvalidConfChange, `ConfChange ${what} = ${value}, allowed [0, ${max}]`);
  }
  return value;
}
