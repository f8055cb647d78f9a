import { CodegenError, CodegenErrorCode } from "./errors.js";

/**
 * Which generator writes the messages next to protoc-gen-raftkit, and so
 * which model the generated descriptors, executors and clients import:
 * - "ts-proto": plain interfaces + encode/decode (`<file>.ts`); the default.
 * - "protobuf-es": protoc-gen-es (v2) schemas and shapes (`<file>_pb.ts`), for
 *   a state machine that is also served as a Connect service (Connect v2
 *   serves protobuf-es descriptors only), like the event store.
 */
export type MessageModel = "ts-proto" | "protobuf-es";

export const messageModels: readonly MessageModel[] = ["ts-proto", "protobuf-es"];

export const defaultMessageModel: MessageModel = "ts-proto";

/** A message model named by a plugin option or a command-line flag; anything else is refused. */
export function parseMessageModel(value: string, where: string): MessageModel {
  const model = messageModels.find((candidate) => candidate === value);
  if (model === undefined) {
    throw new CodegenError(CodegenErrorCode.InvalidOption,
      `${where}${JSON.stringify(value)}: allowed ${messageModels.join(" or ")}`);
  }
  return model;
}
