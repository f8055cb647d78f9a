import type { DescField, DescFile, DescMethod, DescService } from "@bufbuild/protobuf";
import { getComments } from "@bufbuild/protoplugin";

/** Field numbers of the descriptor.proto paths used below (options of a method or field). */
const optionsFieldNumber: Readonly<Record<LocatedDesc["kind"], number>> = {
  service: 3,
  rpc: 4,
  field: 8,
};

export type LocatedDesc = DescService | DescMethod | DescField;

/**
 * "file.proto:line:column" (1-based) of an element, or of its option `extensionNumber`
 * when given and present in the source info. `sourceRoot` is prefixed to the file
 * name so a user sees the path they wrote (the plugin only knows module-relative names).
 */
export function locate(desc: LocatedDesc, sourceRoot: string, extensionNumber?: number): string {
  const file = fileOf(desc);
  const path = getComments(desc).sourcePath;
  const candidates: Array<readonly number[]> = [];
  if (extensionNumber !== undefined) {
    candidates.push([...path, optionsFieldNumber[desc.kind], extensionNumber]);
  }
  candidates.push(path);
  const name = sourceRoot === ""
    ? file.proto.name
    : `${sourceRoot.replace(/\/$/, "")}/${file.proto.name}`;
  for (const candidate of candidates) {
    const span = spanOf(file, candidate);
    if (span !== undefined) return `${name}:${span.line + 1}:${span.column + 1}`;
  }
  return name;
}

function fileOf(desc: LocatedDesc): DescFile {
  switch (desc.kind) {
    case "service":
      return desc.file;
    case "rpc":
      return desc.parent.file;
    case "field":
      return desc.parent.file;
  }
}

function spanOf(
  file: DescFile,
  path: readonly number[],
): { line: number; column: number } | undefined {
  const locations = file.proto.sourceCodeInfo?.location ?? [];
  for (const location of locations) {
    if (location.path.length !== path.length) continue;
    if (!location.path.every((value, index) => value === path[index])) continue;
    const [line, column] = location.span;
    if (line === undefined || column === undefined) return undefined;
    return { line, column };
  }
  return undefined;
}
