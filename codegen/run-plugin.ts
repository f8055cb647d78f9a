import { create, fromBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { CodegenError, CodegenErrorCode } from "./errors.js";
import { raftkitPlugin } from "./plugin.js";

export interface GeneratedSource {
  /** Relative to the output root ("kv/v1/kv_raftkit.ts"). */
  readonly name: string;
  readonly content: string;
}

/**
 * Runs protoc-gen-raftkit in this process on a buf image (a FileDescriptorSet
 * with source info), exactly as buf would: `filesToGenerate` are the user's
 * files, every file of the image is available for imports. Throws the
 * plugin's CodegenError (InvalidAnnotation, InvalidOption) unchanged.
 */
export function runRaftkitPlugin(
  image: Uint8Array,
  filesToGenerate: readonly string[],
  parameter: string,
): GeneratedSource[] {
  const set = fromBinary(FileDescriptorSetSchema, image);
  const known = new Set(set.file.map((file) => file.name));
  for (const name of filesToGenerate) {
    if (!known.has(name)) {
      throw new CodegenError(CodegenErrorCode.ToolFailed,
        `${name} is not in the image (holds ${[...known].sort().join(", ")})`);
    }
  }
  const request = create(CodeGeneratorRequestSchema, {
    fileToGenerate: [...filesToGenerate],
    parameter,
    protoFile: set.file,
  });
  const response = raftkitPlugin.run(request);
  if (response.error !== undefined && response.error !== "") {
    throw new CodegenError(CodegenErrorCode.ToolFailed, `protoc-gen-raftkit: ${response.error}`);
  }
  return response.file
    .map((file) => ({ name: file.name ?? "", content: file.content ?? "" }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
