/**
 * Segment files are named by their sequence number: 16 hex digits and ".wal",
 * so names sort in sequence order ("0000000000000001.wal").
 * @internal
 */
const segmentNamePattern = /^([0-9a-f]{16})\.wal$/;

export function segmentFileName(sequence: number): string {
  return `${sequence.toString(16).padStart(16, "0")}.wal`;
}

/** The sequence number of a segment file name, or undefined for any other name. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = segmentNamePattern.exec(name);
  if (match === null) return undefined;
  const sequence = Number.parseInt(match[1]!, 16);
  return Number.isSafeInteger(sequence) && sequence > 0 ? sequence : undefined;
}

export function joinPath(directory: string, name: string): string {
  return directory.endsWith("/") ? `${directory}${name}` : `${directory}/${name}`;
}
