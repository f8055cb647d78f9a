/**
 * A synchronous in-memory cluster for raft unit tests: every Ready is
 * persisted and applied at once, messages are delivered in FIFO order until
 * nothing moves, and a filter can drop messages to model partitions.
 * (The randomized fault-injecting simulator lives in test/sim.)
 */
import {
  createMemoryStorage,
  createRaftNode,
  createSeededRandom,
  decodeConfChange,
  EntryType,
} from "../../../framework/raft/index.js";
import type {
  ConfState,
  Entry,
  MemoryStorage,
  Message,
  NodeId,
  RaftConfig,
  RaftNode,
  ReadState,
} from "../../../framework/raft/index.js";

export interface HarnessNode {
  readonly id: NodeId;
  node: RaftNode;
  readonly storage: MemoryStorage;
  readonly applied: Entry[];
  readonly readStates: ReadState[];
  confState: ConfState;
}

export type MessageFilter = (message: Message) => boolean;

export interface HarnessOptions {
  readonly voters: NodeId[];
  readonly learners?: NodeId[];
  readonly seed?: number;
  readonly config?: Partial<RaftConfig>;
}

export class Cluster {
  readonly nodes = new Map<NodeId, HarnessNode>();
  /** Returns true to drop the message. */
  drop: MessageFilter = () => false;
  readonly sent: Message[] = [];
  private readonly inFlight: Message[] = [];
  private readonly random;
  /** Every replica's log starts from this configuration, also one added later. */
  private readonly initialConfState: ConfState;

  constructor(private readonly options: HarnessOptions) {
    this.random = createSeededRandom(options.seed ?? 1);
    this.initialConfState = {
      voters: options.voters,
      learners: options.learners ?? [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    };
    for (const id of [...options.voters, ...(options.learners ?? [])]) this.add(id);
  }

  /**
   * Adds a replica that starts from the group's initial configuration and
   * replays the log from its start (a joining replica must never replay
   * conf changes onto an empty configuration: it would count itself alone).
   */
  add(id: NodeId, confState: ConfState = this.initialConfState): HarnessNode {
    const storage = createMemoryStorage({ confState });
    const harnessNode: HarnessNode = {
      id,
      node: this.createNode(id, storage, 0),
      storage,
      applied: [],
      readStates: [],
      confState,
    };
    this.nodes.set(id, harnessNode);
    return harnessNode;
  }

  private createNode(id: NodeId, storage: MemoryStorage, applied: number): RaftNode {
    return createRaftNode({
      id,
      storage,
      random: this.random,
      electionTicks: 10,
      heartbeatTicks: 1,
      applied,
      ...this.options.config,
    });
  }

  /** Drops volatile state; everything in storage survives (it was persisted synchronously). */
  restart(id: NodeId): void {
    const harnessNode = this.get(id);
    const applied = harnessNode.storage.hardState().commit;
    harnessNode.node = this.createNode(id, harnessNode.storage, Math.max(applied, harnessNode.storage.firstIndex() - 1));
    // The harness's "state machine" is the applied list; replay keeps it equal.
    harnessNode.applied.length = 0;
    for (const entry of harnessNode.storage.entries(harnessNode.storage.firstIndex(), applied + 1, Infinity)) {
      if (applied >= harnessNode.storage.firstIndex()) harnessNode.applied.push(entry);
    }
  }

  get(id: NodeId): HarnessNode {
    const harnessNode = this.nodes.get(id);
    if (harnessNode === undefined) throw new Error(`no node ${id}`);
    return harnessNode;
  }

  leader(): HarnessNode | undefined {
    const leaders = [...this.nodes.values()].filter((n) => n.node.status().role === "leader");
    let best: HarnessNode | undefined;
    for (const candidate of leaders) {
      if (best === undefined || candidate.node.status().term > best.node.status().term) best = candidate;
    }
    return best;
  }

  /** Processes every Ready and delivers messages until the cluster is quiet. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      if (!this.round()) return;
    }
    throw new Error(`cluster did not stabilize within ${maxRounds} rounds`);
  }

  /** One hop: every node handles its Ready, then the messages in flight are delivered. */
  round(): boolean {
    let moved = false;
    for (const harnessNode of this.nodes.values()) {
      if (harnessNode.node.hasReady()) {
        this.handleReady(harnessNode);
        moved = true;
      }
    }
    if (this.inFlight.length > 0) {
      moved = true;
      const batch = this.inFlight.splice(0);
      for (const message of batch) this.deliver(message);
    }
    return moved;
  }

  private deliver(message: Message): void {
    this.sent.push(message);
    if (this.drop(message)) return;
    const target = this.nodes.get(message.to);
    if (target !== undefined) target.node.step(message);
  }

  private handleReady(harnessNode: HarnessNode): void {
    const ready = harnessNode.node.ready();
    this.inFlight.push(...ready.messages);
    if (ready.snapshot !== undefined) {
      harnessNode.storage.applySnapshot(ready.snapshot);
      harnessNode.applied.length = 0;
      harnessNode.confState = ready.snapshot.metadata.confState;
    }
    harnessNode.storage.append(ready.entries);
    if (ready.hardState !== undefined) harnessNode.storage.setHardState(ready.hardState);
    this.inFlight.push(...ready.messagesAfterPersist);
    for (const entry of ready.committedEntries) {
      harnessNode.applied.push(entry);
      if (entry.type === EntryType.ConfChange) {
        harnessNode.confState = harnessNode.node.applyConfChange(decodeConfChange(entry.data));
      }
    }
    harnessNode.readStates.push(...ready.readStates);
    harnessNode.node.advance(ready);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.get(id).node.tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const harnessNode of this.nodes.values()) harnessNode.node.tick();
      this.stabilize();
    }
  }

  /** Elects `id` by ticking it past its election timeout. */
  elect(id: NodeId): void {
    this.get(id).node.campaign();
    this.stabilize();
  }

  /** Applied payloads of a node as strings (normal, non-empty entries only). */
  appliedData(id: NodeId): string[] {
    return this.get(id)
      .applied.filter((entry) => entry.type === EntryType.Normal && entry.data.length > 0)
      .map((entry) => new TextDecoder().decode(entry.data));
  }
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
