import type {
  Entry,
  HardState,
  MemoryStorage,
  Message,
  NodeId,
  RaftNode,
  ReadState,
  Ready,
} from "../../framework/raft/index.js";
import { EntryType, Role, createSeededRandom, isRaftError } from "../../framework/raft/index.js";
import type { KvStateMachine, WriteCommand } from "./kv-state-machine.js";
import { restoreKvStateMachine } from "./kv-state-machine.js";
import type { RaftCore } from "./raft-core.js";
import type { RaftTuning } from "./raft-tuning.js";
import type { LogView, SafetyChecker } from "./safety-checker.js";

/**
 * One simulated host with one replica, running the host loop exactly as
 * Ready's contract orders it (framework/raft/types.ts):
 *
 *   ready() → send `messages` → start a disk write of snapshot/entries/
 *   hardState → … fsync completes after a random delay … → write them into
 *   the durable MemoryStorage → send `messagesAfterPersist` → apply the
 *   snapshot, then the committed entries → advance(ready).
 *
 * A Ready that need not be durable before it goes on (`mustSync` false: a
 * hard state whose only change is the commit index, or nothing to persist)
 * is finished at once, as NodeHost does: its hard state is not written by
 * itself but with the next disk write (NodeHost's saveUnsynced goes into the
 * store's next durable commit), and before a snapshot is taken (NodeHost
 * flushes first).
 *
 * Several Readies in flight (the run's `maxReadiesInFlight`, drawn per run):
 * the host takes the next Ready while earlier writes are in flight. Writes
 * and unsynced hard states form one queue in call order, as the log store
 * takes them; each fsync event makes the queue durable up to the oldest
 * write not yet durable (a later fsync covers everything before it, so the
 * disk completes writes in order, as our store does: out-of-order
 * completion is not something it allows), and a snapshot first makes the
 * whole queue durable (NodeHost's flush). A Ready completes (messages after
 * persist, advance) only once its own write and every earlier Ready of the
 * node are done, also a Ready that writes nothing; its committed entries
 * are applied at once (the core hands out only persisted ones), a
 * snapshot's only after its write.
 *
 * A crash at any point drops the RaftNode, the state machine, the disk
 * writes in flight and a hard state not yet written; only the MemoryStorage
 * survives (with every write that completed: a prefix of the queue). A restart builds a new
 * RaftNode over it, with the state machine restored from the last snapshot
 * and `applied` set to the snapshot's index, so the core hands the rest of
 * the committed log out again.
 */
export interface SimNode {
  readonly id: NodeId;
  /** The durable disk: written only when a simulated fsync completes. */
  readonly storage: MemoryStorage;
  /** Bumped on every crash; events of an older incarnation are stale. */
  incarnation: number;
  raft: RaftNode | undefined;
  machine: KvStateMachine | undefined;
  /** Readies handed out and not yet completed (between steps 2 and 5), oldest first. */
  writes: InFlightReady[];
  /**
   * What the disk has been asked to write and has not made durable, in call
   * order: Readies' writes and commit-only hard states (Ready.mustSync
   * false), which go with the next write; lost in a crash.
   */
  diskQueue: DiskOperation[];
  /** The term this node leads, as last observed; 0 when not leading. */
  leaderTerm: number;
  /** The node is stalled (a pause fault) until this tick; 0 when running. */
  pausedUntil: number;
  /** The node's clock is stopped (it does not tick, but handles messages) until this tick. */
  clockStalledUntil: number;
  /** Commit index when this node last became leader, to notice the first commit of its term. */
  leaderCommitAtElection: number;
  /** Whether the node's commit advanced since it became leader of `leaderTerm`. */
  leaderCommittedInTerm: boolean;
}

/** A Ready between ready() and advance(). */
export interface InFlightReady {
  readonly ready: Ready;
  /** Its snapshot, entries and hard state are in storage (always true when it has nothing to write). */
  written: boolean;
  /** Its committed entries were applied at ready() (several Readies in flight, no snapshot). */
  readonly appliedEarly: boolean;
}

export type DiskOperation =
  | { readonly kind: "write"; readonly write: InFlightReady }
  | { readonly kind: "hard-state"; readonly hardState: HardState };

/** Moments of a leader's term that targeted faults aim at (targeted-nemesis.ts). */
export type LeaderEvent = "elected" | "first-commit";

export interface HostEnvironment {
  readonly core: RaftCore;
  readonly safety: SafetyChecker;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly tuning: RaftTuning;
  /** Applied entries between two snapshots (and log compactions). */
  readonly snapshotEvery: number;
  /** Seeds the new RaftNode's random source (drawn from the one simulation random). */
  nextSeed(): number;
  /** Entries kept in the log behind a snapshot, so some followers catch up without one. */
  compactionLag(): number;
  send(node: SimNode, messages: readonly Message[]): void;
  /** Schedules completeDiskWrite(node, incarnation) after a random fsync latency. */
  scheduleDiskWrite(node: SimNode): void;
  onApplied(node: SimNode, entry: Entry, write: WriteCommand | undefined): void;
  onReadStates(node: SimNode, readStates: readonly ReadState[]): void;
  onAppliedBatch(node: SimNode): void;
  /** The node became leader, or committed for the first time in its term (before it sends). */
  onLeaderEvent(node: SimNode, event: LeaderEvent): void;
  count(what: HostCounter): void;
}

export type HostCounter =
  | "readies"
  | "diskWrites"
  | "entriesApplied"
  | "confChangesApplied"
  | "snapshotsInstalled"
  | "snapshotsCreated"
  | "compactions"
  | "unsyncedWritesLost"
  | "unsyncedHardStatesLost";

export function createSimNode(id: NodeId, storage: MemoryStorage): SimNode {
  return {
    id,
    storage,
    incarnation: 0,
    raft: undefined,
    machine: undefined,
    writes: [],
    diskQueue: [],
    leaderTerm: 0,
    pausedUntil: 0,
    clockStalledUntil: 0,
    leaderCommitAtElection: 0,
    leaderCommittedInTerm: false,
  };
}

export function startNode(node: SimNode, env: HostEnvironment): void {
  if (node.raft !== undefined) throw new Error(`node ${node.id} is already running`);
  const snapshot = node.storage.snapshot();
  node.machine = restoreKvStateMachine(
    snapshot.data,
    snapshot.metadata.index,
    snapshot.metadata.confState,
  );
  node.raft = env.core.createRaftNode({
    id: node.id,
    storage: node.storage,
    random: createSeededRandom(env.nextSeed()),
    electionTicks: env.electionTicks,
    heartbeatTicks: env.heartbeatTicks,
    applied: snapshot.metadata.index,
    ...env.tuning,
  });
  node.writes = [];
  node.diskQueue = [];
  node.leaderTerm = 0;
}

export function crashNode(node: SimNode, env: HostEnvironment): void {
  if (node.diskQueue.some((operation) => operation.kind === "write")) env.count("unsyncedWritesLost");
  if (node.diskQueue.some((operation) => operation.kind === "hard-state")) env.count("unsyncedHardStatesLost");
  node.raft = undefined;
  node.machine = undefined;
  node.writes = [];
  node.diskQueue = [];
  node.leaderTerm = 0;
  node.pausedUntil = 0;
  node.clockStalledUntil = 0;
  node.incarnation++;
  env.safety.forgetLeader(node.id);
}

/** After any input to the node: observe its role, then run the host loop. */
export function afterInput(node: SimNode, env: HostEnvironment): void {
  observeRole(node, env);
  pump(node, env);
}

function observeRole(node: SimNode, env: HostEnvironment): void {
  const raft = node.raft;
  if (raft === undefined) return;
  const status = raft.status();
  if (status.role === Role.Leader) {
    env.safety.observeLeader(node.id, status.term);
    if (node.leaderTerm !== status.term) {
      node.leaderTerm = status.term;
      node.leaderCommitAtElection = status.commit;
      node.leaderCommittedInTerm = false;
      env.safety.observeNewLeaderLog(node.id, status.term, status.lastIndex, visibleLog(node));
      env.onLeaderEvent(node, "elected");
    } else if (!node.leaderCommittedInTerm && status.commit > node.leaderCommitAtElection) {
      node.leaderCommittedInTerm = true;
      env.onLeaderEvent(node, "first-commit");
    }
  } else if (node.leaderTerm !== 0) {
    node.leaderTerm = 0;
    env.safety.forgetLeader(node.id);
  }
}

/** Steps 1–2 of the host loop, while the core has Readies to hand out (up to maxReadiesInFlight). */
export function pump(node: SimNode, env: HostEnvironment): void {
  while (node.raft !== undefined && node.raft.hasReady()) {
    const raft = node.raft;
    const ready = raft.ready();
    env.count("readies");
    env.send(node, ready.messages);
    const several = env.tuning.maxReadiesInFlight > 1;
    const write: InFlightReady = {
      ready,
      written: !ready.mustSync,
      appliedEarly: several && ready.snapshot === undefined,
    };
    node.writes.push(write);
    if (!ready.mustSync && ready.hardState !== undefined) {
      node.diskQueue.push({ kind: "hard-state", hardState: ready.hardState });
    }
    if (write.appliedEarly) applyCommitted(node, raft, ready, env);
    if (ready.mustSync) {
      node.diskQueue.push({ kind: "write", write });
      env.scheduleDiskWrite(node);
    }
    completeWritten(node, env);
  }
}

/** An fsync completed: the queue is durable up to the oldest write not yet durable; Readies complete in order. */
export function completeDiskWrite(node: SimNode, incarnation: number, env: HostEnvironment): void {
  if (incarnation !== node.incarnation || node.raft === undefined) return; // lost in a crash
  env.count("diskWrites");
  const through = node.diskQueue.findIndex((operation) => operation.kind === "write");
  if (through >= 0) writeDiskQueue(node, through + 1, env);
  completeWritten(node, env);
  afterInput(node, env);
}

/** Writes the first `count` operations of the disk queue to the durable storage. */
function writeDiskQueue(node: SimNode, count: number, env: HostEnvironment): void {
  for (const operation of node.diskQueue.splice(0, count)) {
    if (operation.kind === "hard-state") {
      persistHardState(node, operation.hardState, env);
    } else {
      persist(node, operation.write.ready, env);
      operation.write.written = true;
    }
  }
}

/** Steps 3–5 for the oldest Readies whose writes are durable, in the order handed out. */
function completeWritten(node: SimNode, env: HostEnvironment): void {
  while (node.raft !== undefined && node.writes[0]?.written === true) {
    finishReady(node, node.writes.shift()!, env);
  }
}

function persist(node: SimNode, ready: Ready, env: HostEnvironment): void {
  const storage = node.storage;
  if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
  if (ready.entries.length > 0) {
    storage.append(ready.entries);
    env.safety.observePersistedEntries(node.id, ready.entries, durableLog(storage));
  }
  if (ready.hardState !== undefined) persistHardState(node, ready.hardState, env);
}

function persistHardState(node: SimNode, hardState: HardState, env: HostEnvironment): void {
  const previous = node.storage.hardState();
  node.storage.setHardState(hardState);
  env.safety.observePersistedHardState(node.id, previous, hardState, durableLog(node.storage));
}

/** Steps 3–5: messages after persist, apply, advance; then maybe snapshot and compact. */
function finishReady(node: SimNode, write: InFlightReady, env: HostEnvironment): void {
  const raft = node.raft;
  if (raft === undefined) throw new Error(`node ${node.id} finishing a Ready while down`);
  const ready = write.ready;
  // Every acknowledgement must be durable by now (its own write and the earlier ones are).
  const storage = node.storage;
  env.safety.observeUnsyncedPromises(node.id, ready.messagesAfterPersist, storage.lastIndex(), storage.hardState());
  env.send(node, ready.messagesAfterPersist);
  if (ready.snapshot !== undefined) {
    const { index, term, confState } = ready.snapshot.metadata;
    node.machine = restoreKvStateMachine(ready.snapshot.data, index, confState);
    env.safety.observeSnapshotRestored(node.id, index, term, node.machine.digest);
    env.count("snapshotsInstalled");
  }
  if (!write.appliedEarly) applyCommitted(node, raft, ready, env);
  raft.advance(ready);
  const progressed = ready.committedEntries.length > 0 || ready.snapshot !== undefined;
  if (progressed || ready.readStates.length > 0) env.onAppliedBatch(node);
  const appliedConfChange = ready.committedEntries.some(
    (entry) => entry.type === EntryType.ConfChange,
  );
  maybeSnapshot(node, env, appliedConfChange);
}

/** Step 4: the committed entries, then the read states. */
function applyCommitted(node: SimNode, raft: RaftNode, ready: Ready, env: HostEnvironment): void {
  for (const entry of ready.committedEntries) applyEntry(node, raft, entry, env);
  if (ready.readStates.length > 0) env.onReadStates(node, ready.readStates);
}

function applyEntry(node: SimNode, raft: RaftNode, entry: Entry, env: HostEnvironment): void {
  const machine = node.machine;
  if (machine === undefined) throw new Error(`node ${node.id} applying while down`);
  if (entry.index <= machine.applied) {
    throw new Error(
      `node ${node.id}: core handed out entry ${entry.index} again, applied is ${machine.applied}`,
    );
  }
  let write: WriteCommand | undefined;
  if (entry.type === EntryType.ConfChange) {
    const confState = raft.applyConfChange(env.core.decodeConfChange(entry.data));
    machine.applyConfChange(entry, confState);
    env.count("confChangesApplied");
  } else {
    write = machine.applyNormal(entry);
  }
  env.count("entriesApplied");
  env.safety.observeApplied(node.id, entry, machine.digest);
  env.onApplied(node, entry, write);
}

/**
 * Snapshots every `snapshotEvery` applied entries, and after every applied
 * ConfChange: a follower the leader must catch up by snapshot ignores one
 * whose configuration does not name it (as etcd's raft does), so the newest
 * snapshot must include the newest configuration, or a node added after the
 * last snapshot could never join once the log before it is compacted.
 */
function maybeSnapshot(node: SimNode, env: HostEnvironment, appliedConfChange: boolean): void {
  const machine = node.machine;
  if (machine === undefined) return;
  const storage = node.storage;
  const snapshotIndex = storage.snapshot().metadata.index;
  if (machine.applied <= snapshotIndex) return;
  if (!appliedConfChange && machine.applied - snapshotIndex < env.snapshotEvery) return;
  // The commit of what was applied may not be written yet: a snapshot (and the compaction) beyond
  // the durable commit would leave a log whose hard state is older than its first entry. NodeHost
  // flushes the store first: everything asked so far becomes durable (the Readies still complete
  // in order, at their fsync events).
  writeDiskQueue(node, node.diskQueue.length, env);
  storage.createSnapshot(machine.applied, machine.confState, machine.encodeSnapshot());
  env.count("snapshotsCreated");
  const compactIndex = machine.applied - env.compactionLag();
  if (compactIndex >= storage.firstIndex()) {
    storage.compact(compactIndex);
    env.count("compactions");
  }
}

/** The durable log, for the invariant checks. */
export function durableLog(storage: MemoryStorage): LogView {
  return {
    term(index) {
      if (index < storage.firstIndex() - 1 || index > storage.lastIndex()) return undefined;
      return storage.term(index);
    },
    entry(index) {
      if (index < storage.firstIndex() || index > storage.lastIndex()) return undefined;
      return storage.entries(index, index + 1, Number.MAX_SAFE_INTEGER)[0];
    },
  };
}

/**
 * The durable log overlaid with the disk writes in flight (oldest first; a
 * later one replaces what it overlaps): what the node's log holds, as far as
 * the host can see it.
 */
function visibleLog(node: SimNode): LogView {
  const durable = durableLog(node.storage);
  const layers = node.diskQueue.flatMap((operation) =>
    operation.kind === "write" ? [operation.write.ready] : [],
  );
  if (layers.length === 0) return durable;
  /** What the newest layer that decides `index` says: an entry, "none" (replaced), or "unknown" (look below). */
  const lookup = (index: number): Entry | "none" | "durable" | { snapshotTerm: number } => {
    for (let i = layers.length - 1; i >= 0; i--) {
      const ready = layers[i]!;
      const first = ready.entries[0]?.index;
      if (first !== undefined && index >= first) return ready.entries[index - first] ?? "none";
      const snapshot = ready.snapshot;
      if (snapshot !== undefined) {
        if (index === snapshot.metadata.index) return { snapshotTerm: snapshot.metadata.term };
        return "none"; // before it: compacted; after it and not among entries: not in the log
      }
      // Entries from `first` on replace the log's suffix: indexes below stay as the layers below say.
    }
    return "durable";
  };
  return {
    term(index) {
      const found = lookup(index);
      if (found === "durable") return durable.term(index);
      if (found === "none") return undefined;
      return "snapshotTerm" in found ? found.snapshotTerm : found.term;
    },
    entry(index) {
      const found = lookup(index);
      if (found === "durable") return durable.entry(index);
      if (found === "none" || "snapshotTerm" in found) return undefined;
      return found;
    },
  };
}

/** Calls into the core that may answer with an expected RaftError; anything else propagates. */
export function expectRaftError<T>(
  call: () => T,
): { ok: true; value: T } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    if (isRaftError(error)) return { ok: false, error };
    throw error;
  }
}
