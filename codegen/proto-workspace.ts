import { copyFile, mkdir, readdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { CodegenError, CodegenErrorCode } from "./errors.js";
import { optionsProtoPath } from "./tool-paths.js";

/**
 * A throw-away buf workspace: the user's .proto files copied under `user/`,
 * raftkit's options.proto under `deps/` (unless the user's tree has its own
 * copy), and a buf.yaml naming both modules. The user writes no buf config.
 */
export interface ProtoWorkspace {
  readonly directory: string;
  /** The user's proto files, module-relative ("kv/v1/kv.proto"), sorted. */
  readonly userFiles: readonly string[];
}

const optionsProtoName = "raftkit/v1/options.proto";

export async function createProtoWorkspace(
  protoDirectory: string,
  directory: string,
): Promise<ProtoWorkspace> {
  const userFiles = await listProtoFiles(protoDirectory);
  if (userFiles.length === 0) {
    throw new CodegenError(CodegenErrorCode.FileSystem,
      `--proto ${protoDirectory}: no .proto files found (looked in every subdirectory)`);
  }
  for (const name of userFiles) {
    await copyInto(join(protoDirectory, name), join(directory, "user", name));
  }
  const modules = ["user"];
  if (!userFiles.includes(optionsProtoName)) {
    await copyInto(optionsProtoPath, join(directory, "deps", optionsProtoName));
    modules.push("deps");
  }
  const moduleLines = modules.map((module) => `  - path: ${module}`).join("\n");
  await writeFile(join(directory, "buf.yaml"), `version: v2\nmodules:\n${moduleLines}\n`);
  return { directory, userFiles };
}

async function copyInto(source: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  await copyFile(source, target);
}

/** Every .proto below `root`, as forward-slash paths relative to it, sorted (deterministic). */
export async function listProtoFiles(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw new CodegenError(CodegenErrorCode.FileSystem,
      `--proto ${root}: cannot read the directory (${String(error)})`, [], { cause: error });
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(".proto"))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .filter((name) => !name.split("/").includes("node_modules"))
    .sort();
}
