import type { DescMessage } from "@bufbuild/protobuf";
import type { GeneratedFile, ImportSymbol, Printable } from "@bufbuild/protoplugin";
import { tsProtoMessageName, tsProtoModulePath } from "../../codegen/model.js";

/**
 * What every template gets: the file being printed and its imports. Imports go
 * through protoplugin's import-tracking printer (never pasted as strings), so
 * each file imports exactly what it prints, sorted, without duplicates.
 */
export interface RenderContext {
  readonly file: GeneratedFile;
  /** A symbol of a framework part: `framework("statemachine", "tsProtoCodec")`. */
  framework(part: FrameworkPart, name: string, typeOnly?: boolean): ImportSymbol;
  /** The ts-proto model of a message: interface and MessageFns under one name. */
  message(desc: DescMessage, typeOnly?: boolean): ImportSymbol;
  /** A symbol of `<file>_raftkit.ts` (descriptors, executor, register); imported elsewhere. */
  executable(name: string, typeOnly?: boolean): Printable;
}

export type FrameworkPart = "statemachine" | "client" | "di";

/**
 * `frameworkRoot` is a package specifier ("raftkit/framework") or a path relative
 * to the output root ("../../framework"); protoplugin makes the latter relative
 * to each generated file. `executablesModule` ("./kv/v1/kv_raftkit.js") is given
 * for the files that import the descriptors rather than define them.
 */
export function createRenderContext(
  file: GeneratedFile,
  frameworkRoot: string,
  executablesModule?: string,
): RenderContext {
  const root = frameworkRoot.startsWith(".") && !frameworkRoot.startsWith("./") &&
    !frameworkRoot.startsWith("../") ? `./${frameworkRoot}` : frameworkRoot;
  return {
    file,
    framework: (part, name, typeOnly = false) =>
      file.import(name, `${root}/${part}/index.js`, typeOnly),
    message: (desc, typeOnly = false) =>
      file.import(tsProtoMessageName(desc), tsProtoModulePath(desc.file), typeOnly),
    executable: (name, typeOnly = false) =>
      executablesModule === undefined ? name : file.import(name, executablesModule, typeOnly),
  };
}
