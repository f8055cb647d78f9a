import type { DescMessage } from "@bufbuild/protobuf";
import type { GeneratedFile, ImportSymbol, Printable } from "@bufbuild/protoplugin";
import type { MessageModel } from "../../codegen/message-model.js";
import { tsProtoMessageName, tsProtoModulePath } from "../../codegen/model.js";

/**
 * What every template gets: the file being printed and its imports. Imports go
 * through protoplugin's import-tracking printer (never pasted as strings), so
 * each file imports exactly what it prints, sorted, without duplicates.
 */
export interface RenderContext {
  readonly file: GeneratedFile;
  /** A symbol of a framework part: `framework("statemachine", "ExecutableKind")`. */
  framework(part: FrameworkPart, name: string, typeOnly?: boolean): ImportSymbol;
  /** The type of a message in the chosen model (ts-proto interface, protobuf-es shape). */
  messageType(desc: DescMessage): ImportSymbol;
  /** The message's MessageCodec: `tsProtoCodec(X)` or `protobufEsCodec(XSchema)`. */
  messageCodec(desc: DescMessage): Printable;
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
  messages: MessageModel,
  executablesModule?: string,
): RenderContext {
  const root = frameworkRoot.startsWith(".") && !frameworkRoot.startsWith("./") &&
    !frameworkRoot.startsWith("../") ? `./${frameworkRoot}` : frameworkRoot;
  const framework = (part: FrameworkPart, name: string, typeOnly = false): ImportSymbol =>
    file.import(name, `${root}/${part}/index.js`, typeOnly);
  const tsProtoMessage = (desc: DescMessage, typeOnly: boolean): ImportSymbol =>
    file.import(tsProtoMessageName(desc), tsProtoModulePath(desc.file), typeOnly);
  return {
    file,
    framework,
    messageType: (desc) =>
      messages === "protobuf-es" ? file.importShape(desc) : tsProtoMessage(desc, true),
    messageCodec: (desc) => messages === "protobuf-es"
      ? [framework("statemachine", "protobufEsCodec"), "(", file.importSchema(desc), ")"]
      : [framework("statemachine", "tsProtoCodec"), "(", tsProtoMessage(desc, false), ")"],
    executable: (name, typeOnly = false) =>
      executablesModule === undefined ? name : file.import(name, executablesModule, typeOnly),
  };
}
