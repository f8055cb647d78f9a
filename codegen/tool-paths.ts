import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const require = createRequire(import.meta.url);

/** The raftkit package root (where framework/, codegen/ and proto/ live). */
export const raftkitRoot = resolve(import.meta.dirname, "..");

/** The protoc-gen-raftkit executable, for a buf.gen.yaml of one's own. */
export const raftkitPluginPath = join(raftkitRoot, "codegen", "protoc-gen-raftkit.js");

/** proto/raftkit/v1/options.proto, the annotations a user's proto imports. */
export const optionsProtoPath = join(raftkitRoot, "proto", "raftkit", "v1", "options.proto");

/** A binary of an installed package, found through Node's resolution (hoisting-safe). */
function packageBinary(packageName: string, binary: string): string {
  return join(dirname(require.resolve(`${packageName}/package.json`)), binary);
}

export function bufPath(): string {
  return packageBinary("@bufbuild/buf", "bin/buf");
}

export function tsProtoPluginPath(): string {
  return packageBinary("ts-proto", "protoc-gen-ts_proto");
}

export function protocGenEsPath(): string {
  return packageBinary("@bufbuild/protoc-gen-es", "bin/protoc-gen-es");
}
