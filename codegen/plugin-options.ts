import { CodegenError, CodegenErrorCode } from "./errors.js";

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
}

export const defaultFrameworkImport = "raftkit/framework";

/** Parses `framework=…,source_root=…,client=false,di=false`; unknown keys are refused. */
export function parseRaftkitOptions(
  raw: ReadonlyArray<{ key: string; value: string }>,
): RaftkitPluginOptions {
  let framework = defaultFrameworkImport;
  let sourceRoot = "";
  let client = true;
  let di = true;
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
      default:
        throw optionError(key, value, "one of framework, source_root, client, di");
    }
  }
  return { framework, sourceRoot, client, di };
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
