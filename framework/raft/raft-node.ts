import { assert } from "./assert.js";
import type { RaftConfig } from "./config.js";
import { resolveRaftConfig } from "./config.js";
import { Raft } from "./raft.js";
import type { ProposalPosition, RaftNode } from "./raft-node-api.js";
import { configurationToConfState } from "./tracker.js";
import type {
  ConfChange,
  ConfState,
  HardState,
  Message,
  NodeId,
  RaftStatus,
  Ready,
  SnapshotStatus,
  SoftState,
} from "./types.js";
import { MessageType, Role } from "./types.js";

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

/**
 * RaftNode over the Raft state machine: collects its outputs into Ready
 * batches (etcd's RawNode). Between ready() and advance() the host may keep
 * stepping, ticking and proposing; what that produces waits for the next
 * Ready. Up to `maxReadiesInFlight` Readies may be out at once; each carries
 * only entries (and a snapshot) the earlier ones did not (Unstable's
 * in-progress mark), and they are advanced in the order handed out.
 */
class RawNode implements RaftNode {
  readonly id: NodeId;
  private readonly raft: Raft;
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  /** Readies handed out and not yet advanced. */
  private outstanding = 0;
  private readonly maxReadiesInFlight: number;
  /**
   * A Ready may hand out committed entries this replica has not persisted
   * yet: with one Ready in flight the host applies them after its save. With
   * several, only persisted ones are handed out, so the host may apply them
   * at once, before the Ready's save and the earlier ones in flight.
   */
  private readonly applyUnstable: boolean;

  constructor(config: RaftConfig) {
    const resolved = resolveRaftConfig(config);
    this.raft = new Raft(resolved);
    this.maxReadiesInFlight = resolved.maxReadiesInFlight;
    this.applyUnstable = resolved.maxReadiesInFlight === 1;
    this.id = this.raft.id;
    this.previousSoftState = this.softState();
    this.previousHardState = this.raft.hardState();
  }

  private softState(): SoftState {
    return { leader: this.raft.lead, role: this.raft.role };
  }

  tick(): void {
    this.raft.tick();
  }

  step(message: Message): void {
    assert(message.to === this.id, () => `message for ${message.to} stepped into replica ${this.id}`);
    this.raft.step(message);
  }

  propose(data: Uint8Array): ProposalPosition {
    return this.raft.propose(data);
  }

  proposeConfChange(change: ConfChange): ProposalPosition {
    return this.raft.proposeConfChange(change);
  }

  readIndex(context: Uint8Array): void {
    this.raft.readIndex(context);
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  campaign(): void {
    this.raft.hup(false);
  }

  forgetLeader(): void {
    this.raft.forgetLeader();
  }

  resumeTicking(): void {
    this.raft.resumeTicking();
  }

  applyConfChange(change: ConfChange): ConfState {
    return this.raft.applyConfChange(change);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.reportSnapshot(id, status === "finish");
  }

  takeHeartbeats(): readonly Message[] {
    const raft = this.raft;
    let heartbeats: Message[] | undefined;
    for (const message of raft.messages) {
      if (isHeartbeat(message.type)) (heartbeats ??= []).push(message);
    }
    if (heartbeats === undefined) return noMessages;
    raft.messages = raft.messages.filter((message) => !isHeartbeat(message.type));
    return heartbeats;
  }

  hasReady(): boolean {
    if (this.outstanding >= this.maxReadiesInFlight) return false;
    const raft = this.raft;
    const unstable = raft.log.unstable;
    return (
      !sameSoftState(this.softState(), this.previousSoftState) ||
      !sameHardState(raft.hardState(), this.previousHardState) ||
      unstable.snapshotNotInProgress() !== undefined ||
      unstable.hasEntriesNotInProgress() ||
      raft.messages.length > 0 ||
      raft.messagesAfterPersist.length > 0 ||
      raft.readStates.length > 0 ||
      raft.log.hasNextCommittedEntries(this.applyUnstable) ||
      raft.hasBroadcastPending()
    );
  }

  ready(): Ready {
    assert(
      this.outstanding < this.maxReadiesInFlight,
      () => `ready() with ${this.outstanding} Readies not advanced, allowed fewer than maxReadiesInFlight`,
    );
    const raft = this.raft;
    raft.flushBroadcast();
    const softState = this.softState();
    const hardState = raft.hardState();
    const unstable = raft.log.unstable;
    const snapshot = unstable.snapshotNotInProgress();
    const entries = unstable.entriesNotInProgress().slice();
    unstable.acceptInProgress();
    const committedEntries = raft.log.nextCommittedEntries(this.applyUnstable);
    const hardStateChanged = !sameHardState(hardState, this.previousHardState);
    const ready: Ready = {
      softState: sameSoftState(softState, this.previousSoftState) ? undefined : softState,
      hardState: hardStateChanged ? hardState : undefined,
      snapshot,
      entries,
      committedEntries,
      messages: raft.messages,
      messagesAfterPersist: raft.messagesAfterPersist,
      readStates: raft.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        (hardStateChanged &&
          (hardState.term !== this.previousHardState.term || hardState.vote !== this.previousHardState.vote)),
    };
    raft.messages = [];
    raft.messagesAfterPersist = [];
    raft.readStates = [];
    if (committedEntries.length > 0) {
      raft.log.applying = committedEntries[committedEntries.length - 1]!.index;
    }
    this.previousSoftState = softState;
    if (hardStateChanged) this.previousHardState = hardState;
    this.outstanding++;
    return ready;
  }

  advance(ready: Ready): void {
    assert(this.outstanding > 0, "advance() without an outstanding Ready");
    // Readies are advanced in the order handed out (the host's saves complete in that order).
    this.outstanding--;
    const raft = this.raft;
    if (ready.snapshot !== undefined) {
      const index = ready.snapshot.metadata.index;
      raft.log.stableSnapshotTo(index);
      if (index > raft.log.applied) raft.log.appliedTo(index);
    }
    if (ready.entries.length > 0) {
      const last = ready.entries[ready.entries.length - 1]!;
      raft.log.stableTo(last.index, last.term);
      raft.onPersisted(last.index, last.term);
    }
    if (ready.committedEntries.length > 0) {
      raft.log.appliedTo(ready.committedEntries[ready.committedEntries.length - 1]!.index);
      raft.reduceUncommittedSize(ready.committedEntries);
    }
    raft.maybeAutoLeave();
  }

  settled(applied: number): boolean {
    const raft = this.raft;
    const lastIndex = raft.log.lastIndex();
    if (raft.lead === 0 || raft.log.committed !== lastIndex || applied < lastIndex) return false;
    if (raft.role !== Role.Leader) return raft.role === Role.Follower;
    if (raft.leadTransferee !== 0) return false;
    for (const progress of raft.tracker.progress.values()) if (progress.match !== lastIndex) return false;
    return true;
  }

  role(): Role {
    return this.raft.role;
  }

  status(): RaftStatus {
    const raft = this.raft;
    return {
      id: raft.id,
      role: raft.role,
      leader: raft.lead,
      term: raft.term,
      vote: raft.vote,
      commit: raft.log.committed,
      applied: raft.log.applied,
      lastIndex: raft.log.lastIndex(),
      confState: configurationToConfState(raft.tracker.config),
      leadTransferee: raft.leadTransferee,
      pendingConfIndex: raft.role === Role.Leader ? raft.pendingConfIndex : 0,
      progress: raft.role === Role.Leader ? raft.tracker.statusOf() : new Map(),
    };
  }
}

const noMessages: readonly Message[] = [];

/** Heartbeats and their answers need nothing durable first (etcd sends them in Ready.Messages too). */
function isHeartbeat(type: MessageType): boolean {
  return type === MessageType.Heartbeat || type === MessageType.HeartbeatResponse;
}

/** Creates one replica of a raft group over `config.storage` (restarting from what it holds). */
/**
 * `node.status().role` without building the status (its configuration and,
 * on a leader, every member's progress) when `node` is this module's; any
 * other RaftNode (a test's wrapper) is asked for its status. The event
 * store's leader asks whether it leads on every insert.
 */
export function roleOf(node: RaftNode): Role {
  return node instanceof RawNode ? node.role() : node.status().role;
}

export function createRaftNode(config: RaftConfig): RaftNode {
  return new RawNode(config);
}
