import { assert } from "./assert.js";
import { blockColumns, textAt, type Block, type BlockColumn } from "./block.js";
import { residentBlock } from "./block-load.js";
import { EventStoreError, EventStoreErrorCode } from "./errors.js";
import {
  isEnd, seekLowerBound, skipForward, stepBackward, stepForward, tieIndexAt, type Position,
} from "./position.js";
import { checkInteger, checkRange, type TimeRange } from "./query-options.js";
import type { Stream } from "./stream.js";

/**
 * Where a scan resumes: the next event to return is the `tieIndex`-th
 * (from 0, in insertion order) of the events with timestamp `timestamp`.
 * Stays valid while events are inserted: a new event with the same
 * timestamp goes after the existing ones.
 */
export interface ScanCursor {
  readonly timestamp: number;
  readonly tieIndex: number;
}

export interface ScanOptions extends TimeRange {
  readonly order?: "ascending" | "descending";
  /** Events per page; default 1000, at most 1,000,000. */
  readonly limit?: number;
  readonly cursor?: ScanCursor;
}

export type ResultColumn = Float64Array | boolean[] | string[];

export interface ScanResult {
  readonly count: number;
  readonly timestamps: Float64Array;
  /** One column per schema field, by name. */
  readonly columns: Readonly<Record<string, ResultColumn>>;
  /** Present when more events in range follow; pass it back as `cursor`. */
  readonly next: ScanCursor | undefined;
}

export const SCAN_LIMIT_MAX = 1_000_000;

export function scanStream(stream: Stream, options: ScanOptions): ScanResult {
  const { from, to } = checkRange(options);
  const limit = checkInteger("limit", options.limit, 1000, 1, SCAN_LIMIT_MAX);
  const descending = options.order === "descending";
  if (options.order !== undefined && options.order !== "ascending" && !descending) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
      `order = ${String(options.order)}, expected "ascending" or "descending"`);
  }
  const start = startPosition(stream, options.cursor, descending ? to : from, descending);
  const rows: Position[] = [];
  let more = start !== undefined;
  const position = start ?? { block: stream.tree.first, row: 0 };
  while (more && rows.length < limit) {
    const timestamp = position.block.timestamps[position.row]!;
    if (descending ? timestamp < from : timestamp >= to) {
      more = false;
      break;
    }
    if (descending ? timestamp < to : timestamp >= from) rows.push({ ...position });
    more = descending ? stepBackward(position) : stepForward(position);
  }
  let next: ScanCursor | undefined;
  if (more) {
    const timestamp = position.block.timestamps[position.row]!;
    if (descending ? timestamp >= from : timestamp < to) {
      next = { timestamp, tieIndex: tieIndexAt(position) };
    }
  }
  return { ...gather(stream, rows), next };
}

/** The first event to visit, or undefined when there is none. */
function startPosition(stream: Stream, cursor: ScanCursor | undefined, bound: number,
  descending: boolean): Position | undefined {
  if (cursor !== undefined) {
    checkCursor(cursor);
    const position = seekLowerBound(stream.tree, cursor.timestamp);
    if (!skipForward(position, cursor.tieIndex) || isEnd(position)) {
      return descending ? lastPosition(stream) : undefined;
    }
    if (position.block.timestamps[position.row] !== cursor.timestamp && descending) {
      return stepBackward(position) ? position : undefined;
    }
    return position;
  }
  const position = seekLowerBound(stream.tree, bound);
  if (!descending) return isEnd(position) ? undefined : position;
  if (isEnd(position)) return lastPosition(stream);
  return stepBackward(position) ? position : undefined;
}

function lastPosition(stream: Stream): Position | undefined {
  const block = stream.tree.last;
  return block.count === 0 ? undefined : { block: residentBlock(block), row: block.count - 1 };
}

function checkCursor(cursor: ScanCursor): void {
  if (typeof cursor.timestamp !== "number" || !Number.isSafeInteger(cursor.timestamp)) {
    throw new EventStoreError(EventStoreErrorCode.InvalidArgument,
      `cursor.timestamp = ${String(cursor.timestamp)}, expected an integer µs`);
  }
  checkInteger("cursor.tieIndex", cursor.tieIndex, 0, 0, Number.MAX_SAFE_INTEGER);
}

function gather(stream: Stream, rows: readonly Position[]): Omit<ScanResult, "next"> {
  const timestamps = new Float64Array(rows.length);
  rows.forEach((row, index) => {
    timestamps[index] = row.block.timestamps[row.row]!;
  });
  const columns: Record<string, ResultColumn> = {};
  // Rows come in runs of one block: its columns are looked up once per run.
  let viewed: Block | undefined;
  let viewedColumns: readonly BlockColumn[] = [];
  stream.layout.fields.forEach((field, fieldIndex) => {
    const column = (block: Block) => {
      if (block !== viewed) {
        viewed = block;
        viewedColumns = blockColumns(block);
      }
      const found = viewedColumns[fieldIndex];
      assert(found !== undefined, () => `block without column #${fieldIndex}`);
      return found;
    };
    if (field.type === "bool") {
      columns[field.name] = rows.map((row) => {
        const found = column(row.block);
        return found.kind === "bool" && found.values[row.row] === 1;
      });
    } else if (field.type === "string") {
      columns[field.name] = rows.map((row) => {
        const found = column(row.block);
        return found.kind === "string" ? textAt(found.texts, row.row) : "";
      });
    } else {
      const values = new Float64Array(rows.length);
      rows.forEach((row, index) => {
        const found = column(row.block);
        values[index] = found.kind === "number" ? found.values[row.row]! : NaN;
      });
      columns[field.name] = values;
    }
  });
  return { count: rows.length, timestamps, columns };
}
