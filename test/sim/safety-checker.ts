import type { Entry, HardState, Message, NodeId } from "../../framework/raft/index.js";
import { MessageType } from "../../framework/raft/index.js";
import { fnv1a } from "./kv-state-machine.js";

/**
 * Raft's safety properties (Raft paper figure 3), checked incrementally as
 * the simulator observes each node, so every step costs O(what changed):
 *
 * - election safety: at most one leader per term, over the whole run;
 * - log matching: two durable logs holding an entry with the same index and
 *   term hold the same entry there and the same term just before it (which,
 *   by induction, makes the whole prefixes identical);
 * - leader completeness: a leader of term T holds every entry known to be
 *   committed in an earlier term. Committed entries are learned from durable
 *   hard states (an entry at or below a node's durable commit is committed),
 *   and the smallest term of such a hard state bounds from above the term the
 *   entry was committed in (whoever learned a commit is in the committing
 *   leader's term or later). A leader of a term at or below that bound is not
 *   held to the entry: a candidate stalled since before the commit may still
 *   win an older term, legitimately;
 * - state machine safety: no two nodes apply different entries at one index,
 *   and the state machines' digests agree at every applied index;
 * - durable hard state: term never decreases, a vote once persisted for a
 *   term never changes, and the durable commit never decreases;
 * - unsynced promises: a Ready the host does not make durable before going
 *   on (`mustSync` false) acknowledges only what is durable already — an
 *   accepting append response at most the durable log's last index, a
 *   granted vote only the durable vote of its term.
 */
export interface SafetyChecker {
  /** The node is leader in `term` (seen in its status after a step). */
  observeLeader(node: NodeId, term: number): void;
  /**
   * The node made `entries` durable; `log` reads its durable log after the write.
   */
  observePersistedEntries(node: NodeId, entries: readonly Entry[], log: LogView): void;
  observePersistedHardState(node: NodeId, previous: HardState, next: HardState, log: LogView): void;
  /**
   * `messages` (a Ready's messagesAfterPersist) leave now; `durable*` is the
   * node's disk now. What they promise must be durable. A durable term above
   * a message's was written by a later write, so (the disk writing in order)
   * everything the message's Ready wrote is durable too, and may have been
   * replaced since: such a message is not checked.
   */
  observeUnsyncedPromises(
    node: NodeId,
    messages: readonly Message[],
    durableLastIndex: number,
    durableHardState: HardState,
  ): void;
  /** The node just became leader of `term`; `log` shows what of its log is visible. */
  observeNewLeaderLog(node: NodeId, term: number, lastIndex: number, log: LogView): void;
  /** The node lost the leadership of its term, or crashed. */
  forgetLeader(node: NodeId): void;
  observeApplied(node: NodeId, entry: Entry, digestAfter: number): void;
  /** The node restored a snapshot at `index` with state digest `digest`. */
  observeSnapshotRestored(node: NodeId, index: number, term: number, digest: number): void;
  violations(): readonly string[];
  stats(): { leaders: number; committedMax: number; appliedMax: number };
}

/** A node's log as the host can see it; undefined where compacted or not visible. */
export interface LogView {
  term(index: number): number | undefined;
  entry(index: number): Entry | undefined;
}

interface EntryRecord {
  readonly term: number;
  readonly data: number;
}

export function entryFingerprint(entry: Entry): EntryRecord {
  return { term: entry.term, data: fnv1a(0x811c9dc5 ^ entry.type, entry.data) };
}

export function createSafetyChecker(maxViolations = 20): SafetyChecker {
  const found: string[] = [];
  const violate = (message: string): void => {
    if (found.length < maxViolations) found.push(message);
  };
  const leaderOfTerm = new Map<number, NodeId>();
  // index -> term -> (data fingerprint, term of the previous entry)
  const persisted = new Map<
    number,
    Map<number, { data: number; previousTerm: number | undefined }>
  >();
  // index -> committed entry, with an upper bound of the term it was committed in
  const committed = new Map<number, EntryRecord & { commitTerm: number }>();
  let committedMax = 0;
  const applied = new Map<number, EntryRecord & { digest: number }>();
  let appliedMax = 0;
  // A new leader's obligation: entries it persists at or below `upTo` must be the committed ones.
  const obligations = new Map<NodeId, { term: number; upTo: number }>();

  /** A leader of `leaderTerm` holds `record` at `index`: it must be the entry committed before. */
  const checkCommittedEntry = (
    node: NodeId,
    index: number,
    record: EntryRecord,
    leaderTerm: number,
  ): void => {
    const known = committed.get(index);
    if (known === undefined || known.commitTerm >= leaderTerm) return;
    const what = `leader completeness (leader of term ${leaderTerm})`;
    if (known.term !== record.term || known.data !== record.data) {
      violate(
        `${what}: node ${node} has entry ${index} of term ${record.term} (data ${record.data}), ` +
          `but entry ${index} of term ${known.term} (data ${known.data}) is committed`,
      );
    }
  };

  return {
    observeLeader(node, term) {
      const leader = leaderOfTerm.get(term);
      if (leader === undefined) leaderOfTerm.set(term, node);
      else if (leader !== node)
        violate(`election safety: nodes ${leader} and ${node} both led term ${term}`);
    },
    observePersistedEntries(node, entries, log) {
      const obligation = obligations.get(node);
      for (const entry of entries) {
        const record = entryFingerprint(entry);
        const previousTerm = log.term(entry.index - 1);
        let byTerm = persisted.get(entry.index);
        if (byTerm === undefined) persisted.set(entry.index, (byTerm = new Map()));
        const known = byTerm.get(entry.term);
        if (known === undefined) byTerm.set(entry.term, { data: record.data, previousTerm });
        else if (known.data !== record.data) {
          violate(
            `log matching: two different entries at index ${entry.index} ` +
              `term ${entry.term} (node ${node})`,
          );
        } else if (
          known.previousTerm !== undefined &&
          previousTerm !== undefined &&
          known.previousTerm !== previousTerm
        ) {
          violate(
            `log matching: entry ${entry.index} term ${entry.term} follows term ` +
              `${previousTerm} on node ${node}, ` +
              `term ${known.previousTerm} elsewhere`,
          );
        }
        if (obligation !== undefined && entry.index <= obligation.upTo) {
          checkCommittedEntry(node, entry.index, record, obligation.term);
        }
      }
    },
    observePersistedHardState(node, previous, next, log) {
      if (next.term < previous.term)
        violate(`durable term of node ${node} went back from ${previous.term} to ${next.term}`);
      if (next.term === previous.term && previous.vote !== 0 && next.vote !== previous.vote) {
        violate(
          `node ${node} changed its durable vote in term ${next.term} ` +
            `from ${previous.vote} to ${next.vote}`,
        );
      }
      if (next.commit < previous.commit) {
        violate(
          `durable commit of node ${node} went back from ${previous.commit} to ${next.commit}`,
        );
      }
      for (let index = previous.commit + 1; index <= next.commit; index++) {
        const entry = log.entry(index);
        if (entry === undefined) continue; // compacted: covered by the snapshot
        const record = entryFingerprint(entry);
        const known = committed.get(index);
        if (known !== undefined && (known.term !== record.term || known.data !== record.data)) {
          violate(
            `state machine safety: node ${node} commits index ${index} at term ` +
              `${record.term}, committed was term ${known.term}`,
          );
        }
        if (known === undefined) committed.set(index, { ...record, commitTerm: next.term });
        else known.commitTerm = Math.min(known.commitTerm, next.term);
        committedMax = Math.max(committedMax, index);
      }
    },
    observeNewLeaderLog(node, term, lastIndex, log) {
      let required = 0;
      for (let index = committedMax; index >= 1; index--) {
        const known = committed.get(index);
        if (known === undefined || known.commitTerm >= term) continue;
        required = Math.max(required, index);
        const have = log.entry(index);
        // Not visible yet: the obligation below checks it when persisted.
        if (have !== undefined) checkCommittedEntry(node, index, entryFingerprint(have), term);
      }
      if (lastIndex < required) {
        violate(
          `leader completeness: node ${node} leads term ${term} ` +
            `with last index ${lastIndex} < ${required}, committed in an earlier term`,
        );
      }
      obligations.set(node, { term, upTo: required });
    },
    forgetLeader(node) {
      obligations.delete(node);
    },
    observeUnsyncedPromises(node, messages, durableLastIndex, durableHardState) {
      for (const message of messages) {
        if (message.reject || durableHardState.term > message.term) continue;
        if (message.type === MessageType.AppendResponse && message.index > durableLastIndex) {
          violate(
            `unsynced promise: node ${node} acknowledged index ${message.index} to ${message.to} ` +
              `before it was durable, its durable log ends at ${durableLastIndex}`,
          );
        }
        const granted = durableHardState.term === message.term && durableHardState.vote === message.to;
        if (message.type === MessageType.RequestVoteResponse && !granted) {
          violate(
            `unsynced promise: node ${node} granted its vote in term ${message.term} to ${message.to} ` +
              `before it was durable, durable hard state ${JSON.stringify(durableHardState)}`,
          );
        }
      }
    },
    observeApplied(node, entry, digestAfter) {
      const record = entryFingerprint(entry);
      const known = applied.get(entry.index);
      if (known === undefined) {
        applied.set(entry.index, { ...record, digest: digestAfter });
        appliedMax = Math.max(appliedMax, entry.index);
      } else if (known.term !== record.term || known.data !== record.data) {
        violate(
          `state machine safety: node ${node} applied entry ${entry.index} of term ` +
            `${record.term}, another node applied term ${known.term}`,
        );
      } else if (known.digest !== digestAfter) {
        violate(
          `state machine safety: node ${node} has digest ${digestAfter} ` +
            `after index ${entry.index}, another node ${known.digest}`,
        );
      }
      const committedRecord = committed.get(entry.index);
      if (committedRecord !== undefined && committedRecord.term !== entry.term) {
        violate(
          `state machine safety: node ${node} applied entry ${entry.index} of term ` +
            `${entry.term}, committed was term ${committedRecord.term}`,
        );
      }
    },
    observeSnapshotRestored(node, index, term, digest) {
      const known = applied.get(index);
      if (known !== undefined && (known.term !== term || known.digest !== digest)) {
        violate(
          `state machine safety: node ${node} restored a snapshot at ${index} ` +
            `(term ${term}) that disagrees with what was applied there`,
        );
      }
    },
    violations: () => found,
    stats: () => ({ leaders: leaderOfTerm.size, committedMax, appliedMax }),
  };
}
