import { decodeConfChange, EntryType, isRaftError, RaftErrorCode, Role } from "../raft/index.js";
import type { ConfState, Entry, RaftNode, ReadState, Ready } from "../raft/index.js";
import type { CommittedCommand, StateMachine } from "../statemachine/index.js";
import { decodePack, encodePack, packedSize } from "./command-pack.js";
import { HostError, HostErrorCode } from "./errors.js";
import { PendingProposals } from "./pending-proposals.js";
import type { Waiter } from "./pending-proposals.js";

/** Campaign at `atTick` if still leaderless, then every `everyTicks` + 0..`jitterTicks`-1, `left` times in all. */
export interface PlannedCampaign {
  atTick: number;
  readonly everyTicks: number;
  readonly jitterTicks: number;
  left: number;
}

export interface PendingRead extends Waiter<void> {
  /** The ReadIndex context, as sent (asked again with the same bytes). */
  readonly context: Uint8Array;
  /** Set once the leader confirmed the read index. */
  index: number | undefined;
  /** Host ticks since the read index was last asked for (unconfirmed reads). */
  ticksSinceAsked: number;
}

/**
 * One replica of one group on this node: its raft core, its state machine and
 * the requests waiting on them. The NodeHost drives it; a replica never does
 * I/O on its own except through its state machine.
 * @internal
 */
export class Replica {
  readonly proposals: PendingProposals;
  readonly reads = new Map<string, PendingRead>();
  /** Reads whose index is known, waiting for `applied` to reach it. */
  private readsAwaitingApply: PendingRead[] = [];
  applied: number;
  /** Index of the newest local snapshot (the log before it may be compacted). */
  snapshotIndex: number;
  snapshotting = false;
  /** The local snapshot being taken, if any (settles, never rejects). */
  snapshotTask: Promise<void> = Promise.resolve();
  /** Not ticking: the group is idle (see quiescence.ts). */
  quiesced = false;
  /** Consecutive ticks the group was idle. */
  idleTicks = 0;
  /** Campaigns planned after the leader's node disconnected (NodeHost.onPeerDisconnected). */
  plannedCampaign: PlannedCampaign | undefined = undefined;
  /** A conf change was applied after the newest local snapshot. */
  confChangedSinceSnapshot = false;
  role: Role = Role.Follower;
  leader = 0;
  /**
   * Readies of this group handed out and not yet completed (acknowledged,
   * applied, advanced); several when their saves are in flight together
   * (RaftConfig.maxReadiesInFlight).
   */
  readiesInFlight = 0;
  /** Settles when the newest of those completes: a later Ready's completion waits for it (never rejects). */
  lastCompletion: Promise<void> = Promise.resolve();
  /** Set when the state machine failed: the replica takes no more requests. */
  failure: HostError | undefined = undefined;
  /** Settles when the last applyReady call is done (never rejects). */
  private applyTail: Promise<void> = Promise.resolve();
  /** Serializes every call into the state machine (apply, query, snapshot). */
  private stateMachineQueue: Promise<unknown> = Promise.resolve();
  private readCounter = 0;
  /** Commands proposed since the last pack left (packing groups), and their waiters. */
  private packCommands: Uint8Array[] = [];
  private packWaiters: Waiter<unknown>[] = [];
  /** Sum of the buffered commands' sizes in a pack (command-pack.ts packedSize). */
  packBytes = 0;

  constructor(
    readonly groupId: number,
    readonly raft: RaftNode,
    readonly stateMachine: StateMachine,
    public confState: ConfState,
    applied: number,
    snapshotIndex: number,
    /**
     * Random, fresh for every start of the replica: a ReadIndex response still
     * in flight for the previous incarnation (same group, same node, counter
     * restarted at 1) must not answer a new read with its older index.
     */
    private readonly readNonce: readonly [number, number],
    /** Commands travel in packs (the state machine declares packedCommands and the host packs). */
    readonly packing: boolean,
  ) {
    this.proposals = new PendingProposals(groupId);
    this.applied = applied;
    this.snapshotIndex = snapshotIndex;
  }

  wake(): void {
    this.quiesced = false;
    this.idleTicks = 0;
    this.raft.resumeTicking();
  }

  /** Runs `task` after every state machine call queued before it. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.stateMachineQueue.then(task);
    this.stateMachineQueue = result.catch(() => undefined);
    return result;
  }

  nextReadContext(): Uint8Array {
    this.readCounter++;
    const context = new Uint8Array(16);
    const view = new DataView(context.buffer);
    view.setUint32(0, this.readNonce[0]);
    view.setUint32(4, this.readNonce[1]);
    view.setFloat64(8, this.readCounter);
    return context;
  }

  addProposal(position: { index: number; term: number }, waiter: Waiter<unknown>): void {
    this.proposals.add(position.index, position.term, [waiter]);
  }

  /** Proposals waiting for their result, those in the pack being gathered too. */
  pendingProposals(): number {
    return this.proposals.size + this.packWaiters.length;
  }

  /** Commands in the pack being gathered. */
  packedCount(): number {
    return this.packCommands.length;
  }

  /** Adds a command to the pack being gathered (`packedBytes`: its size in the pack). */
  addToPack(command: Uint8Array, packedBytes: number, waiter: Waiter<unknown>): void {
    if (!this.packing) throw new Error(`group ${this.groupId}: a pack in a group that does not pack`);
    this.packCommands.push(command);
    this.packWaiters.push(waiter);
    this.packBytes += packedBytes;
  }

  /**
   * Proposes the pack gathered so far as one entry. A refusal (not the
   * leader, a transfer under way) fails every command of the pack, as it
   * would have failed each of them alone; none of them is in the log.
   */
  proposePack(): void {
    const commands = this.packCommands;
    const waiters = this.packWaiters;
    if (commands.length === 0) return;
    this.packCommands = [];
    this.packWaiters = [];
    this.packBytes = 0;
    let position: { index: number; term: number };
    try {
      position = this.raft.propose(encodePack(commands));
    } catch (error) {
      const failure = hostErrorFromRaft(error, this.groupId);
      for (const waiter of waiters) waiter.reject(failure);
      return;
    }
    this.proposals.add(position.index, position.term, waiters);
  }

  addRead(key: string, read: PendingRead): void {
    this.reads.set(key, read);
  }

  /**
   * Asks again for the read index of every read the leader has not confirmed
   * and that waited `afterTicks` ticks (0: all of them). A ReadIndex is lost
   * without an answer when it reaches a former leader, when the leader steps
   * down with the read pending, or when the request or its heartbeat round is
   * dropped on the way; the read would otherwise wait for its deadline (as
   * etcd's read loop, we ask again). The leader treats a repeated context as
   * the same read, and the first answer settles it.
   */
  askAgainForUnconfirmedReads(afterTicks: number): void {
    for (const read of this.reads.values()) {
      if (read.index !== undefined || read.ticksSinceAsked < afterTicks) continue;
      read.ticksSinceAsked = 0;
      try {
        this.raft.readIndex(read.context);
      } catch (error) {
        // No leader known yet: the next leader change or interval asks again.
        if (isRaftError(error) && error.code === RaftErrorCode.NotLeader) return;
        throw error;
      }
    }
  }

  /** Counts a tick for every unconfirmed read. */
  tickReads(): void {
    for (const read of this.reads.values()) if (read.index === undefined) read.ticksSinceAsked++;
  }

  /**
   * Applies a Ready's snapshot and committed entries; resolves the requests
   * they answer. Readies apply one after another in call order, also when
   * the host applies a later Ready while an earlier one is still applying
   * (several Readies in flight); after a failure the later ones apply nothing.
   */
  applyReady(ready: Ready, restore: (index: number) => Promise<void>): Promise<void> {
    const run = this.applyTail.then(() => (this.failure === undefined ? this.applyNow(ready, restore) : undefined));
    this.applyTail = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `task` after every applyReady called so far and before any later
   * one: what it reads of `applied` and `confState` matches the state
   * machine (a local snapshot must not include entries a later Ready
   * applied meanwhile, several Readies in flight). Never rejects the chain.
   */
  betweenApplies<T>(task: () => Promise<T>): Promise<T> {
    const run = this.applyTail.then(task);
    this.applyTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async applyNow(ready: Ready, restore: (index: number) => Promise<void>): Promise<void> {
    if (ready.softState !== undefined) {
      const leaderChanged = ready.softState.leader !== this.leader;
      this.role = ready.softState.role;
      this.leader = ready.softState.leader;
      if (leaderChanged && this.leader !== 0) this.askAgainForUnconfirmedReads(0);
    }
    if (ready.snapshot !== undefined) {
      const { index, confState } = ready.snapshot.metadata;
      await this.exclusive(() => restore(index));
      this.applied = index;
      this.snapshotIndex = Math.max(this.snapshotIndex, index);
      this.confState = confState;
      this.failProposalsUpTo(index);
    }
    if (ready.committedEntries.length > 0) await this.applyEntries(ready.committedEntries);
    for (const readState of ready.readStates) this.onReadState(readState);
    this.releaseReads();
  }

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    let batch: CommittedCommand[] = [];
    for (const entry of entries) {
      if (entry.type === EntryType.ConfChange) {
        await this.applyCommands(batch);
        batch = [];
        this.confState = this.raft.applyConfChange(decodeConfChange(entry.data));
        this.confChangedSinceSnapshot = true;
        this.settle(entry, this.confState);
      } else if (entry.data.byteLength === 0) {
        this.settle(entry, undefined); // a new leader's empty entry: nothing to apply
      } else if (this.packing) {
        this.unpack(entry, batch);
      } else {
        batch.push({ index: entry.index, term: entry.term, data: entry.data });
      }
    }
    await this.applyCommands(batch);
    this.applied = entries[entries.length - 1]!.index;
  }

  /** A packed entry's commands, in position order, onto `batch`. */
  private unpack(entry: Entry, batch: CommittedCommand[]): void {
    let commands: Uint8Array[];
    try {
      commands = decodePack(entry.data, { groupId: this.groupId, index: entry.index });
    } catch (error) {
      this.failure = error instanceof HostError ? error : new HostError(HostErrorCode.StateMachineFailed, String(error));
      throw this.failure;
    }
    const proposed = this.proposals.commandsAt(entry.index, entry.term);
    if (proposed !== undefined && proposed !== commands.length) {
      this.failure = new HostError(
        HostErrorCode.StateMachineFailed,
        `group ${this.groupId}: entry ${entry.index} holds ${commands.length} commands, ${proposed} were proposed in it`,
      );
      throw this.failure;
    }
    for (let position = 0; position < commands.length; position++) {
      batch.push({ index: entry.index, term: entry.term, data: commands[position]!, position });
    }
  }

  private async applyCommands(commands: CommittedCommand[]): Promise<void> {
    if (commands.length === 0) return;
    let results: readonly Uint8Array[];
    try {
      results = await this.exclusive(() => this.stateMachine.apply(commands));
    } catch (error) {
      this.failure = new HostError(
        HostErrorCode.StateMachineFailed,
        `group ${this.groupId}: state machine failed applying [${commands[0]!.index}, ` +
          `${commands[commands.length - 1]!.index}]: ${String(error)}`,
        { cause: error },
      );
      throw this.failure;
    }
    if (results.length !== commands.length) {
      this.failure = new HostError(
        HostErrorCode.StateMachineFailed,
        `group ${this.groupId}: state machine returned ${results.length} results for ${commands.length} commands`,
      );
      throw this.failure;
    }
    // An entry's commands are consecutive from position 0: settle each entry once, at its first.
    for (let i = 0; i < commands.length; i++) {
      const command = commands[i]!;
      if ((command.position ?? 0) !== 0) continue;
      this.proposals.settle(command.index, command.term, (position) => results[i + position], this.leader);
    }
  }

  /** Resolves or rejects the proposals waiting at this entry's index, if any. */
  private settle(entry: { index: number; term: number }, result: unknown): void {
    this.proposals.settle(entry.index, entry.term, () => result, this.leader);
  }

  private failProposalsUpTo(index: number): void {
    this.proposals.failUpTo(index);
  }

  private onReadState(readState: ReadState): void {
    const key = contextKeyOf(readState.context);
    const read = this.reads.get(key);
    // Timed out meanwhile, or confirmed already (a read asked again gets two answers).
    if (read === undefined || read.index !== undefined) return;
    read.index = readState.index;
    this.readsAwaitingApply.push(read);
  }

  private releaseReads(): void {
    if (this.readsAwaitingApply.length === 0) return;
    const waiting: PendingRead[] = [];
    for (const read of this.readsAwaitingApply) {
      if (read.index! <= this.applied) {
        this.reads.delete(contextKeyOf(read.context));
        read.resolve();
      } else {
        waiting.push(read);
      }
    }
    this.readsAwaitingApply = waiting;
  }

  /** Fails every request whose deadline has passed. */
  expire(now: number): void {
    this.proposals.expire(now);
    this.expirePack(now);
    for (const [key, read] of this.reads) {
      if (read.deadline > now) continue;
      this.reads.delete(key);
      read.reject(new HostError(HostErrorCode.DeadlineExceeded, `group ${this.groupId}: read not confirmed in time`));
    }
    this.readsAwaitingApply = this.readsAwaitingApply.filter((read) => read.deadline > now);
  }

  /** Commands of the pack being gathered whose deadline passed leave it (never proposed). */
  private expirePack(now: number): void {
    if (!this.packWaiters.some((waiter) => waiter.deadline <= now)) return;
    const commands: Uint8Array[] = [];
    const waiters: Waiter<unknown>[] = [];
    for (let i = 0; i < this.packWaiters.length; i++) {
      const waiter = this.packWaiters[i]!;
      if (waiter.deadline > now) {
        commands.push(this.packCommands[i]!);
        waiters.push(waiter);
        continue;
      }
      this.packBytes -= packedSize(this.packCommands[i]!.byteLength);
      waiter.reject(new HostError(HostErrorCode.DeadlineExceeded, `group ${this.groupId}: command not proposed before the deadline`));
    }
    this.packCommands = commands;
    this.packWaiters = waiters;
  }

  /** Takes no more requests or applies; fails everything waiting with `reason`. */
  stop(reason: HostError): void {
    this.failure = reason;
    this.failAll(reason);
  }

  /** Fails everything waiting (the host is stopping or the group is removed). */
  failAll(error: HostError): void {
    const packWaiters = this.packWaiters;
    this.packCommands = [];
    this.packWaiters = [];
    this.packBytes = 0;
    for (const waiter of packWaiters) waiter.reject(error);
    this.proposals.failAll(error);
    for (const read of this.reads.values()) read.reject(error);
    this.reads.clear();
    this.readsAwaitingApply = [];
  }
}

export function contextKeyOf(context: Uint8Array): string {
  let key = "";
  for (let i = 0; i < context.length; i++) key += String.fromCharCode(context[i]!);
  return key;
}

/** Translates the raft core's refusals into the host's error codes. */
export function hostErrorFromRaft(error: unknown, groupId: number): unknown {
  if (isRaftError(error, RaftErrorCode.NotLeader)) {
    return new HostError(HostErrorCode.NotLeader, `group ${groupId}: ${error.message}`, {
      leaderHint: error.leaderHint,
    });
  }
  if (isRaftError(error, RaftErrorCode.ProposalDropped) || isRaftError(error, RaftErrorCode.ConfChangePending)) {
    return new HostError(HostErrorCode.ProposalDropped, `group ${groupId}: ${error.message}`, {
      leaderHint: error.leaderHint,
    });
  }
  if (isRaftError(error, RaftErrorCode.InvalidConfChange) || isRaftError(error, RaftErrorCode.InvalidTransferTarget)) {
    return new HostError(HostErrorCode.InvalidArgument, `group ${groupId}: ${error.message}`);
  }
  return error;
}
