/**
 * Deliberate bugs in the raft core (issue #2: "break one rule locally and
 * confirm the simulator finds it"). Each is ONE textual replacement in one
 * file of framework/raft; `oldText` must occur exactly once there, or the
 * harness fails loudly (the core changed: update the mutation).
 */
export interface Mutation {
  readonly id: string;
  /** The rule it breaks, with the paper or thesis section. */
  readonly rule: string;
  /** Path relative to the repository root. */
  readonly file: string;
  readonly oldText: string;
  readonly newText: string;
}

export const mutations: readonly Mutation[] = [
  {
    id: "B1",
    rule: "§5.4.2: commit an entry of an earlier term by counting replicas",
    file: "framework/raft/raft-log.ts",
    oldText: "if (index > this.committed && this.termOrZero(index) === term) {",
    newText: "if (index > this.committed && this.termOrZero(index) > 0) {",
  },
  {
    id: "B2",
    rule: "§10.2.1: the leader counts its own copy before it is persisted",
    file: "framework/raft/raft.ts",
    oldText: "    const newLast = this.log.append(stamped);\n",
    newText:
      "    const newLast = this.log.append(stamped);\n" +
      "    this.tracker.progress.get(this.id)?.maybeUpdate(newLast);\n",
  },
  {
    id: "B3",
    rule: "§5.4.1: grant votes without the up-to-date check",
    file: "framework/raft/raft.ts",
    oldText: "if (canVote && this.log.isUpToDate(message.index, message.logTerm)) {",
    newText: "if (canVote) {",
  },
  {
    id: "B4",
    rule: "§5.2: vote for more than one candidate per term",
    file: "framework/raft/raft.ts",
    oldText: "(this.vote === 0 && this.lead === 0) ||",
    newText: "this.lead === 0 ||",
  },
  {
    id: "B5",
    rule: "figure 2 / §5.3: a follower acknowledges an append before persisting it",
    file: "framework/raft/raft.ts",
    oldText: "    type === MessageType.AppendResponse ||\n",
    newText: "",
  },
  {
    id: "B6",
    rule: "§5.3: skip the AppendEntries consistency check (only the index is checked)",
    file: "framework/raft/raft-log.ts",
    oldText: "if (!this.matchTerm(index, logTerm)) return undefined;",
    newText: "if (index > this.lastIndex()) return undefined;",
  },
  {
    id: "B7",
    rule: "thesis §6.4: serve ReadIndex without confirming leadership (as if lease-based)",
    file: "framework/raft/raft.ts",
    oldText:
      "if (this.config.readOnlyOption === ReadOnlyOption.LeaseBased && !this.leaseAbandoned) {",
    newText: "if (this.config.readOnlyOption !== undefined) {",
  },
];

export function mutationById(id: string): Mutation {
  const found = mutations.find((mutation) => mutation.id === id);
  if (found === undefined) {
    throw new RangeError(
      `mutation ${JSON.stringify(id)}, allowed ${mutations.map((m) => m.id).join(", ")}`,
    );
  }
  return found;
}
