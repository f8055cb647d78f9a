import type { Entry, HardState, Snapshot } from "../raft/index.js";
import { EntryType } from "../raft/index.js";
import { StorageError, StorageErrorCode } from "./errors.js";

/** What one group's Ready asks to persist: saved in the order snapshot, entries, hard state. */
export interface LogUpdate {
  readonly groupId: number;
  readonly hardState?: HardState | undefined;
  /** Appended like MemoryStorage.append: a conflicting suffix is truncated first. */
  readonly entries?: readonly Entry[] | undefined;
  /** Replaces the group's log, like MemoryStorage.applySnapshot. */
  readonly snapshot?: Snapshot | undefined;
}

/** Bytes an update may add to a record, at most (fields plus data). @internal */
export function estimateUpdateBytes(update: LogUpdate): number {
  let bytes = 64;
  for (const entry of update.entries ?? []) bytes += 32 + entry.data.byteLength;
  if (update.snapshot !== undefined) {
    const confState = update.snapshot.metadata.confState;
    const nodes =
      confState.voters.length +
      confState.learners.length +
      confState.votersOutgoing.length +
      confState.learnersNext.length;
    bytes += 128 + 8 * nodes + update.snapshot.data.byteLength;
  }
  return bytes;
}

/**
 * Rejects malformed input with an InvalidArgument error naming the field.
 * Runs for every group of every save: no message is built unless one fails.
 * @internal
 */
export function checkUpdateShape(update: LogUpdate): void {
  checkGroupId(update.groupId);
  const groupId = update.groupId;
  const hardState = update.hardState;
  if (hardState !== undefined) {
    checkNumber(groupId, "hardState.term", hardState.term);
    checkNumber(groupId, "hardState.vote", hardState.vote);
    checkNumber(groupId, "hardState.commit", hardState.commit);
  }
  const entries = update.entries;
  if (entries !== undefined) {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      checkNumber(groupId, "entry index", entry.index);
      checkNumber(groupId, "entry term", entry.term);
      if (entry.index === 0) throw invalidArgument(`group ${groupId}: entry index 0`);
      if (entry.type !== EntryType.Normal && entry.type !== EntryType.ConfChange) {
        throw invalidArgument(
          `group ${groupId}: entry ${entry.index} has type ${String(entry.type)}`,
        );
      }
    }
  }
  if (update.snapshot !== undefined) {
    const metadata = update.snapshot.metadata;
    checkNumber(groupId, "snapshot index", metadata.index);
    checkNumber(groupId, "snapshot term", metadata.term);
    const confState = metadata.confState;
    for (const ids of [
      confState.voters,
      confState.learners,
      confState.votersOutgoing,
      confState.learnersNext,
    ]) {
      for (const id of ids) checkNumber(groupId, "snapshot node id", id);
    }
  }
}

export function checkGroupId(groupId: number): void {
  if (!Number.isSafeInteger(groupId) || groupId <= 0) {
    throw invalidArgument(`group id ${groupId} is not a positive integer`);
  }
}

function checkNumber(groupId: number, what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`group ${groupId}: ${what} = ${value}, allowed integers 0..2^53-1`);
  }
}

export function invalidArgument(message: string): StorageError {
  return new StorageError(StorageErrorCode.InvalidArgument, message);
}
