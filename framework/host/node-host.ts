import { createRaftNode, decodeConfChange, EntryType, MessageType, Role, roleOf } from "../raft/index.js";
import type {
  ConfChange,
  ConfState,
  Message,
  RaftConfig,
  RaftNode,
  RaftStatus,
  RandomSource,
  Ready,
} from "../raft/index.js";
import type { StateMachine } from "../statemachine/index.js";
import type { Clock, GroupMessage, IncomingSnapshot, Logger, TimerHandle, Transport, TransportHandler } from "../transport/index.js";
import { packedSize, packHeaderBytes } from "./command-pack.js";
import { resolveNodeHostConfig } from "./config.js";
import type { NodeHostConfig, ResolvedNodeHostConfig } from "./config.js";
import { HostError, HostErrorCode } from "./errors.js";
import type { GroupUpdate, HostLogStore } from "./log-store.js";
import { contextKeyOf, hostErrorFromRaft, Replica } from "./replica.js";
import type { PlannedCampaign } from "./replica.js";
import type { HostSnapshotStore } from "./snapshot-store.js";
import { livenessGroupId, NodeLiveness } from "./node-liveness.js";
import { isIdle, wakesGroup } from "./quiescence.js";

export interface NodeHostDependencies {
  readonly logStore: HostLogStore;
  readonly snapshotStore: HostSnapshotStore;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  /** Lets I/O callbacks run between loop iterations (setImmediate in a process; the simulator's own). */
  readonly yieldToEventLoop: () => Promise<void>;
  /**
   * Milliseconds since the Unix epoch, for state machines that stamp
   * proposals (StateMachine.prepareProposal). Required by such groups only.
   */
  readonly wallClockMs?: () => number;
}

export interface GroupMembers {
  readonly voters: readonly number[];
  readonly learners?: readonly number[];
}

/** Where NodeHost.proposeTo delivers a command's outcome (see there). */
export interface ProposalAnswer {
  /** Set by the host: when the command fails DeadlineExceeded, on the host's clock. */
  deadline: number;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

export interface RequestOptions {
  /** Milliseconds; the host's requestTimeoutMs when absent. */
  readonly timeoutMs?: number;
}

export interface GroupStatus extends RaftStatus {
  readonly groupId: number;
  readonly appliedByStateMachine: number;
  readonly snapshotIndex: number;
  readonly pendingProposals: number;
  /**
   * A conf change this leader proposed is not applied yet (a new one would be
   * refused with ProposalDropped). Conservative after an election: the new
   * leader's uncommitted tail may hold one. Always false on a follower.
   */
  readonly confChangePending: boolean;
}

interface ReadyOfReplica {
  readonly replica: Replica;
  readonly ready: Ready;
}

/**
 * Hosts many raft groups on one node (dragonboat's NodeHost): one loop
 * collects every group's Ready, sends the leaders' messages, makes all
 * groups' writes durable in ONE commit (Raft thesis §10.2.1: the leader's
 * own write runs in parallel with replication), sends the acknowledgements,
 * applies committed entries and resolves the callers.
 */
export class NodeHost implements TransportHandler {
  readonly nodeId: number;
  private readonly config: ResolvedNodeHostConfig;
  private readonly replicas = new Map<number, Replica>();
  /**
   * Replicas that may have a Ready: touched by a message, request, tick or
   * report since the loop last looked. The loop visits only these, so a node
   * with thousands of idle groups does not walk them all on every pass.
   */
  private touched = new Set<Replica>();
  /** Replicas that tick (not quiesced). */
  private readonly awake = new Set<Replica>();
  /** Group membership changed somewhere: recompute the liveness peers. */
  private peersStale = true;
  private running = false;
  private stopping = false;
  private wakeLoop: (() => void) | undefined;
  private workPending = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Settles when the loop's current iteration ends (resolved between iterations). */
  private iterationDone: Promise<void> = Promise.resolve();
  /** Saves the loop started whose groups are not yet acknowledged, applied and advanced (pipelined saves). */
  private readonly savesInFlight = new Set<Promise<void>>();
  /** Those of savesInFlight that wait for a durable save (maxSavesInFlight bounds them). */
  private readonly durableSavesInFlight = new Set<Promise<void>>();
  private tickTimer: TimerHandle | undefined;
  private snapshotSends = 0;
  private fatal: HostError | undefined;
  private readonly liveness: NodeLiveness;
  /** Every node that is a member of some group here (liveness pings go to them). */
  private peers = new Set<number>();
  private tickCount = 0;
  /**
   * The groups' raft cores run with several Readies in flight, so a Ready's
   * committed entries are durable here when it is handed out (Ready).
   */
  private readonly committedEntriesDurable: boolean;

  constructor(
    config: NodeHostConfig,
    private readonly deps: NodeHostDependencies,
  ) {
    this.config = resolveNodeHostConfig(config);
    this.nodeId = this.config.nodeId;
    this.committedEntriesDurable =
      (this.config.raft.maxReadiesInFlight ?? hostRaftDefaults.maxReadiesInFlight ?? 1) > 1;
    this.liveness = new NodeLiveness(this.nodeId, 2 * this.config.electionTicks);
  }

  // ------------------------------------------------------------- lifecycle

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.runLoop();
    this.scheduleTick();
  }

  /** Stops ticking, lets the current iteration finish, fails what waits, closes state machines. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.tickTimer?.cancel();
    this.wakeLoop?.();
    await this.loopDone;
    this.running = false;
    const stopped = new HostError(HostErrorCode.Stopped, `node ${this.nodeId} stopped`);
    for (const replica of this.replicas.values()) {
      replica.failAll(stopped);
      await replica.exclusive(() => replica.stateMachine.close());
    }
    this.replicas.clear();
    this.touched.clear();
    this.awake.clear();
  }

  /**
   * Creates a group on this node: bootstraps its log with `members` when it
   * has none, otherwise restarts it from what is durable. Every initial
   * member calls this with the same members; a node added later to a running
   * group passes `join: true` and is caught up by the leader.
   */
  async startGroup(
    groupId: number,
    stateMachine: StateMachine,
    members: GroupMembers,
    options: { join?: boolean } = {},
  ): Promise<void> {
    this.requireRunning();
    if (!(Number.isSafeInteger(groupId) && groupId > 0)) {
      throw new HostError(HostErrorCode.InvalidArgument, `group id ${groupId}, allowed a positive integer`);
    }
    if (this.replicas.has(groupId)) {
      throw new HostError(HostErrorCode.GroupExists, `group ${groupId} already runs on node ${this.nodeId}`);
    }
    if (stateMachine.prepareProposal !== undefined && this.deps.wallClockMs === undefined) {
      throw new HostError(
        HostErrorCode.InvalidArgument,
        `group ${groupId}: its state machine stamps proposals (prepareProposal) but the host has no wallClockMs`,
      );
    }
    const hasLog = this.deps.logStore.groupIds().includes(groupId);
    if (!hasLog) await this.bootstrapGroup(groupId, stateMachine, members, options.join === true);
    await this.openGroup(groupId, stateMachine);
  }

  private async bootstrapGroup(
    groupId: number,
    stateMachine: StateMachine,
    members: GroupMembers,
    join: boolean,
  ): Promise<void> {
    if (join) {
      // Starts outside any configuration with an empty log; the leader's snapshot brings it in.
      await this.deps.logStore.bootstrap(groupId, undefined);
      return;
    }
    const confState: ConfState = {
      voters: [...members.voters],
      learners: [...(members.learners ?? [])],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    };
    // The bootstrap snapshot: index 1 holds the initial members and the empty state.
    await this.deps.snapshotStore.save(groupId, { index: 1, term: 1, confState }, stateMachine.saveSnapshot());
    await this.deps.logStore.bootstrap(groupId, confState);
  }

  private async openGroup(groupId: number, stateMachine: StateMachine): Promise<void> {
    const storage = this.deps.logStore.storage(groupId);
    const snapshot = storage.snapshot().metadata;
    let applied = await stateMachine.open();
    if (applied < snapshot.index && snapshot.index > 0) {
      if ((await this.deps.snapshotStore.newest(groupId)) !== undefined) {
        await stateMachine.restoreSnapshot(snapshot.index, this.deps.snapshotStore.open(groupId, snapshot.index));
      }
      applied = snapshot.index;
    }
    // The state machine may be ahead of the durable commit index: a commit-only Ready's entries are
    // applied before the save that records that index (appliesBeforeSave). Entries up to `applied`
    // were committed and are in this log; recording it lets raft start with committed >= applied.
    const { hardState } = storage.initialState();
    if (applied > hardState.commit && applied <= storage.lastIndex()) {
      await this.deps.logStore.save([
        { groupId, hardState: { ...hardState, commit: applied }, entries: [], snapshot: undefined },
      ]);
    }
    const raft = createRaftNode({
      electionTicks: this.config.electionTicks,
      heartbeatTicks: this.config.heartbeatTicks,
      ...hostRaftDefaults,
      ...this.config.raft,
      id: this.nodeId,
      storage,
      random: this.deps.random,
      applied,
    });
    const { confState, replayed } = replayConfChanges(raft, storage, snapshot.index, applied);
    const nonceBound = 0x1_0000_0000;
    const readNonce = [this.deps.random.nextInt(nonceBound), this.deps.random.nextInt(nonceBound)] as const;
    const packing = stateMachine.packedCommands === true && this.config.maxCommandsPerEntry > 1;
    const replica = new Replica(groupId, raft, stateMachine, confState, applied, snapshot.index, readNonce, packing);
    // The state machine applied a conf change after the newest snapshot (before a crash, with no snapshot
    // taken since): that snapshot does not name the current members, and a member added by it could
    // never use it (host simulator, seed 87 of 300: a joined replica fed the old snapshot forever). Take
    // one as if the change had just been applied.
    replica.confChangedSinceSnapshot = replayed;
    this.replicas.set(groupId, replica);
    this.awake.add(replica);
    this.peersStale = true;
    this.schedule(replica);
  }

  /**
   * Stops this node's replica of a group: no more ticks, messages, applies or
   * snapshots; its requests fail with Stopped, its state machine is closed.
   * The log, hard state and snapshots stay: startGroup restarts it from them.
   * Messages for the group that arrive later are dropped.
   */
  async stopGroup(groupId: number): Promise<void> {
    this.requireRunning();
    const replica = this.replica(groupId);
    this.replicas.delete(groupId);
    this.touched.delete(replica);
    this.awake.delete(replica);
    this.peersStale = true;
    const reason = `group ${groupId} was stopped on node ${this.nodeId}`;
    replica.stop(new HostError(HostErrorCode.Stopped, reason));
    // The iteration under way or a save in flight may still hold the replica (persist, apply): let them finish.
    await this.iterationDone;
    // Only the saves started so far can hold it (it is in no later one); more may start meanwhile.
    await Promise.all([...this.savesInFlight].map((save) => save.catch(() => undefined)));
    await replica.snapshotTask;
    await replica.exclusive(() => replica.stateMachine.close());
  }

  /**
   * Stops the replica (stopGroup) and deletes its log, hard state and
   * snapshots from this node's stores; startGroup then starts it afresh.
   * The caller removes the node from the group's configuration first (or the
   * whole group goes): a voter that forgets its log and vote breaks safety.
   * Messages of the removed replicas still in flight reach a replica started
   * afresh under the same group id as if its log had been lost (raft stops on
   * a commit beyond its last index): reuse a group id only once they are gone
   * (the cluster manager never reuses partition ids).
   */
  async removeGroup(groupId: number): Promise<void> {
    if (this.replicas.has(groupId)) await this.stopGroup(groupId);
    else this.requireRunning();
    if (!this.deps.logStore.groupIds().includes(groupId)) {
      const reason = `group ${groupId} has no log on node ${this.nodeId}`;
      throw new HostError(HostErrorCode.GroupNotFound, reason);
    }
    await this.deps.logStore.removeGroup(groupId);
    await this.deps.snapshotStore.removeGroup(groupId);
  }

  // -------------------------------------------------------------- requests

  /** Proposes a command; resolves with the state machine's result once applied here. */
  propose(groupId: number, data: Uint8Array, options: RequestOptions = {}): Promise<unknown> {
    const replica = this.writableReplica(groupId);
    let prepared: Uint8Array;
    try {
      prepared = this.admitProposal(replica, data);
    } catch (error) {
      return Promise.reject(error);
    }
    if (replica.packing) {
      return new Promise((resolve, reject) => this.proposePacked(replica, prepared, options, { resolve, reject, deadline: 0 }));
    }
    return this.proposeWith(replica, options, () => replica.raft.propose(prepared));
  }

  /**
   * As propose, for callers with many commands in flight (the gateway's
   * batches): the outcome goes to `answer.resolve` or `answer.reject`, called
   * as methods, exactly once — synchronously for a refusal, later for the
   * result — instead of through a promise per command (with its resolving
   * functions and the caller's `then`: ~8 objects per command on the leader).
   * The host sets `answer.deadline` (its clock).
   */
  proposeTo(groupId: number, data: Uint8Array, options: RequestOptions, answer: ProposalAnswer): void {
    let replica: Replica;
    let prepared: Uint8Array;
    try {
      replica = this.writableReplica(groupId);
      prepared = this.admitProposal(replica, data);
    } catch (error) {
      answer.reject(error);
      return;
    }
    if (replica.packing) {
      this.proposePacked(replica, prepared, options, answer);
      return;
    }
    let position: { index: number; term: number };
    try {
      position = replica.raft.propose(prepared);
    } catch (error) {
      answer.reject(hostErrorFromRaft(error, replica.groupId));
      return;
    }
    answer.deadline = this.deps.clock.now() + (options.timeoutMs ?? this.config.requestTimeoutMs);
    replica.addProposal(position, answer);
    this.schedule(replica);
  }

  /** The command as proposed (prepareProposal applied), or a HostError thrown: too large, overloaded, refused. */
  private admitProposal(replica: Replica, data: Uint8Array): Uint8Array {
    const groupId = replica.groupId;
    if (data.byteLength > this.config.maxProposalBytes) {
      throw new HostError(
        HostErrorCode.InvalidArgument,
        `proposal of ${data.byteLength} bytes, allowed ≤ ${this.config.maxProposalBytes}`,
      );
    }
    const pending = replica.pendingProposals();
    if (pending >= this.config.maxPendingProposals) {
      throw new HostError(HostErrorCode.Overloaded, `group ${groupId}: ${pending} proposals pending`);
    }
    const prepare = replica.stateMachine.prepareProposal;
    if (prepare === undefined) return data;
    try {
      return prepare.call(replica.stateMachine, data, this.deps.wallClockMs!());
    } catch (error) {
      throw new HostError(HostErrorCode.InvalidArgument, `group ${groupId}: proposal refused: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Adds the command to the group's pack; the loop proposes the pack as one
   * entry at its next iteration, or at once when this command would take it
   * past maxCommandsPerEntry or the pack size (min of maxPackBytes and
   * maxProposalBytes; a larger command then goes alone, a pack of one).
   * `waiter.deadline` is set here.
   */
  private proposePacked(replica: Replica, command: Uint8Array, options: RequestOptions, waiter: ProposalAnswer): void {
    const size = packedSize(command.byteLength);
    const limit = Math.min(this.config.maxPackBytes, this.config.maxProposalBytes);
    const count = replica.packedCount();
    if (count > 0 && (count >= this.config.maxCommandsPerEntry || packHeaderBytes + replica.packBytes + size > limit)) {
      replica.proposePack();
    }
    waiter.deadline = this.deps.clock.now() + (options.timeoutMs ?? this.config.requestTimeoutMs);
    replica.addToPack(command, size, waiter);
    this.schedule(replica);
  }

  proposeConfChange(groupId: number, change: ConfChange, options: RequestOptions = {}): Promise<unknown> {
    const replica = this.writableReplica(groupId);
    return this.proposeWith(replica, options, () => replica.raft.proposeConfChange(change));
  }

  private proposeWith(
    replica: Replica,
    options: RequestOptions,
    append: () => { index: number; term: number },
  ): Promise<unknown> {
    let position: { index: number; term: number };
    try {
      position = append();
    } catch (error) {
      return Promise.reject(hostErrorFromRaft(error, replica.groupId));
    }
    const deadline = this.deps.clock.now() + (options.timeoutMs ?? this.config.requestTimeoutMs);
    return new Promise((resolve, reject) => {
      replica.addProposal(position, { resolve, reject, deadline });
      this.schedule(replica);
    });
  }

  /**
   * Waits until a read of this group is linearizable here (ReadIndex,
   * Raft thesis §6.4): leadership confirmed by a quorum and the state machine
   * caught up to the read index.
   */
  readBarrier(groupId: number, options: RequestOptions = {}): Promise<void> {
    const replica = this.writableReplica(groupId);
    if (replica.reads.size >= this.config.maxPendingReads) {
      return Promise.reject(new HostError(HostErrorCode.Overloaded, `group ${groupId}: ${replica.reads.size} reads pending`));
    }
    const context = replica.nextReadContext();
    try {
      replica.raft.readIndex(context);
    } catch (error) {
      return Promise.reject(hostErrorFromRaft(error, groupId));
    }
    const deadline = this.deps.clock.now() + (options.timeoutMs ?? this.config.requestTimeoutMs);
    return new Promise((resolve, reject) => {
      replica.addRead(contextKeyOf(context), { context, index: undefined, ticksSinceAsked: 0, resolve, reject, deadline });
      this.schedule(replica);
    });
  }

  /** A linearizable query: read barrier, then the state machine answers. */
  async query(groupId: number, request: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    await this.readBarrier(groupId, options);
    return this.staleQuery(groupId, request);
  }

  /** A query against this replica's state as it is (may lag the leader). */
  staleQuery(groupId: number, request: Uint8Array): Promise<Uint8Array> {
    const replica = this.writableReplica(groupId);
    return replica.exclusive(() => replica.stateMachine.query(request));
  }

  transferLeadership(groupId: number, to: number): void {
    const replica = this.writableReplica(groupId);
    try {
      replica.raft.transferLeadership(to);
    } catch (error) {
      throw hostErrorFromRaft(error, groupId);
    }
    this.schedule(replica);
  }

  status(groupId: number): GroupStatus {
    const replica = this.replica(groupId);
    const raft = replica.raft.status();
    return {
      ...raft,
      groupId,
      appliedByStateMachine: replica.applied,
      snapshotIndex: replica.snapshotIndex,
      pendingProposals: replica.pendingProposals(),
      confChangePending: raft.role === Role.Leader && raft.pendingConfIndex > raft.applied,
    };
  }

  groupIds(): number[] {
    return [...this.replicas.keys()];
  }

  private replica(groupId: number): Replica {
    const replica = this.replicas.get(groupId);
    if (replica === undefined) {
      throw new HostError(HostErrorCode.GroupNotFound, `group ${groupId} does not run on node ${this.nodeId}`);
    }
    return replica;
  }

  /** The replica for a request: requests wake a quiesced group. */
  private writableReplica(groupId: number): Replica {
    this.requireRunning();
    const replica = this.replica(groupId);
    if (replica.failure !== undefined) throw replica.failure;
    this.wake(replica);
    return replica;
  }

  private requireRunning(): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (!this.running || this.stopping) {
      throw new HostError(HostErrorCode.Stopped, `node ${this.nodeId} is not running`);
    }
  }

  // ------------------------------------------------------------- transport

  onMessages(from: number, batch: readonly GroupMessage[]): void {
    if (!this.running || this.stopping) return;
    if (this.liveness.heard(from)) this.requiesceFollowersOf(from);
    const heartbeats: GroupMessage[] = [];
    for (const { groupId, message } of batch) {
      if (groupId === livenessGroupId) continue;
      const replica = this.replicas.get(groupId);
      if (replica === undefined || replica.failure !== undefined || message.to !== this.nodeId) continue;
      if (replica.quiesced && wakesGroup(message)) this.wake(replica);
      replica.raft.step(message);
      if (message.type === MessageType.Heartbeat) this.takeHeartbeats(replica, heartbeats);
      this.touched.add(replica);
    }
    if (heartbeats.length > 0) this.deps.transport.send(heartbeats);
    this.schedule();
  }

  /**
   * The stream from `nodeId` ended or broke (a transport hint; its process may
   * be gone). Every group here following a leader on that node forgets it
   * (RaftNode.forgetLeader: pre-votes are then granted at once, not after
   * the lease) and campaigns soon unless a leader shows up first — so a
   * killed leader is replaced in a fraction of an election timeout. A wrong
   * hint costs little: the live leader's next message restores it, and
   * followers still in its lease ignore the campaign (pre-vote, check-quorum).
   */
  onPeerDisconnected(nodeId: number): void {
    if (!this.running || this.stopping || nodeId === this.nodeId) return;
    let forgotten = 0;
    for (const replica of this.replicas.values()) {
      if (replica.failure !== undefined || replica.leader !== nodeId || replica.role !== Role.Follower) continue;
      this.wake(replica);
      replica.raft.forgetLeader();
      replica.plannedCampaign = this.planCampaign(replica, nodeId);
      this.touched.add(replica);
      forgotten++;
    }
    if (forgotten === 0) return;
    this.deps.logger.info("peer disconnected; its groups here forget it as leader", { peer: nodeId, groups: forgotten });
    this.schedule();
  }

  onUnreachable(groupId: number, nodeId: number): void {
    const replica = this.replicas.get(groupId);
    if (replica === undefined) return;
    replica.raft.reportUnreachable(nodeId);
    this.schedule(replica);
  }

  async onSnapshot(incoming: IncomingSnapshot): Promise<void> {
    const { groupId, message, chunks } = incoming;
    const replica = this.replica(groupId);
    const snapshot = message.snapshot;
    if (snapshot === undefined) {
      throw new HostError(HostErrorCode.InvalidArgument, `snapshot message for group ${groupId} without metadata`);
    }
    if (snapshot.metadata.index <= replica.raft.status().commit) {
      // Raft refuses a snapshot it has committed past; storing it anyway could
      // push the file the log starts from out of the kept-newest set.
      for await (const chunk of chunks) void chunk; // the sender waits for the stream to end
    } else {
      // Contents first, durably; only then may raft accept the snapshot.
      await this.deps.snapshotStore.save(groupId, snapshot.metadata, chunks);
    }
    if (this.replicas.get(groupId) !== replica) return; // stopped meanwhile
    this.wake(replica);
    replica.raft.step({ ...message, snapshot: { metadata: snapshot.metadata, data: new Uint8Array(0) } });
    this.schedule(replica);
  }

  private sendMessages(replica: Replica, messages: readonly Message[], out: GroupMessage[]): void {
    for (const message of messages) {
      if (message.type === MessageType.Snapshot) this.streamSnapshot(replica, message);
      else out.push({ groupId: replica.groupId, message });
    }
  }

  private streamSnapshot(replica: Replica, message: Message): void {
    const index = message.snapshot!.metadata.index;
    if (this.snapshotSends >= this.config.maxSnapshotSends) {
      replica.raft.reportSnapshot(message.to, "failure");
      this.touched.add(replica);
      return;
    }
    this.snapshotSends++;
    const send = async (): Promise<void> => {
      const chunks = this.deps.snapshotStore.open(replica.groupId, index);
      await this.deps.transport.sendSnapshot(message.to, replica.groupId, message, chunks);
    };
    send().then(
      () => replica.raft.reportSnapshot(message.to, "finish"),
      (error: unknown) => {
        this.deps.logger.warn("snapshot send failed", {
          group: replica.groupId,
          to: message.to,
          index,
          error: String(error),
        });
        replica.raft.reportSnapshot(message.to, "failure");
      },
    ).finally(() => {
      this.snapshotSends--;
      this.schedule(replica);
    });
  }

  // ------------------------------------------------------------------ loop

  /**
   * Heartbeats and their answers leave at once, not with the next Ready: an
   * iteration can take seconds on a starved node (a long apply, a slow
   * fsync), and a leader silent for an election timeout is replaced even
   * though it is alive (issue #8, overload). They depend on nothing durable.
   */
  private takeHeartbeats(replica: Replica, out: GroupMessage[]): void {
    for (const message of replica.raft.takeHeartbeats()) out.push({ groupId: replica.groupId, message });
  }

  /** Wakes the loop; `replica`, if given, is among those it must look at. */
  private schedule(replica?: Replica): void {
    if (replica !== undefined) this.touched.add(replica);
    this.workPending = true;
    const wakeLoop = this.wakeLoop;
    this.wakeLoop = undefined;
    wakeLoop?.();
  }

  private async runLoop(): Promise<void> {
    while (!this.stopping && this.fatal === undefined) {
      if (!this.workPending) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      this.workPending = false;
      const iteration = this.iteration();
      this.iterationDone = iteration.then(
        () => undefined,
        () => undefined,
      );
      try {
        await iteration;
      } catch (error) {
        this.onFatal(error);
        break;
      }
      await this.deps.yieldToEventLoop();
    }
    // Stopping (or failed): what is being persisted and applied finishes first.
    await this.savesSettled();
  }

  /**
   * One pass of the Ready loop over every group that has work: collects their
   * Readies, sends the leaders' messages at once and starts ONE save for all
   * of them that must be durable (Ready.mustSync), without waiting for it
   * (pipelined saves, docs/storage.md): the rest — acknowledgements, apply,
   * advance — runs when that save is durable (`completeSaved`). Readies that
   * need no sync (a commit index alone) are recorded with saveUnsynced and
   * completed at once. A group may have up to RaftConfig.maxReadiesInFlight
   * Readies out (4 by default here): each carries only entries the earlier
   * ones did not, its saves become durable in the order raft produced them
   * (the store resolves saves in call order), and each Ready completes only
   * after the group's earlier ones (completeAfter). Waits only when
   * `maxSavesInFlight` saves are in flight.
   */
  private async iteration(): Promise<void> {
    const readies: ReadyOfReplica[] = [];
    const candidates = this.touched;
    this.touched = new Set();
    for (const replica of candidates) {
      if (replica.failure !== undefined || this.replicas.get(replica.groupId) !== replica) continue;
      replica.proposePack(); // what arrived since the last iteration: one entry
      if (replica.raft.hasReady()) {
        const ready = replica.raft.ready();
        if (ready.softState !== undefined) this.logRoleChange(replica, ready);
        readies.push({ replica, ready });
      }
    }
    if (readies.length === 0) return;
    const early: GroupMessage[] = [];
    for (const { replica, ready } of readies) this.sendMessages(replica, ready.messages, early);
    if (early.length > 0) this.deps.transport.send(early);

    // Readies the core needs durable before they go on (entries, a snapshot, a new term or vote:
    // Ready.mustSync) wait for ONE durable save. The rest — a commit index alone, or nothing to
    // persist — is recorded without a sync (saveUnsynced: it goes into the next durable commit, a
    // crash may lose it and the replica learns its commit index again from the leader, as etcd's
    // raft allows) and completes at once, so a commit-only save no longer holds the group's next
    // Ready (its entries and MsgApps) behind a durable write (issue #8: half of every node's
    // durable writes were these). What such a Ready's messagesAfterPersist promise is made
    // durable by earlier Readies of its group, which complete before it (completeAfter;
    // docs/storage.md).
    const durable: ReadyOfReplica[] = [];
    const unsynced: ReadyOfReplica[] = [];
    for (const item of readies) (item.ready.mustSync ? durable : unsynced).push(item);
    const unsyncedUpdates: GroupUpdate[] = [];
    for (const { replica, ready } of unsynced) {
      if (ready.hardState !== undefined) {
        unsyncedUpdates.push({ groupId: replica.groupId, hardState: ready.hardState, entries: [], snapshot: undefined });
      }
    }
    if (unsyncedUpdates.length > 0) this.deps.logStore.saveUnsynced(unsyncedUpdates);
    // A group with an earlier Ready still in flight completes this one after it (completeAfter):
    // kept apart, so that the other groups' unsynced Readies complete at once.
    const free = unsynced.filter(({ replica }) => replica.readiesInFlight === 0);
    const behind = unsynced.filter(({ replica }) => replica.readiesInFlight > 0);
    if (free.length > 0) this.completeAfter(Promise.resolve(), free, false);
    if (behind.length > 0) this.completeAfter(Promise.resolve(), behind, false);
    if (durable.length === 0) return;

    const updates: GroupUpdate[] = [];
    for (const { replica, ready } of durable) {
      updates.push({
        groupId: replica.groupId,
        hardState: ready.hardState,
        entries: ready.entries,
        snapshot: ready.snapshot,
      });
    }
    this.completeAfter(this.deps.logStore.save(updates), durable, true);
    while (this.durableSavesInFlight.size >= this.config.maxSavesInFlight) {
      await Promise.race([...this.durableSavesInFlight].map((save) => save.catch(() => undefined)));
    }
  }

  /**
   * Completes `readies` once `saved` resolves (completeSaved), kept in flight until then; a failure
   * stops the node. Only durable saves count towards maxSavesInFlight.
   */
  private completeAfter(saved: Promise<void>, readies: readonly ReadyOfReplica[], durable: boolean): void {
    // Several Readies of a group may be in flight (RaftConfig.maxReadiesInFlight). A later one
    // completes (acknowledgements, advance) only after the earlier ones (Ready's contract): its
    // messagesAfterPersist may cover entries an earlier save is still writing, and raft advances
    // Readies in the order it handed them out.
    const earlier = [...new Set(readies.map(({ replica }) => replica.lastCompletion))];
    // Apply before the save where that is safe:
    // - several Readies in flight: the core hands out only committed entries this replica has
    //   persisted, so every Ready but a snapshot's applies at once (Replica.applyReady keeps a
    //   group's Readies in order);
    // - one: a Ready without entries or snapshot commits only entries of earlier Readies, whose saves
    //   completed before they were advanced: they are durable here, and the save only records the new
    //   commit index (with a new term or vote). Its apply starts now instead of after that save
    //   (issue #8: a leader waited one more write + fdatasync, ~1.6 ms of a 15 ms ack at low load,
    //   before applying what its followers had just made committed).
    // A restart that finds the state machine ahead of the durable commit index raises it (openGroup):
    // everything applied was committed. A conf change applied or a snapshot restored gives the
    // replica a new confState object.
    const confStates = readies.map(({ replica }) => replica.confState);
    const applyFirst = new Set(
      readies.filter(({ replica, ready }) =>
        this.committedEntriesDurable
          ? ready.snapshot === undefined
          : replica.readiesInFlight === 0 && appliesBeforeSave(ready),
      ),
    );
    const earlyApplied = applyFirst.size > 0 ? this.applyAll([...applyFirst]) : undefined;
    const applyLater = readies.filter((item) => !applyFirst.has(item));
    const completed = Promise.all([saved, ...earlier]).then(
      () => this.completeSaved(readies, applyLater, confStates, earlyApplied),
      async (error: unknown) => {
        await earlyApplied; // never rejects: applyAll catches each group's failure
        throw error;
      },
    );
    const settled = completed.then(
      () => undefined,
      () => undefined,
    );
    for (const { replica } of readies) {
      replica.readiesInFlight++;
      replica.lastCompletion = settled;
    }
    this.track(completed, durable);
  }

  private track(completed: Promise<void>, durable: boolean): void {
    this.savesInFlight.add(completed);
    if (durable) this.durableSavesInFlight.add(completed);
    completed.then(
      () => {
        this.savesInFlight.delete(completed);
        this.durableSavesInFlight.delete(completed);
      },
      (error: unknown) => {
        this.savesInFlight.delete(completed);
        this.durableSavesInFlight.delete(completed);
        this.onFatal(error);
        this.schedule(); // the loop sees the failure and ends
      },
    );
  }

  /**
   * Elections as they happen on this node: a campaign that raises the term
   * (candidate), a won election, a leader stepping down. Counting a group's
   * elections and who started them needs nothing else (pre-votes that
   * fail change no term and are not logged).
   */
  private logRoleChange(replica: Replica, ready: Ready): void {
    const softState = ready.softState!;
    const campaign = softState.role === Role.Candidate;
    const won = softState.role === Role.Leader && replica.role !== Role.Leader;
    const steppedDown = replica.role === Role.Leader && softState.role !== Role.Leader;
    if (!(campaign || won || steppedDown)) return;
    this.deps.logger.info(campaign ? "campaign" : won ? "became leader" : "stepped down", {
      group: replica.groupId,
      term: ready.hardState?.term ?? replica.raft.status().term,
      leader: softState.leader,
      previousLeader: replica.leader,
      tick: this.tickCount,
    });
  }

  /** After a save is durable: acknowledgements, apply, advance, snapshots; the groups may then have more. */
  private async completeSaved(
    readies: readonly ReadyOfReplica[],
    applyLater: readonly ReadyOfReplica[],
    confStates: readonly ConfState[],
    earlyApplied: Promise<void> | undefined,
  ): Promise<void> {
    if (this.fatal !== undefined) {
      await earlyApplied;
      return; // an earlier save failed: this node does nothing more
    }
    const late: GroupMessage[] = [];
    for (const { replica, ready } of readies) this.sendMessages(replica, ready.messagesAfterPersist, late);
    if (late.length > 0) this.deps.transport.send(late);

    await Promise.all([this.applyAll(applyLater), earlyApplied]);
    for (let i = 0; i < readies.length; i++) {
      const { replica, ready } = readies[i]!;
      replica.raft.advance(ready);
      replica.readiesInFlight--;
      if (ready.snapshot !== undefined || replica.confState !== confStates[i]) this.peersStale = true;
    }
    for (const { replica } of readies) this.maybeSnapshot(replica);
    // advance may have produced more (commits, auto-leave), and what arrived
    // for these groups meanwhile waited for it: look at them again.
    for (const { replica } of readies) this.touched.add(replica);
    this.schedule();
  }

  /** Resolves once no save started by the loop is still being persisted, applied or advanced (the loop no longer starts any). */
  private async savesSettled(): Promise<void> {
    while (this.savesInFlight.size > 0) {
      await Promise.all([...this.savesInFlight].map((save) => save.catch(() => undefined)));
    }
  }

  private async applyAll(readies: readonly ReadyOfReplica[]): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < readies.length) {
        const { replica, ready } = readies[next++]!;
        if (replica.failure !== undefined) continue; // stopped while this iteration persisted
        try {
          await replica.applyReady(ready, (index) =>
            replica.stateMachine.restoreSnapshot(index, this.deps.snapshotStore.open(replica.groupId, index)),
          );
        } catch (error) {
          this.deps.logger.error("group stopped: state machine failed", {
            group: replica.groupId,
            error: String(error),
          });
          replica.failAll(replica.failure ?? new HostError(HostErrorCode.StateMachineFailed, String(error)));
        }
      }
    };
    const workers = Math.min(this.config.applyConcurrency, readies.length);
    await Promise.all(Array.from({ length: workers }, worker));
  }

  /** Takes a local snapshot and compacts the log when enough entries were applied since the last. */
  private maybeSnapshot(replica: Replica): void {
    const every = this.config.snapshotEntries;
    if (replica.snapshotting || replica.failure !== undefined || replica.applied <= replica.snapshotIndex) return;
    // After a membership change, a new member can only use a snapshot that names it.
    const due = (every > 0 && replica.applied - replica.snapshotIndex >= every) || replica.confChangedSinceSnapshot;
    if (!due) return;
    replica.snapshotting = true;
    replica.confChangedSinceSnapshot = false;
    const storage = this.deps.logStore.storage(replica.groupId);
    let index = replica.applied;
    const take = async (): Promise<void> => {
      // Captured between two Readies' applies, with the index applied then: later Readies may be
      // applying already (several in flight per group) and must not end up in a snapshot labelled
      // with an earlier index (host simulator seed 522 of --seeds 40 --seed 500: "snapshot at 9
      // holds commands up to 11").
      const { metadata, chunks } = await replica.betweenApplies(async () => {
        index = replica.applied;
        const taken = { index, term: storage.term(index), confState: replica.confState };
        return { metadata: taken, chunks: await replica.exclusive(async () => replica.stateMachine.saveSnapshot()) };
      });
      const compactIndex = Math.max(0, index - this.config.compactionOverhead);
      // A commit index may have been recorded without a sync (saveUnsynced). A snapshot file is used
      // at a restart only if its index is at most the durable commit (createDurableStores), and a
      // compaction takes the log before it away: make the commit of `index` (recorded before it was
      // applied) durable first, or a crash could leave the group with neither (docs/storage.md).
      await this.deps.logStore.flush();
      await this.deps.snapshotStore.save(replica.groupId, metadata, chunks);
      await this.deps.logStore.recordSnapshot(replica.groupId, metadata, compactIndex);
      replica.snapshotIndex = index;
    };
    replica.snapshotTask = take()
      .catch((error: unknown) =>
        this.deps.logger.warn("snapshot failed", { group: replica.groupId, index, error: String(error) }),
      )
      .finally(() => {
        replica.snapshotting = false;
      });
  }

  private onFatal(error: unknown): void {
    if (this.fatal !== undefined) return; // a later save failing after the first one
    this.fatal = new HostError(
      HostErrorCode.StorageFailed,
      `node ${this.nodeId} stopped accepting writes: ${String(error)}`,
      { cause: error },
    );
    this.deps.logger.error("node host loop failed; no more writes are accepted", { error: String(error) });
    for (const replica of this.replicas.values()) replica.failAll(this.fatal);
    this.tickTimer?.cancel();
  }

  // ----------------------------------------------------------------- ticks

  private scheduleTick(): void {
    this.tickTimer = this.deps.clock.setTimeout(() => this.onTick(), this.config.tickIntervalMs);
  }

  private onTick(): void {
    if (this.stopping || this.fatal !== undefined) return;
    this.tickCount++;
    const now = this.deps.clock.now();
    const heartbeats: GroupMessage[] = [];
    for (const replica of this.awake) {
      if (replica.failure !== undefined) continue;
      replica.raft.tick();
      this.takeHeartbeats(replica, heartbeats);
      const planned = replica.plannedCampaign;
      if (planned !== undefined && this.tickCount >= planned.atTick) this.campaignIfLeaderless(replica, planned);
      replica.expire(now);
      replica.tickReads();
      replica.askAgainForUnconfirmedReads(this.config.electionTicks);
      this.touched.add(replica);
      this.maybeQuiesce(replica);
    }
    if (heartbeats.length > 0) this.deps.transport.send(heartbeats);
    this.tickLiveness();
    this.schedule();
    this.scheduleTick();
  }

  /**
   * When this replica campaigns after its leader's node disconnected. The
   * surviving voters take turns, `gap` ticks apart, in an order rotated by
   * group id (so the groups of a dead node spread their new leaders over the
   * survivors): two followers that both heard the hint at once would
   * otherwise often campaign within one round trip of each other on a loaded
   * machine, grant each other's pre-votes and split the real vote, which
   * costs a whole randomized election timeout. Turns repeat for about two
   * election timeouts, since a campaign fails while another survivor has not
   * heard the hint yet (it is still in the dead leader's lease) or when the
   * campaigner's log is behind; then only the usual timeouts remain. Later
   * turns get a random delay of up to `gap` ticks: the survivors' plans start
   * when each heard the hint, so their turns can meet, and with equal
   * periods they would meet again every round.
   */
  private planCampaign(replica: Replica, deadLeader: number): PlannedCampaign {
    const survivors = replica.confState.voters.filter((id) => id !== deadLeader).sort((a, b) => a - b);
    const index = survivors.indexOf(this.nodeId);
    const turns = Math.max(1, survivors.length);
    const turn = index < 0 ? 0 : (index + replica.groupId) % turns;
    const gap = Math.max(2, Math.floor(this.config.electionTicks / 3));
    const everyTicks = turns * gap;
    return {
      atTick: this.tickCount + 1 + turn * gap + this.deps.random.nextInt(2),
      everyTicks,
      jitterTicks: gap,
      left: Math.max(1, Math.ceil((2 * this.config.electionTicks) / everyTicks)),
    };
  }

  /**
   * A planned campaign's turn: campaigns unless a leader appeared meanwhile
   * (also as a candidate: a split vote would otherwise wait out a whole
   * randomized election timeout); plans the next turn.
   */
  private campaignIfLeaderless(replica: Replica, planned: PlannedCampaign): void {
    const status = replica.raft.status();
    planned.left--;
    planned.atTick = this.tickCount + planned.everyTicks + this.deps.random.nextInt(planned.jitterTicks);
    if (status.leader !== 0 || planned.left <= 0) replica.plannedCampaign = undefined;
    if (status.leader !== 0 || status.role === Role.Leader) return;
    replica.raft.campaign();
  }

  private maybeQuiesce(replica: Replica): void {
    const after = this.config.quiesceAfterTicks;
    if (after === 0) return;
    // A group whose leader's node is silent is not idle: it must stay awake to elect.
    if (!isIdle(replica) || this.liveness.isDown(replica.leader)) {
      replica.idleTicks = 0;
      return;
    }
    replica.idleTicks++;
    // Followers go quiet first, while the leader's heartbeats still reach
    // them; the leader stops an election timeout later.
    const threshold = replica.role === Role.Leader ? after + this.config.electionTicks : after;
    if (replica.idleTicks >= threshold) {
      replica.quiesced = true;
      this.awake.delete(replica);
    }
  }

  /**
   * `leader`'s node was silent and is heard again: the idle groups it leads,
   * woken here when it went silent, go back to sleep. Their leader's replica
   * is still quiesced and sends no heartbeats, so awake they would campaign
   * once their election timeout ran out, although the leader is alive —
   * issue #8's overload re-elected idle groups so after a loaded leader's
   * node stood still ~2 s. A leader that really is gone stays silent, and
   * its followers stay awake and elect.
   */
  private requiesceFollowersOf(leader: number): void {
    if (this.config.quiesceAfterTicks === 0) return;
    for (const replica of this.awake) {
      if (replica.role !== Role.Follower || replica.leader !== leader) continue;
      if (replica.plannedCampaign !== undefined || !isIdle(replica)) continue;
      replica.quiesced = true;
      this.awake.delete(replica);
    }
  }

  private wake(replica: Replica): void {
    if (!replica.quiesced) return;
    replica.wake();
    this.awake.add(replica);
    this.touched.add(replica);
  }

  private tickLiveness(): void {
    if (this.peersStale) this.refreshPeers();
    if (this.tickCount % this.config.heartbeatTicks === 0 && this.peers.size > 0) {
      this.deps.transport.send(this.liveness.pings(this.peers));
    }
    const silent = this.liveness.tick(this.peers);
    if (silent.length === 0) return;
    this.deps.logger.warn("peers silent; waking their groups", { peers: silent.join(",") });
    for (const replica of this.replicas.values()) {
      const { voters, learners, votersOutgoing } = replica.confState;
      if (silent.some((peer) => voters.includes(peer) || learners.includes(peer) || votersOutgoing.includes(peer))) {
        this.wake(replica);
      }
    }
  }

  private refreshPeers(): void {
    this.peersStale = false;
    const peers = new Set<number>();
    for (const replica of this.replicas.values()) {
      for (const id of replica.confState.voters) peers.add(id);
      for (const id of replica.confState.learners) peers.add(id);
      for (const id of replica.confState.votersOutgoing) peers.add(id);
    }
    peers.delete(this.nodeId);
    this.peers = peers;
  }

  /** Groups that currently do not tick. */
  quiescedGroupCount(): number {
    let count = 0;
    for (const replica of this.replicas.values()) if (replica.quiesced) count++;
    return count;
  }

  /** Whether this node currently leads the group (as far as it knows). */
  isLeader(groupId: number): boolean {
    const replica = this.replicas.get(groupId);
    return replica !== undefined && roleOf(replica.raft) === Role.Leader;
  }
}

/**
 * Raft starts from the configuration of the newest snapshot; a state machine
 * that kept its own state may have applied further entries, and raft will
 * not hand those out again. Conf changes among them must still reach the
 * tracker, in order, or the replica would count votes with an old
 * configuration.
 */
function replayConfChanges(
  raft: RaftNode,
  storage: { entries(low: number, high: number, maxBytes: number): readonly { type: EntryType; data: Uint8Array }[] },
  snapshotIndex: number,
  applied: number,
): { confState: ConfState; replayed: boolean } {
  let confState = raft.status().confState;
  let replayed = false;
  if (applied <= snapshotIndex) return { confState, replayed };
  for (const entry of storage.entries(snapshotIndex + 1, applied + 1, Number.POSITIVE_INFINITY)) {
    if (entry.type !== EntryType.ConfChange) continue;
    confState = raft.applyConfChange(decodeConfChange(entry.data));
    replayed = true;
  }
  return { confState, replayed };
}

/**
 * Flow control per follower and group (etcd's MaxSizePerMsg and
 * MaxInflightMsgs), tighter than the raft core's own defaults (1 MiB × 256):
 * with many groups per node these bound what one peer can have queued
 * behind it. A single larger entry still goes out alone.
 *
 * Committed entries per Ready (etcd's MaxCommittedSizePerReady), 1 MiB
 * instead of the core's 8 MiB: a state machine applies a Ready's entries in
 * one go, and the event loop runs no timer and reads no socket meanwhile.
 * 8 MiB of event-store inserts kept a node's loop busy for seconds on a
 * loaded box, longer than an election timeout: its followers campaigned and
 * its other groups lost their leader (issue #8, overload;
 * test/unit/host/starved-apply.test.ts). A larger backlog is applied over
 * several loop iterations, with ticks, heartbeats and messages in between.
 *
 * Readies in flight per group, 4 instead of the core's 1: a group's next
 * entries are written and (on a leader) sent while its previous save is
 * still syncing, instead of waiting for it (issue #8: the entry write was
 * the largest step of the worst acks on every node). maxSavesInFlight
 * bounds the node's saves on top.
 */
const hostRaftDefaults: Pick<
  RaftConfig,
  "maxSizePerMessage" | "maxInflightMessages" | "maxCommittedSizePerReady" | "maxReadiesInFlight"
> = {
  maxSizePerMessage: 256 * 1024,
  maxInflightMessages: 64,
  maxCommittedSizePerReady: 1 << 20,
  maxReadiesInFlight: 4,
};

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Whether a Ready's committed entries may be applied before its save is
 * durable: it carries no entries and no snapshot, so what it commits was in
 * earlier Readies, whose saves completed before they were advanced.
 */
function appliesBeforeSave(ready: Ready): boolean {
  return ready.committedEntries.length > 0 && ready.entries.length === 0 && ready.snapshot === undefined;
}
