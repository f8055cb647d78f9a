import { ByteReader } from "./byte-reader.js";
import type { EntryCache } from "./entry-cache.js";
import { StorageError, StorageErrorCode } from "./errors.js";
import type { FileSystem, StorageFile } from "./file-system.js";
import type { GroupLog } from "./group-log.js";
import type { StorageLogger } from "./logger.js";
import type { SegmentHeader } from "./record-codec.js";
import { decodeSegmentHeader } from "./record-codec.js";
import { corrupt, scanSegment } from "./record-frame.js";
import { unknownTerm } from "./entry-locations.js";
import { applyCheckpoint, replayCommitRecord } from "./replay.js";
import { joinPath, parseSegmentFileName, segmentFileName } from "./segment-name.js";

export interface RecoveryContext {
  readonly fileSystem: FileSystem;
  readonly directory: string;
  readonly logger: StorageLogger;
  readonly maxRecordBytes: number;
  readonly cache: EntryCache;
}

export interface RecoveredLog {
  readonly groups: Map<number, GroupLog>;
  /** Every live segment, open for reading, by sequence. */
  readonly segments: Map<number, StorageFile>;
  /** Sequence of the newest segment on disk, 0 if there is none. */
  readonly lastSequence: number;
}

/**
 * Reads the log back (see docs/storage.md, "Recovery"): finds the live
 * segments from the newest segment's header, checks none is missing, replays
 * them from the oldest live segment's checkpoint, and cuts a torn tail off the
 * newest one. Anything else that is wrong is a typed error naming file and offset.
 * @internal
 */
export async function recoverLog(context: RecoveryContext): Promise<RecoveredLog> {
  await context.fileSystem.mkdir(context.directory);
  const names = await context.fileSystem.readdir(context.directory);
  const sequences = names
    .map(parseSegmentFileName)
    .filter((sequence): sequence is number => sequence !== undefined)
    .sort((a, b) => a - b);
  const groups = new Map<number, GroupLog>();
  const segments = new Map<number, StorageFile>();
  const newest = await findNewestHeader(context, sequences);
  if (newest === undefined) return { groups, segments, lastSequence: sequences.at(-1) ?? 0 };
  const lastSequence = newest.sequence;
  const lowest = newest.lowestLiveSequence;
  for (let sequence = lowest; sequence <= lastSequence; sequence++) {
    if (!sequences.includes(sequence)) {
      throw new StorageError(
        StorageErrorCode.MissingSegment,
        `segment ${sequence} is missing; live segments are ${lowest}..${lastSequence}`,
        { file: path(context, sequence) },
      );
    }
  }
  await removeStaleSegments(
    context,
    sequences.filter((sequence) => sequence < lowest),
  );
  try {
    for (let sequence = lowest; sequence <= lastSequence; sequence++) {
      const file = await replaySegment(
        context,
        groups,
        sequence,
        sequence === lowest,
        sequence === lastSequence,
      );
      segments.set(sequence, file);
    }
  } catch (error) {
    for (const file of segments.values()) await file.close();
    throw error;
  }
  checkNoUnknownEntries(context, groups, lowest);
  return { groups, segments, lastSequence };
}

/**
 * The header of the newest segment that has one. A newest segment without a
 * complete header is a crash while it was being created: it is removed.
 */
async function findNewestHeader(
  context: RecoveryContext,
  sequences: number[],
): Promise<SegmentHeader | undefined> {
  while (sequences.length > 0) {
    const sequence = sequences.at(-1)!;
    const file = await context.fileSystem.open(path(context, sequence), "read");
    let header: SegmentHeader | undefined;
    try {
      const size = await file.size();
      await scanSegment({
        file,
        size,
        tornTailAllowed: true,
        maxRecordBytes: context.maxRecordBytes,
        visit: (record) => {
          header = decodeSegmentHeader(new ByteReader(record.payload, file.path, record.position));
          return false;
        },
      });
    } finally {
      await file.close();
    }
    if (header !== undefined) {
      if (header.sequence !== sequence) {
        throw corrupt(file, 0, `header names segment ${header.sequence}`);
      }
      return header;
    }
    context.logger.warn("removing newest segment without a complete header (crash while rolling)", {
      file: file.path,
    });
    await context.fileSystem.unlink(file.path);
    await context.fileSystem.syncDirectory(context.directory);
    sequences.pop();
  }
  return undefined;
}

async function removeStaleSegments(context: RecoveryContext, stale: number[]): Promise<void> {
  if (stale.length === 0) return;
  for (const sequence of stale) {
    context.logger.warn("removing segment no longer needed", { file: path(context, sequence) });
    await context.fileSystem.unlink(path(context, sequence));
  }
  await context.fileSystem.syncDirectory(context.directory);
}

async function replaySegment(
  context: RecoveryContext,
  groups: Map<number, GroupLog>,
  sequence: number,
  isOldest: boolean,
  isNewest: boolean,
): Promise<StorageFile> {
  const file = await context.fileSystem.open(
    path(context, sequence),
    isNewest ? "readWrite" : "read",
  );
  try {
    await replayOpenSegment(context, groups, file, sequence, isOldest, isNewest);
  } catch (error) {
    await file.close();
    throw error;
  }
  return file;
}

async function replayOpenSegment(
  context: RecoveryContext,
  groups: Map<number, GroupLog>,
  file: StorageFile,
  sequence: number,
  isOldest: boolean,
  isNewest: boolean,
): Promise<void> {
  const size = await file.size();
  let records = 0;
  const scan = await scanSegment({
    file,
    size,
    tornTailAllowed: isNewest,
    maxRecordBytes: context.maxRecordBytes,
    visit: (record) => {
      if (records++ === 0) {
        const header = decodeSegmentHeader(
          new ByteReader(record.payload, file.path, record.position),
        );
        if (header.sequence !== sequence)
          throw corrupt(file, 0, `header names segment ${header.sequence}`);
        if (isOldest) applyCheckpoint(groups, header.groups);
        return true;
      }
      replayCommitRecord(groups, context.cache, {
        file: file.path,
        segment: sequence,
        position: record.position,
        payload: record.payload,
      });
      return true;
    },
  });
  if (records === 0) throw corrupt(file, 0, "segment has no header");
  if (scan.tornReason !== undefined) {
    context.logger.warn("cutting torn tail off the newest segment", {
      file: file.path,
      offset: scan.validBytes,
      reason: scan.tornReason,
      size,
    });
    await file.truncate(scan.validBytes);
    await file.datasync();
  }
}

function checkNoUnknownEntries(
  context: RecoveryContext,
  groups: Map<number, GroupLog>,
  lowest: number,
): void {
  for (const log of groups.values()) {
    if (log.entries.length === 0 || log.entries.term(0) !== unknownTerm) continue;
    throw new StorageError(
      StorageErrorCode.MissingSegment,
      `group ${log.groupId}: entries from ${log.offsetIndex + 1} are in a segment before ${lowest}`,
      { file: path(context, lowest) },
    );
  }
}

function path(context: RecoveryContext, sequence: number): string {
  return joinPath(context.directory, segmentFileName(sequence));
}
