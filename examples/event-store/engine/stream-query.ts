import { encodedBlockBytes } from "./block-layout.js";
import { residentBlock } from "./block-load.js";
import type { EventRow } from "./operation.js";
import type { StreamSchema } from "./schema.js";
import { streamBlocks, type Stream } from "./stream.js";
import { blockColumns, textAt } from "./block.js";

export interface StreamStatistics {
  readonly name: string;
  readonly schema: StreamSchema;
  readonly eventCount: number;
  /** Undefined while the stream is empty. */
  readonly minTimestamp: number | undefined;
  readonly maxTimestamp: number | undefined;
  readonly blockCount: number;
  readonly blockBytes: number;
  /** Bytes of the blocks' encodings (what the blocks file holds for this stream). */
  readonly encodedBytes: number;
  readonly indexHeight: number;
  readonly lateEventCount: number;
  readonly blockSplitCount: number;
}

export function streamStatistics(stream: Stream): StreamStatistics {
  const summary = stream.tree.root.summary;
  let encodedBytes = 0;
  for (const block of streamBlocks(stream)) {
    encodedBytes += encodedBlockBytes(stream.layout, block.count, block.stringBytes);
  }
  const empty = summary.count === 0;
  return {
    name: stream.name,
    schema: stream.schema,
    eventCount: summary.count,
    minTimestamp: empty ? undefined : summary.minTimestamp,
    maxTimestamp: empty ? undefined : summary.maxTimestamp,
    blockCount: stream.blockCount,
    blockBytes: stream.layout.blockBytes,
    encodedBytes,
    indexHeight: stream.tree.root.height,
    lateEventCount: stream.lateEventCount,
    blockSplitCount: stream.blockSplitCount,
  };
}

/** The newest event (largest timestamp; ties: the last inserted), or undefined. */
export function latestEvent(stream: Stream): EventRow | undefined {
  if (stream.tree.last.count === 0) return undefined;
  const block = residentBlock(stream.tree.last);
  const row = block.count - 1;
  const values: Record<string, number | boolean | string> = {};
  const columns = blockColumns(block);
  stream.layout.fields.forEach((field, index) => {
    const column = columns[index]!;
    if (column.kind === "bool") values[field.name] = column.values[row] === 1;
    else if (column.kind === "string") values[field.name] = textAt(column.texts, row);
    else values[field.name] = column.values[row]!;
  });
  return { timestamp: block.timestamps[row]!, values };
}
