/** Drives one RaftNode by hand for paper tests: step messages in, read a Ready out. */
import {
  createMemoryStorage,
  createRaftNode,
  createSeededRandom,
  EntryType,
} from "../../../framework/raft/index.js";
import type {
  Entry,
  MemoryStorage,
  Message,
  NodeId,
  RaftConfig,
  RaftNode,
  Ready,
} from "../../../framework/raft/index.js";
import { createMessage } from "../../../framework/raft/message.js";
import type { MessageFields } from "../../../framework/raft/message.js";

export const message = (fields: MessageFields): Message => createMessage(fields);

export const entry = (index: number, term: number, data = ""): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new TextEncoder().encode(data),
});

export interface DriverOptions {
  readonly id?: NodeId;
  readonly voters?: NodeId[];
  readonly learners?: NodeId[];
  readonly entries?: Entry[];
  readonly term?: number;
  readonly vote?: NodeId;
  readonly commit?: number;
  readonly seed?: number;
  readonly config?: Partial<RaftConfig>;
}

export interface Driver {
  readonly node: RaftNode;
  readonly storage: MemoryStorage;
  /** Persists and applies the pending Ready; returns it (advance done). */
  drain(): Ready;
  /** Every message of the pending Ready, both lists, in order. */
  messages(): Message[];
}

export function createDriver(options: DriverOptions = {}): Driver {
  const id = options.id ?? 1;
  const storage = createMemoryStorage({
    confState: {
      voters: options.voters ?? [1, 2, 3],
      learners: options.learners ?? [],
      votersOutgoing: [],
      learnersNext: [],
      autoLeave: false,
    },
    hardState: { term: options.term ?? 0, vote: options.vote ?? 0, commit: options.commit ?? 0 },
  });
  storage.append(options.entries ?? []);
  const node = createRaftNode({
    id,
    storage,
    random: createSeededRandom(options.seed ?? 1),
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: false,
    checkQuorum: false,
    ...options.config,
  });
  const drain = (): Ready => {
    const ready = node.ready();
    if (ready.snapshot !== undefined) storage.applySnapshot(ready.snapshot);
    storage.append(ready.entries);
    if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
    node.advance(ready);
    return ready;
  };
  return {
    node,
    storage,
    drain,
    messages(): Message[] {
      if (!node.hasReady()) return [];
      const ready = drain();
      return [...ready.messages, ...ready.messagesAfterPersist];
    },
  };
}

/** Makes the driven node (id 1 of voters 1..n) leader of term 1 with all votes. */
export function electLeader(driver: Driver, voters: NodeId[] = [1, 2, 3]): void {
  driver.node.campaign();
  const term = driver.node.status().term;
  for (const voter of voters) {
    if (voter === driver.node.id) continue;
    driver.node.step(message({ type: 4 /* RequestVoteResponse */, to: driver.node.id, from: voter, term }));
  }
  driver.messages();
}
