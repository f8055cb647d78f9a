import { assert } from "./assert.js";
import type { ResolvedRaftConfig } from "./config.js";
import { ReadOnlyOption } from "./config.js";
import { applyConfChangeTo, checkConfiguration } from "./conf-change.js";
import type { ChangeResult } from "./conf-change.js";
import { encodeConfChange } from "./conf-change-codec.js";
import { isRaftError, RaftError, RaftErrorCode } from "./errors.js";
import type { MessageFields } from "./message.js";
import { campaignTransferContext, createMessage, isCampaignTransfer } from "./message.js";
import { Progress } from "./progress.js";
import { VoteResult } from "./quorum.js";
import { RaftLog } from "./raft-log.js";
import type { ProposalPosition } from "./raft-node-api.js";
import { ReadOnly } from "./read-only.js";
import {
  configurationFromConfState,
  configurationMembers,
  configurationToConfState,
  isVoter,
  ProgressTracker,
} from "./tracker.js";
import type { Configuration } from "./tracker.js";
import type { ConfChange, ConfState, Entry, HardState, Message, NodeId, ReadState, Snapshot } from "./types.js";
import { ConfChangeTransition, EntryType, MessageType, ProgressState, Role } from "./types.js";

const emptyBytes = new Uint8Array(0);

/** Messages that acknowledge durable state: sent only after the Ready that produced them is persisted. */
function sentAfterPersist(type: MessageType): boolean {
  return (
    type === MessageType.AppendResponse ||
    type === MessageType.RequestVote ||
    type === MessageType.RequestVoteResponse
  );
}

/**
 * The Raft protocol for one replica (Ongaro's thesis; figure 2 of the paper),
 * as a deterministic state machine in the style of etcd's raft.raft. The
 * public face is RaftNode (raft-node.ts), which adds Ready / advance.
 * @internal
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = 0;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  role: Role = Role.Follower;
  lead: NodeId = 0;
  isLearner = false;
  /** Voter leadership is being handed to (§3.10); proposals are refused meanwhile. */
  leadTransferee: NodeId = 0;
  /** Index of the newest conf change entry; a new one waits until it is applied (thesis §4.1). */
  pendingConfIndex = 0;
  /** Payload bytes appended by this leader and not yet applied. */
  uncommittedSize = 0;
  readonly readOnly = new ReadOnly();
  /**
   * This leader started a leadership transfer in its term: the transferee's
   * campaign overrides the followers' lease (§3.10, thesis §4.2.3), so a new
   * leader may be elected inside our lease; reads are then confirmed by a
   * heartbeat round, as with ReadOnlyOption.Safe, until the term ends (§6.4.1).
   */
  private leaseAbandoned = false;
  /** ReadIndex requests that wait for the first commit of this leader's term (thesis §6.4 step 1). */
  private pendingReadIndexMessages: Message[] = [];
  readStates: ReadState[] = [];
  messages: Message[] = [];
  messagesAfterPersist: Message[] = [];
  /** A proposal was appended; followers get it with the next Ready (one Append for many proposals). */
  private broadcastPending = false;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  constructor(readonly config: ResolvedRaftConfig) {
    this.id = config.id;
    this.log = new RaftLog(config.storage, config.maxCommittedSizePerReady);
    this.tracker = new ProgressTracker(config.maxInflightMessages);
    const { hardState, confState } = config.storage.initialState();
    this.switchToConfig({
      config: configurationFromConfState(confState),
      progress: this.freshProgressFor(configurationFromConfState(confState)),
    });
    this.loadHardState(hardState);
    if (config.applied > 0) this.log.appliedTo(config.applied);
    this.becomeFollower(this.term, 0);
  }

  private loadHardState(hardState: HardState): void {
    if (hardState.term === 0 && hardState.vote === 0 && hardState.commit === 0) return;
    assert(
      hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(),
      () =>
        `hard state commit ${hardState.commit} out of [${this.log.committed}, ${this.log.lastIndex()}]: ` +
        "was the raft log corrupted, truncated, or lost?",
    );
    this.log.committed = hardState.commit;
    this.term = hardState.term;
    this.vote = hardState.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  // ---------------------------------------------------------------- sending

  send(fields: MessageFields): void {
    const message = createMessage({ from: this.id, term: this.term, ...fields });
    assert(message.to !== this.id, () => `message ${message.type} addressed to self ${this.id}`);
    if (sentAfterPersist(message.type)) this.messagesAfterPersist.push(message);
    else this.messages.push(message);
  }

  /**
   * Sends `to` the entries it lacks, from its Progress.next, or a snapshot
   * when they are compacted. Returns whether a message went out.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const progress = this.tracker.progress.get(to);
    if (progress === undefined || progress.isPaused()) return false;
    let previousTerm: number;
    let entries: Entry[];
    try {
      previousTerm = this.log.term(progress.next - 1);
      entries =
        progress.next > this.log.lastIndex()
          ? []
          : this.log.slice(progress.next, this.log.lastIndex() + 1, this.config.maxSizePerMessage);
    } catch (error) {
      if (!isRaftError(error, RaftErrorCode.Compacted)) throw error;
      return this.maybeSendSnapshot(to, progress);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: MessageType.Append,
      to,
      index: progress.next - 1,
      logTerm: previousTerm,
      entries,
      commit: this.log.committed,
    });
    const last = entries.length > 0 ? entries[entries.length - 1]!.index : progress.next - 1;
    progress.sentEntries(last, entries.length);
    return true;
  }

  /** One append, then keep the pipeline full while the window allows (flow control). */
  sendAppend(to: NodeId): void {
    if (!this.maybeSendAppend(to, true)) return;
    while (this.maybeSendAppend(to, false)) {
      // each round sends the next batch; stops when paused or caught up
    }
  }

  private maybeSendSnapshot(to: NodeId, progress: Progress): boolean {
    // A follower not heard from recently may be gone; do not ship it a snapshot.
    if (!progress.recentActive) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.log.snapshot();
    } catch (error) {
      if (isRaftError(error, RaftErrorCode.SnapshotTemporarilyUnavailable)) return false;
      throw error;
    }
    assert(snapshot.metadata.index > 0, () => `snapshot for ${to} is empty (index 0) yet the log is compacted`);
    progress.becomeSnapshot(snapshot.metadata.index);
    this.send({ type: MessageType.Snapshot, to, snapshot });
    return true;
  }

  bcastAppend(): void {
    for (const id of this.tracker.progress.keys()) if (id !== this.id) this.sendAppend(id);
  }

  flushBroadcast(): void {
    if (!this.broadcastPending) return;
    this.broadcastPending = false;
    if (this.role === Role.Leader) this.bcastAppend();
  }

  hasBroadcastPending(): boolean {
    return this.broadcastPending && this.role === Role.Leader;
  }

  private bcastHeartbeat(): void {
    const context = this.readOnly.lastPendingContext() ?? emptyBytes;
    this.bcastHeartbeatWithContext(context);
  }

  private bcastHeartbeatWithContext(context: Uint8Array): void {
    for (const [id, progress] of this.tracker.progress) {
      if (id === this.id) continue;
      // Never tell a follower to commit beyond what it is known to have.
      const commit = Math.min(progress.match, this.log.committed);
      this.send({ type: MessageType.Heartbeat, to: id, commit, context });
    }
  }

  // ------------------------------------------------------- role transitions

  private reset(term: number): void {
    assert(term >= this.term, () => `term ${term} < current term ${this.term}: terms never decrease`);
    if (this.term !== term) {
      this.term = term;
      this.vote = 0;
    }
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout =
      this.config.electionTicks + this.config.random.nextInt(this.config.electionTicks);
    this.leadTransferee = 0;
    this.tracker.resetVotes();
    this.tracker.progress = this.freshProgressFor(this.tracker.config);
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly.reset();
    this.leaseAbandoned = false;
    this.pendingReadIndexMessages = [];
    this.broadcastPending = false;
  }

  private freshProgressFor(config: Configuration): Map<NodeId, Progress> {
    const progress = new Map<NodeId, Progress>();
    const next = this.log.lastIndex() + 1;
    for (const id of configurationMembers(config)) {
      const learner = config.learners.has(id);
      progress.set(id, new Progress(next, this.config.maxInflightMessages, learner));
    }
    return progress;
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
  }

  private becomePreCandidate(): void {
    assert(this.role !== Role.Leader, "leader cannot become pre-candidate");
    // Pre-vote changes neither term nor vote (thesis §9.6): a node that
    // cannot win does not disturb the cluster.
    this.tracker.resetVotes();
    this.role = Role.PreCandidate;
    this.lead = 0;
  }

  private becomeCandidate(): void {
    assert(this.role !== Role.Leader, "leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
  }

  private becomeLeader(): void {
    assert(this.role === Role.Candidate, () => `become leader from ${this.role}, allowed candidate`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    // Our own match advances only when our log is durable (advance), so a
    // commit never counts a copy that a crash could still lose.
    this.tracker.progress.get(this.id)?.becomeReplicate();
    // Any conf change in the uncommitted tail may still be pending.
    this.pendingConfIndex = this.log.lastIndex();
    // An entry of the new term commits the entries of earlier terms (§5.4.2).
    this.appendEntries([{ term: this.term, index: 0, type: EntryType.Normal, data: emptyBytes }], true);
  }

  // --------------------------------------------------------------- elections

  promotable(): boolean {
    const progress = this.tracker.progress.get(this.id);
    return progress !== undefined && !progress.isLearner && this.log.unstable.snapshot === undefined;
  }

  /** RaftNode.forgetLeader: a follower drops its leader, keeping term, vote and timers. */
  forgetLeader(): void {
    if (this.role !== Role.Follower || this.lead === 0) return;
    this.lead = 0;
  }

  /**
   * RaftNode.resumeTicking: a leader's check-quorum window starts afresh.
   * Not under lease reads: they rely on the leader stepping down within an
   * election timeout of losing its quorum, counted without pauses (§6.4.1).
   */
  resumeTicking(): void {
    if (this.role !== Role.Leader || this.config.readOnlyOption === ReadOnlyOption.LeaseBased) return;
    this.electionElapsed = 0;
  }

  /** Starts an election unless this replica may not (learner, leader, unapplied conf change). */
  hup(transfer: boolean): void {
    if (this.role === Role.Leader || !this.promotable()) return;
    // A committed but unapplied conf change may change who votes: wait for it.
    if (this.log.committed > this.log.applied && this.hasConfChangeIn(this.log.applied + 1, this.log.committed + 1)) {
      return;
    }
    if (this.config.preVote && !transfer) this.campaign(true, false);
    else this.campaign(false, transfer);
  }

  private hasConfChangeIn(low: number, high: number): boolean {
    const entries = this.log.slice(low, high, Number.POSITIVE_INFINITY);
    return entries.some((entry) => entry.type === EntryType.ConfChange);
  }

  private campaign(preVote: boolean, transfer: boolean): void {
    let term: number;
    let requestType: MessageType;
    if (preVote) {
      this.becomePreCandidate();
      requestType = MessageType.RequestPreVote;
      term = this.term + 1; // the term we would stand in; ours stays unchanged
    } else {
      this.becomeCandidate();
      requestType = MessageType.RequestVote;
      term = this.term;
    }
    if (this.poll(this.id, true) === VoteResult.Won) {
      // A group of one: we won already.
      if (preVote) this.campaign(false, transfer);
      else this.becomeLeader();
      return;
    }
    const voters = new Set([...this.tracker.config.votersIncoming, ...this.tracker.config.votersOutgoing]);
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of [...voters].sort((a, b) => a - b)) {
      if (id === this.id) continue;
      this.send({
        type: requestType,
        to: id,
        term,
        index: lastIndex,
        logTerm: lastTerm,
        context: transfer ? campaignTransferContext : emptyBytes,
      });
    }
  }

  private poll(id: NodeId, granted: boolean): VoteResult {
    this.tracker.recordVote(id, granted);
    return this.tracker.tallyVotes();
  }

  /** RequestVote / RequestPreVote receiver rules (figure 2, §5.4.1, thesis §9.6). */
  private onVoteRequest(message: Message): void {
    const preVote = message.type === MessageType.RequestPreVote;
    const responseType = preVote ? MessageType.RequestPreVoteResponse : MessageType.RequestVoteResponse;
    const canVote =
      this.vote === message.from ||
      (this.vote === 0 && this.lead === 0) ||
      (preVote && message.term > this.term);
    if (canVote && this.log.isUpToDate(message.index, message.logTerm)) {
      // A granted pre-vote carries the candidate's proposed term back to it.
      this.send({ type: responseType, to: message.from, term: message.term });
      if (!preVote) {
        this.electionElapsed = 0;
        this.vote = message.from;
      }
    } else {
      this.send({ type: responseType, to: message.from, term: this.term, reject: true });
    }
  }

  // ------------------------------------------------------------------- step

  /** Term rules common to every role (figure 2, "all servers"), then the role's own step. */
  step(message: Message): void {
    if (message.term > this.term) {
      if (!this.onHigherTerm(message)) return;
    } else if (message.term !== 0 && message.term < this.term) {
      this.onLowerTerm(message);
      return;
    }
    if (message.type === MessageType.RequestVote || message.type === MessageType.RequestPreVote) {
      this.onVoteRequest(message);
      return;
    }
    switch (this.role) {
      case Role.Leader:
        this.stepLeader(message);
        return;
      case Role.Candidate:
      case Role.PreCandidate:
        this.stepCandidate(message);
        return;
      case Role.Follower:
        this.stepFollower(message);
        return;
    }
  }

  /** Returns false when the message is to be ignored. */
  private onHigherTerm(message: Message): boolean {
    const voteRequest = message.type === MessageType.RequestVote || message.type === MessageType.RequestPreVote;
    if (voteRequest) {
      // Thesis §4.2.3: while we hear from a leader, a vote request from a
      // higher term comes from a disruptive server; ignore it (unless the
      // leader itself asked for the election by transferring leadership).
      const inLease =
        this.config.checkQuorum && this.lead !== 0 && this.electionElapsed < this.config.electionTicks;
      if (inLease && !isCampaignTransfer(message.context)) return false;
    }
    if (message.type === MessageType.RequestPreVote) return true; // never change term on a pre-vote
    if (message.type === MessageType.RequestPreVoteResponse && !message.reject) return true;
    const fromLeader =
      message.type === MessageType.Append ||
      message.type === MessageType.Heartbeat ||
      message.type === MessageType.Snapshot;
    this.becomeFollower(message.term, fromLeader ? message.from : 0);
    return true;
  }

  private onLowerTerm(message: Message): void {
    if (
      (this.config.checkQuorum || this.config.preVote) &&
      (message.type === MessageType.Heartbeat || message.type === MessageType.Append)
    ) {
      // A stale leader (or we moved to a higher term in a partition and can
      // not win): answer with our term so it steps down and the group moves on.
      this.send({ type: MessageType.AppendResponse, to: message.from });
    } else if (message.type === MessageType.RequestPreVote) {
      this.send({ type: MessageType.RequestPreVoteResponse, to: message.from, term: this.term, reject: true });
    }
  }

  private stepLeader(message: Message): void {
    // Check-quorum (thesis §6.2) asks whether a quorum is still in touch. Any
    // message from a member says so (older terms never get here; a forwarded
    // ReadIndex carries term 0), not only the responses to heartbeats and
    // appends: under load those may queue behind data.
    if (message.from !== this.id) {
      const sender = this.tracker.progress.get(message.from);
      if (sender !== undefined) sender.recentActive = true;
    }
    switch (message.type) {
      case MessageType.ReadIndex:
        this.onReadIndexRequest(message);
        return;
      case MessageType.Append:
      case MessageType.Heartbeat:
      case MessageType.Snapshot:
        assert(false, () => `leader ${this.id} of term ${this.term} got ${message.type} from ${message.from} of the same term`);
        return;
      default:
        break;
    }
    const progress = this.tracker.progress.get(message.from);
    if (progress === undefined) return; // not a member (any more)
    if (message.type === MessageType.AppendResponse) this.onAppendResponse(message, progress);
    else if (message.type === MessageType.HeartbeatResponse) this.onHeartbeatResponse(message, progress);
  }

  private onAppendResponse(message: Message, progress: Progress): void {
    progress.recentActive = true;
    if (message.reject) {
      let nextProbe = message.rejectHint;
      if (message.logTerm > 0) nextProbe = this.log.findConflictByTerm(message.rejectHint, message.logTerm).index;
      if (progress.maybeDecrementTo(message.index, nextProbe)) {
        if (progress.state === ProgressState.Replicate) progress.becomeProbe();
        this.sendAppend(message.from);
      }
      return;
    }
    if (!progress.maybeUpdate(message.index)) return;
    if (progress.state === ProgressState.Probe) {
      progress.becomeReplicate();
    } else if (progress.state === ProgressState.Snapshot) {
      if (progress.match + 1 >= this.log.firstIndex()) {
        progress.becomeProbe();
        progress.becomeReplicate();
      }
    } else {
      progress.inflights.freeLE(message.index);
    }
    if (this.maybeCommit()) this.bcastAppend();
    else this.sendAppend(message.from);
    if (message.from === this.leadTransferee && progress.match === this.log.lastIndex()) {
      this.send({ type: MessageType.TimeoutNow, to: message.from });
    }
  }

  private onHeartbeatResponse(message: Message, progress: Progress): void {
    progress.recentActive = true;
    progress.probeSent = false;
    // Appends may all have been lost with the window full: free one slot so
    // that the next append goes out and a rejection can resynchronise.
    if (progress.state === ProgressState.Replicate && progress.inflights.full()) {
      progress.inflights.freeFirstOne();
    }
    if (progress.match < this.log.lastIndex()) this.sendAppend(message.from);
    else if (message.from === this.leadTransferee) {
      // The target may have refused the first TimeoutNow (a conf change not
      // yet applied); ask again each heartbeat until it takes over.
      this.send({ type: MessageType.TimeoutNow, to: message.from });
    }
    if (message.context.length === 0) return; // no read waits for this round
    const acks = this.readOnly.recordAck(message.from, message.context);
    if (acks === undefined || this.tracker.ackResult(acks) !== VoteResult.Won) return;
    for (const request of this.readOnly.release(message.context)) {
      this.respondToRead(request.from, request.index, request.context);
    }
  }

  private stepCandidate(message: Message): void {
    const expected =
      this.role === Role.PreCandidate ? MessageType.RequestPreVoteResponse : MessageType.RequestVoteResponse;
    switch (message.type) {
      case MessageType.Append:
        this.becomeFollower(message.term, message.from);
        this.onAppend(message);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(message.term, message.from);
        this.onHeartbeat(message);
        return;
      case MessageType.Snapshot:
        this.becomeFollower(message.term, message.from);
        this.onSnapshot(message);
        return;
      default:
        break;
    }
    if (message.type !== expected) return;
    const result = this.poll(message.from, !message.reject);
    if (result === VoteResult.Won) {
      if (this.role === Role.PreCandidate) {
        this.campaign(false, false);
      } else {
        this.becomeLeader();
        this.bcastAppend();
      }
    } else if (result === VoteResult.Lost) {
      this.becomeFollower(this.term, 0);
    }
  }

  private stepFollower(message: Message): void {
    switch (message.type) {
      case MessageType.Append:
        this.electionElapsed = 0;
        this.lead = message.from;
        this.onAppend(message);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = message.from;
        this.onHeartbeat(message);
        return;
      case MessageType.Snapshot:
        this.electionElapsed = 0;
        this.lead = message.from;
        this.onSnapshot(message);
        return;
      case MessageType.TimeoutNow:
        this.hup(true);
        return;
      case MessageType.ReadIndexResponse:
        this.readStates.push({ index: message.index, context: message.context });
        return;
      default:
        return;
    }
  }

  // ------------------------------------------------------ follower handlers

  private onAppend(message: Message): void {
    if (message.index < this.log.committed) {
      this.send({ type: MessageType.AppendResponse, to: message.from, index: this.log.committed });
      return;
    }
    const lastNewIndex = this.log.maybeAppend(message.index, message.logTerm, message.commit, message.entries);
    if (lastNewIndex !== undefined) {
      this.send({ type: MessageType.AppendResponse, to: message.from, index: lastNewIndex });
      return;
    }
    // Tell the leader where our logs may agree, so it skips a whole term of
    // mismatches per round trip instead of one entry.
    const hint = this.log.findConflictByTerm(Math.min(message.index, this.log.lastIndex()), message.logTerm);
    this.send({
      type: MessageType.AppendResponse,
      to: message.from,
      index: message.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  private onHeartbeat(message: Message): void {
    this.log.commitTo(message.commit);
    this.send({ type: MessageType.HeartbeatResponse, to: message.from, context: message.context });
  }

  private onSnapshot(message: Message): void {
    const snapshot = message.snapshot;
    assert(snapshot !== undefined, () => `snapshot message from ${message.from} without a snapshot`);
    const restored = this.restore(snapshot);
    const index = restored ? this.log.lastIndex() : this.log.committed;
    this.send({ type: MessageType.AppendResponse, to: message.from, index });
  }

  /** Installs a snapshot newer than our commit; returns whether the log was replaced. */
  restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    assert(this.role === Role.Follower, () => `restore a snapshot as ${this.role}`);
    const members = [...confState.voters, ...confState.learners, ...confState.votersOutgoing];
    if (!members.includes(this.id)) return false; // not for us: we are not in its configuration
    if (this.log.matchTerm(index, term)) {
      // We have the snapshot's last entry: the log agrees up to it, just commit.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    const config = configurationFromConfState(confState);
    this.switchToConfig({ config, progress: this.freshProgressFor(config) });
    return true;
  }

  // ------------------------------------------------------------ commit, read

  /** Commits the quorum's match index if it is of our term (§5.4.2). */
  maybeCommit(): boolean {
    const committed = this.log.maybeCommit(this.tracker.committed(), this.term);
    if (committed) this.releasePendingReads();
    return committed;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  private releasePendingReads(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const pending = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const message of pending) this.serveReadIndex(message);
  }

  private onReadIndexRequest(message: Message): void {
    if (this.tracker.isSingleVoter(this.id)) {
      this.respondToRead(message.from, this.log.committed, message.context);
      return;
    }
    // Until an entry of this term commits, our commit index may lag the
    // group's (thesis §6.4 step 1): hold the request.
    if (!this.committedEntryInCurrentTerm()) {
      this.pendingReadIndexMessages.push(message);
      return;
    }
    this.serveReadIndex(message);
  }

  private serveReadIndex(message: Message): void {
    if (this.config.readOnlyOption === ReadOnlyOption.LeaseBased && !this.leaseAbandoned) {
      this.respondToRead(message.from, this.log.committed, message.context);
      return;
    }
    this.readOnly.addRequest(this.log.committed, message.from, message.context);
    this.readOnly.recordAck(this.id, message.context);
    this.bcastHeartbeatWithContext(message.context);
  }

  private respondToRead(from: NodeId, index: number, context: Uint8Array): void {
    if (from === this.id || from === 0) {
      this.readStates.push({ index, context });
    } else {
      this.send({ type: MessageType.ReadIndexResponse, to: from, index, context });
    }
  }

  readIndex(context: Uint8Array): void {
    const request = createMessage({ type: MessageType.ReadIndex, to: 0, from: this.id, context });
    if (this.role === Role.Leader) {
      this.onReadIndexRequest(request);
      return;
    }
    if (this.lead === 0) throw new RaftError(RaftErrorCode.NotLeader, `replica ${this.id} knows no leader`);
    // Forwarded with term 0: the leader treats it as a local request from us.
    this.send({ type: MessageType.ReadIndex, to: this.lead, term: 0, context });
  }

  // -------------------------------------------------------------- proposals

  private requireLeader(): void {
    if (this.role !== Role.Leader) {
      throw new RaftError(RaftErrorCode.NotLeader, `replica ${this.id} is ${this.role}`, this.lead);
    }
    if (this.leadTransferee !== 0) {
      throw new RaftError(
        RaftErrorCode.ProposalDropped,
        `leadership transfer to ${this.leadTransferee} under way`,
        this.leadTransferee,
      );
    }
  }

  /** Appends at the end of our log: a leader never overwrites its own entries. */
  private appendEntries(entries: Entry[], force: boolean): ProposalPosition {
    const lastIndex = this.log.lastIndex();
    const stamped = entries.map((entry, i) => ({ ...entry, term: this.term, index: lastIndex + 1 + i }));
    let size = 0;
    for (const entry of stamped) size += entry.data.byteLength;
    const limit = this.config.maxUncommittedEntriesSize;
    if (!force && limit > 0 && this.uncommittedSize > 0 && this.uncommittedSize + size > limit) {
      throw new RaftError(
        RaftErrorCode.ProposalDropped,
        `uncommitted entries ${this.uncommittedSize} + ${size} bytes exceed the limit ${limit}`,
      );
    }
    this.uncommittedSize += size;
    const newLast = this.log.append(stamped);
    assert(newLast === lastIndex + stamped.length, () => `leader append ended at ${newLast}`);
    return { index: newLast, term: this.term };
  }

  propose(data: Uint8Array): ProposalPosition {
    this.requireLeader();
    const position = this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data }], false);
    this.broadcastPending = true;
    return position;
  }

  proposeConfChange(change: ConfChange): ProposalPosition {
    this.requireLeader();
    if (this.pendingConfIndex > this.log.applied) {
      throw new RaftError(
        RaftErrorCode.ConfChangePending,
        `conf change at ${this.pendingConfIndex} not applied yet (applied ${this.log.applied})`,
      );
    }
    // Dry run against the current configuration: refuse what could not apply.
    applyConfChangeTo(this.tracker.config, this.tracker.progress, change, this.log.lastIndex(), 1);
    const data = encodeConfChange(change);
    const position = this.appendEntries([{ term: 0, index: 0, type: EntryType.ConfChange, data }], false);
    this.pendingConfIndex = position.index;
    this.bcastAppend();
    return position;
  }

  /** Proposes leaving a joint config once it is applied, when it was entered with auto-leave. */
  maybeAutoLeave(): void {
    if (this.role !== Role.Leader || !this.tracker.config.autoLeave) return;
    if (this.log.applied < this.pendingConfIndex || this.leadTransferee !== 0) return;
    const leave: ConfChange = { transition: ConfChangeTransition.Auto, changes: [], context: emptyBytes };
    const data = encodeConfChange(leave);
    const position = this.appendEntries([{ term: 0, index: 0, type: EntryType.ConfChange, data }], true);
    this.pendingConfIndex = position.index;
    this.bcastAppend();
  }

  reduceUncommittedSize(entries: readonly Entry[]): void {
    if (this.role !== Role.Leader) return;
    let size = 0;
    for (const entry of entries) size += entry.data.byteLength;
    this.uncommittedSize = Math.max(0, this.uncommittedSize - size);
  }

  /** The host made our log durable up to (index, term): our own ack for commit counting. */
  onPersisted(index: number, term: number): void {
    if (this.role !== Role.Leader || !this.log.matchTerm(index, term)) return;
    const progress = this.tracker.progress.get(this.id);
    if (progress === undefined || !progress.maybeUpdate(index)) return;
    if (this.maybeCommit()) this.bcastAppend();
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== Role.Leader) {
      throw new RaftError(RaftErrorCode.NotLeader, `replica ${this.id} is ${this.role}`, this.lead);
    }
    const progress = this.tracker.progress.get(to);
    if (progress === undefined || progress.isLearner || !isVoter(this.tracker.config, to)) {
      throw new RaftError(RaftErrorCode.InvalidTransferTarget, `replica ${to} is not a voter`);
    }
    if (to === this.id) return;
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.leaseAbandoned = true;
    // The transfer must finish within an election timeout or it is abandoned.
    this.electionElapsed = 0;
    if (progress.match === this.log.lastIndex()) this.send({ type: MessageType.TimeoutNow, to });
    else this.sendAppend(to);
  }

  // ------------------------------------------------------------------ ticks

  tick(): void {
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.checkQuorum()) return;
      this.leadTransferee = 0; // a transfer not done within an election timeout is abandoned
      if (!this.isVoterOfOwnConfig()) {
        // Removed and the hand-over did not happen: step down anyway.
        this.becomeFollower(this.term, 0);
        return;
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** Thesis §6.2: a leader that has not heard from a quorum for an election timeout steps down. */
  private checkQuorum(): boolean {
    if (!this.tracker.quorumActive(this.id)) {
      this.becomeFollower(this.term, 0);
      return false;
    }
    for (const [id, progress] of this.tracker.progress) if (id !== this.id) progress.recentActive = false;
    return true;
  }

  // ------------------------------------------------------------- membership

  applyConfChange(change: ConfChange): ConfState {
    let result: ChangeResult;
    try {
      result = applyConfChangeTo(
        this.tracker.config,
        this.tracker.progress,
        change,
        this.log.lastIndex(),
        this.config.maxInflightMessages,
      );
    } catch (error) {
      // Every replica reaches the same verdict on the same entry, so an
      // invalid change is a deterministic no-op everywhere.
      if (isRaftError(error, RaftErrorCode.InvalidConfChange)) return configurationToConfState(this.tracker.config);
      throw error;
    }
    return this.switchToConfig(result);
  }

  private switchToConfig(result: ChangeResult): ConfState {
    checkConfiguration(result.config, result.progress);
    this.tracker.config = result.config;
    this.tracker.progress = result.progress;
    const self = result.progress.get(this.id);
    this.isLearner = self?.isLearner ?? false;
    const confState = configurationToConfState(result.config);
    if (this.role !== Role.Leader) return confState;
    if (self === undefined || this.isLearner) {
      this.stepDownOnRemoval();
      return confState;
    }
    if (this.maybeCommit()) this.bcastAppend();
    else for (const id of this.tracker.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== 0 && !isVoter(this.tracker.config, this.leadTransferee)) this.leadTransferee = 0;
    return confState;
  }

  /**
   * Removed or demoted while leading (the change is applied, so committed).
   * Stepping down at once can stall the group: voters still in the joint
   * configuration need our vote but our log is longer than theirs, and we no
   * longer campaign. So hand leadership to the most caught-up voter of the
   * new configuration first (catching it up if needed), refusing proposals
   * meanwhile; if that does not happen within an election timeout, step down
   * anyway (tickHeartbeat).
   */
  private stepDownOnRemoval(): void {
    let best: NodeId = 0;
    let bestMatch = -1;
    for (const id of this.tracker.config.votersIncoming) {
      const match = this.tracker.progress.get(id)?.match ?? 0;
      if (id !== this.id && match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    if (best === 0) {
      this.becomeFollower(this.term, 0);
      return;
    }
    this.leadTransferee = best;
    this.leaseAbandoned = true;
    this.electionElapsed = 0;
    if (bestMatch === this.log.lastIndex()) this.send({ type: MessageType.TimeoutNow, to: best });
    else this.sendAppend(best);
  }

  /** Whether this replica is a voter of its own current configuration. */
  private isVoterOfOwnConfig(): boolean {
    const self = this.tracker.progress.get(this.id);
    return self !== undefined && !self.isLearner && isVoter(this.tracker.config, this.id);
  }

  reportUnreachable(id: NodeId): void {
    if (this.role !== Role.Leader) return;
    const progress = this.tracker.progress.get(id);
    if (progress?.state === ProgressState.Replicate) progress.becomeProbe();
  }

  reportSnapshot(id: NodeId, finished: boolean): void {
    if (this.role !== Role.Leader) return;
    const progress = this.tracker.progress.get(id);
    if (progress === undefined || progress.state !== ProgressState.Snapshot) return;
    if (!finished) progress.pendingSnapshot = 0;
    progress.becomeProbe();
    // Finished: wait for the follower's answer. Failed: wait a heartbeat before retrying.
    progress.probeSent = true;
  }
}
