/**
 * Snapshot files of a group: "<index>-<term>.snap" with both as 16 hex digits,
 * so names sort by index. Temporary files end in ".tmp".
 * @internal
 */
const snapshotNamePattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function snapshotFileName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, "0")}-${term.toString(16).padStart(16, "0")}.snap`;
}

export function parseSnapshotFileName(name: string): { index: number; term: number } | undefined {
  const match = snapshotNamePattern.exec(name);
  if (match === null) return undefined;
  return { index: Number.parseInt(match[1]!, 16), term: Number.parseInt(match[2]!, 16) };
}

export function isTemporaryFileName(name: string): boolean {
  return name.endsWith(".tmp");
}
