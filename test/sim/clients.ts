import type { Entry, NodeId, RandomSource, ReadState } from "../../framework/raft/index.js";
import { RaftErrorCode, isRaftError } from "../../framework/raft/index.js";
import type { HistoryRecorder } from "./history.js";
import { encodeWrite } from "./kv-state-machine.js";
import type { WriteCommand } from "./kv-state-machine.js";
import type { SimNode } from "./sim-node.js";

/**
 * Concurrent clients, each with at most one operation outstanding (so each
 * is one "process" of the history). A write is proposed on some node; the
 * client learns its outcome when THAT node applies the entry at the proposal's
 * index: the same term means it took effect, another term means it certainly
 * did not. A read asks the node for a ReadIndex and is served from that node's
 * state machine once it has applied up to the returned index. A client that
 * hears nothing before its deadline gives up: the operation is indeterminate.
 */
export interface ClientOptions {
  readonly count: number;
  readonly keys: number;
  /** Ticks a client waits for an outcome before giving up. */
  readonly timeoutTicks: number;
  /** Probability that an idle client starts an operation in a tick. */
  readonly activity: number;
  readonly readRatio: number;
}

export interface ClusterAccess {
  now(): number;
  node(id: NodeId): SimNode | undefined;
  nodeIds(): readonly NodeId[];
  /** Runs the host loop of the node after a client call into its core. */
  afterInput(node: SimNode): void;
  /** A harness-level contradiction (e.g. a matched position applied someone else's write). */
  violation(message: string): void;
  trace(line: string): void;
}

interface PendingWrite {
  readonly kind: "write";
  readonly handle: number;
  readonly requestId: string;
  readonly node: NodeId;
  readonly incarnation: number;
  readonly index: number;
  readonly term: number;
  readonly deadline: number;
}

interface PendingRead {
  readonly kind: "read";
  readonly handle: number;
  readonly key: string;
  readonly context: string;
  readonly node: NodeId;
  readonly incarnation: number;
  readIndex: number | undefined;
  readonly deadline: number;
}

interface Client {
  readonly id: number;
  sequence: number;
  leaderHint: NodeId;
  pending: PendingWrite | PendingRead | undefined;
  /** Writes completed since the liveness phase began. */
  writesSince: number;
}

export type ClientMode = "mixed" | "writes-only" | "quiet";

/**
 * Where clients go during a targeted fault (stale-leader episode): pinned
 * clients keep reading from one node, as a client that trusts the leader it
 * knows; the others cannot reach the nodes in `avoid` and go elsewhere.
 * Applies in "mixed" mode only.
 */
export interface ClientSteering {
  /** Client id → the node it reads from. */
  readonly pinned: ReadonlyMap<number, NodeId>;
  readonly avoid: readonly NodeId[];
}

export interface ClientStats {
  writesOk: number;
  writesFailed: number;
  readsOk: number;
  readsFailed: number;
  timeouts: number;
}

export interface Clients {
  /**
   * One tick of client activity: time out late operations, start new ones.
   * "writes-only" (the liveness phase) issues only writes and always follows
   * a known leader hint, as a client that must get a write through would.
   */
  onTick(access: ClusterAccess, random: RandomSource, mode: ClientMode): void;
  onApplied(
    node: SimNode,
    entry: Entry,
    write: WriteCommand | undefined,
    access: ClusterAccess,
  ): void;
  onReadStates(node: SimNode, readStates: readonly ReadState[]): void;
  onAppliedBatch(node: SimNode, access: ClusterAccess): void;
  /** Steers new operations (targeted faults); undefined lets clients choose freely again. */
  steer(steering: ClientSteering | undefined): void;
  /** Starts counting writes for the liveness check. */
  resetWriteCounts(): void;
  everyClientWrote(): boolean;
  idle(): boolean;
  stats(): ClientStats;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function createClients(options: ClientOptions, history: HistoryRecorder): Clients {
  const clients: Client[] = Array.from({ length: options.count }, (_, index) => ({
    id: index + 1,
    sequence: 0,
    leaderHint: 0,
    pending: undefined,
    writesSince: 0,
  }));
  const writesByPosition = new Map<string, Client>();
  const readsByContext = new Map<string, Client>();
  const stats: ClientStats = {
    writesOk: 0,
    writesFailed: 0,
    readsOk: 0,
    readsFailed: 0,
    timeouts: 0,
  };
  const positionKey = (node: NodeId, index: number): string => `${node}@${index}`;
  let steering: ClientSteering | undefined;

  const clear = (client: Client): void => {
    const pending = client.pending;
    if (pending === undefined) return;
    if (pending.kind === "write") writesByPosition.delete(positionKey(pending.node, pending.index));
    else readsByContext.delete(pending.context);
    client.pending = undefined;
  };
  const chooseNode = (
    client: Client,
    access: ClusterAccess,
    random: RandomSource,
    mode: ClientMode,
  ): SimNode | undefined => {
    const ids = access.nodeIds();
    const followHint = mode === "writes-only" || random.nextInt(10) < 8;
    const hinted = client.leaderHint !== 0 && followHint ? client.leaderHint : 0;
    const chosen = hinted !== 0 ? hinted : ids[random.nextInt(ids.length)]!;
    const avoid = mode === "mixed" ? steering?.avoid : undefined;
    if (avoid === undefined || !avoid.includes(chosen)) return access.node(chosen);
    const reachable = ids.filter((id) => !avoid.includes(id));
    if (reachable.length === 0) return undefined;
    return access.node(reachable[random.nextInt(reachable.length)]!);
  };
  const noteRejection = (client: Client, error: unknown, access: ClusterAccess): void => {
    access.trace(
      `client ${client.id} rejected: ${isRaftError(error) ? error.code : String(error)}`,
    );
    if (isRaftError(error, RaftErrorCode.NotLeader)) client.leaderHint = error.leaderHint;
    else client.leaderHint = 0;
  };

  const startWrite = (
    client: Client,
    node: SimNode,
    access: ClusterAccess,
    random: RandomSource,
  ): void => {
    const now = access.now();
    const requestId = `${client.id}.${++client.sequence}`;
    const key = `k${random.nextInt(options.keys)}`;
    const handle = history.invoke(client.id, now, "write", key, `v${requestId}`);
    access.trace(`client ${client.id} write ${key}=v${requestId} at ${node.id}`);
    const raft = node.raft;
    if (raft === undefined) {
      history.fail(handle); // connection refused: nothing reached the node
      stats.writesFailed++;
      client.leaderHint = 0;
      return;
    }
    try {
      const position = raft.propose(encodeWrite({ requestId, key, value: `v${requestId}` }));
      client.pending = {
        kind: "write",
        handle,
        requestId,
        node: node.id,
        incarnation: node.incarnation,
        index: position.index,
        term: position.term,
        deadline: now + options.timeoutTicks,
      };
      writesByPosition.set(positionKey(node.id, position.index), client);
    } catch (error) {
      if (!isRaftError(error)) throw error;
      history.fail(handle);
      stats.writesFailed++;
      noteRejection(client, error, access);
    }
    access.afterInput(node);
  };

  const startRead = (
    client: Client,
    node: SimNode,
    access: ClusterAccess,
    random: RandomSource,
  ): void => {
    const now = access.now();
    const context = `${client.id}.${++client.sequence}`;
    const key = `k${random.nextInt(options.keys)}`;
    const handle = history.invoke(client.id, now, "read", key);
    access.trace(`client ${client.id} read ${key} at ${node.id}`);
    const raft = node.raft;
    if (raft === undefined) {
      history.fail(handle);
      stats.readsFailed++;
      client.leaderHint = 0;
      return;
    }
    try {
      raft.readIndex(encoder.encode(context));
      client.pending = {
        kind: "read",
        handle,
        key,
        context,
        node: node.id,
        incarnation: node.incarnation,
        readIndex: undefined,
        deadline: now + options.timeoutTicks,
      };
      readsByContext.set(context, client);
    } catch (error) {
      if (!isRaftError(error)) throw error;
      history.fail(handle);
      stats.readsFailed++;
      noteRejection(client, error, access);
    }
    access.afterInput(node);
  };

  const serveReads = (node: SimNode, access: ClusterAccess): void => {
    const machine = node.machine;
    if (machine === undefined) return;
    for (const client of readsByContext.values()) {
      const pending = client.pending;
      if (
        pending?.kind !== "read" ||
        pending.node !== node.id ||
        pending.incarnation !== node.incarnation
      )
        continue;
      if (pending.readIndex === undefined || machine.applied < pending.readIndex) continue;
      history.complete(pending.handle, access.now(), machine.get(pending.key));
      access.trace(
        `client ${client.id} read ${pending.key} -> ${machine.get(pending.key)} ` +
          `at index ${pending.readIndex}`,
      );
      stats.readsOk++;
      clear(client);
    }
  };

  return {
    onTick(access, random, mode) {
      const now = access.now();
      for (const client of clients) {
        if (client.pending !== undefined && now >= client.pending.deadline) {
          history.timeOut(client.pending.handle);
          access.trace(
            `client ${client.id} gave up on ${client.pending.kind} at ${client.pending.node}`,
          );
          stats.timeouts++;
          clear(client);
          client.leaderHint = 0;
        }
        if (mode === "quiet" || client.pending !== undefined) continue;
        if (random.nextInt(1000) >= options.activity * 1000) continue;
        const pinnedTo = mode === "mixed" ? steering?.pinned.get(client.id) : undefined;
        if (pinnedTo !== undefined) {
          const pinnedNode = access.node(pinnedTo);
          if (pinnedNode !== undefined) startRead(client, pinnedNode, access, random);
          continue;
        }
        const node = chooseNode(client, access, random, mode);
        if (node === undefined) continue;
        const read = mode === "mixed" && random.nextInt(1000) < options.readRatio * 1000;
        if (read) startRead(client, node, access, random);
        else startWrite(client, node, access, random);
      }
    },
    onApplied(node, entry, write, access) {
      const client = writesByPosition.get(positionKey(node.id, entry.index));
      const pending = client?.pending;
      if (
        client === undefined ||
        pending?.kind !== "write" ||
        pending.incarnation !== node.incarnation
      )
        return;
      if (entry.term === pending.term) {
        if (write?.requestId !== pending.requestId) {
          access.violation(
            `client ${client.id}: entry ${entry.index} term ${entry.term} ` +
              `was proposed for request ` +
              `${pending.requestId} but carries ${write?.requestId ?? "no write"}`,
          );
        }
        history.complete(pending.handle, access.now());
        access.trace(`client ${client.id} write ok at ${entry.index}/${entry.term}`);
        stats.writesOk++;
        client.writesSince++;
        client.leaderHint = node.id;
      } else {
        // Another entry is committed at that index: ours never will be.
        history.fail(pending.handle);
        access.trace(
          `client ${client.id} write failed: ${entry.index}/${entry.term} is not ${pending.term}`,
        );
        stats.writesFailed++;
      }
      clear(client);
    },
    onReadStates(node, readStates) {
      for (const readState of readStates) {
        const client = readsByContext.get(decoder.decode(readState.context));
        const pending = client?.pending;
        if (
          pending?.kind !== "read" ||
          pending.node !== node.id ||
          pending.incarnation !== node.incarnation
        )
          continue;
        pending.readIndex = readState.index;
      }
    },
    onAppliedBatch: serveReads,
    steer(next) {
      steering = next;
    },
    resetWriteCounts() {
      for (const client of clients) client.writesSince = 0;
    },
    everyClientWrote: () => clients.every((client) => client.writesSince > 0),
    idle: () => clients.every((client) => client.pending === undefined),
    stats: () => ({ ...stats }),
  };
}
