import { CodegenError, CodegenErrorCode } from "./errors.js";
import type { MessageModel } from "./message-model.js";
import { defaultMessageModel, parseMessageModel } from "./message-model.js";

/** Options of protoc-gen-raftkit (besides protoplugin's own: target, import_extension, ...). */
export interface RaftkitPluginOptions {
  /**
   * Where generated code imports the framework from: a package specifier
   * ("raftkit/framework", the default) or a path relative to the output root
   * ("../../framework").
   */
  readonly framework: string;
  /** Prefixed to proto file names in error locations (the directory the user's protos live in). */
  readonly sourceRoot: string;
  /** Emit the typed client (`<file>_raftkit_client.ts`). Default true. */
  readonly client: boolean;
  /** Emit the DI registration glue (`<file>_raftkit_di.ts`). Default true. */
  readonly di: boolean;
  /** The messages' generator run next to this plugin (`messages=`); default ts-proto. */
  readonly messages: MessageModel;
}

export const defaultFrameworkImport = "raftkit/framework";

/**
 * Parses `framework=…,source_root=…,client=false,di=false,messages=protobuf-es`;
 * unknown keys are refused.
 */
export function parseRaftkitOptions(
  raw: ReadonlyArray<{ key: string; value: string }>,
): RaftkitPluginOptions {
  let framework = defaultFrameworkImport;
  let sourceRoot = "";
  let client = true;
  let di = true;
  let messages = defaultMessageModel;
  for (const { key, value } of raw) {
    switch (key) {
      case "framework":
        if (value === "") throw optionError(key, value, "a package specifier or a relative path");
        framework = value.replace(/\/$/, "");
        break;
      case "source_root":
        sourceRoot = value;
        break;
      case "client":
        client = parseBoolean(key, value);
        break;
      case "di":
        di = parseBoolean(key, value);
        break;
      case "messages":
        messages = parseMessageModel(value, "protoc-gen-raftkit option messages=");
        break;
      default:
        throw optionError(key, value, "one of framework, source_root, client, di, messages");
    }
  }
  return { framework, sourceRoot, client, di, messages };
}

function parseBoolean(key: string, value: string): boolean {
  if (value === "" || value === "true") return true;
  if (value === "false") return false;
  throw optionError(key, value, "true or false");
}

function optionError(key: string, value: string, allowed: string): CodegenError {
  return new CodegenError(
    CodegenErrorCode.InvalidOption,
    `protoc-gen-raftkit option ${key}=${JSON.stringify(value)}: allowed ${allowed}`,
  );
}
