import type { NodeHost } from "../../../framework/host/index.js";
import { HostErrorCode, isHostError } from "../../../framework/host/index.js";
import type { NodeId, RandomSource } from "../../../framework/raft/index.js";
import type { HistoryRecorder } from "../history.js";
import {
  decodeReadResult,
  decodeWriteResult,
  encodeRead,
  encodeWrite,
} from "./register-machine.js";

/**
 * Clients of every group, each with at most one operation outstanding (one
 * "process" of the history). Writes go through NodeHost.propose, reads
 * through NodeHost.query (ReadIndex). Keys are named per group, so the
 * linearizability checker (which cuts the history per key) checks each
 * group on its own. An outcome is certain when the host says so: a result,
 * or a refusal before the entry entered the log (NotLeader, ProposalDropped,
 * Overloaded, a synchronous throw); a deadline or a crashed node makes the
 * write indeterminate.
 */
export interface ClientOptions {
  readonly perGroup: number;
  readonly keysPerGroup: number;
  readonly timeoutMs: number;
  /** Probability that an idle client starts an operation at a client tick. */
  readonly activity: number;
  readonly readRatio: number;
}

export interface ClientAccess {
  now(): number;
  random: RandomSource;
  /** The running host of a node that has the group started, if any. */
  host(
    nodeId: NodeId,
    groupId: number,
  ): { readonly host: NodeHost; readonly incarnation: number } | undefined;
  /** Nodes that host a replica of the group. */
  placements(groupId: number): readonly NodeId[];
  violation(message: string): void;
  trace(line: string): void;
}

export type ClientMode = "mixed" | "writes-only" | "final-reads" | "quiet";

export interface AckedWrite {
  readonly groupId: number;
  readonly requestId: string;
  readonly index: number;
  readonly term: number;
  /** Place of the command in its entry (packs). */
  readonly position: number;
}

export interface ClientStats {
  writesOk: number;
  writesFailed: number;
  writesIndeterminate: number;
  readsOk: number;
  readsFailed: number;
}

interface Pending {
  readonly kind: "write" | "read";
  readonly handle: number;
  readonly node: NodeId;
  readonly incarnation: number;
  readonly deadline: number;
  readonly requestId: string;
  readonly key: string;
}

interface Client {
  readonly id: number;
  readonly groupId: number;
  sequence: number;
  leaderHint: NodeId;
  pending: Pending | undefined;
  writesSince: number;
  /** Keys read in the final sweep. */
  finalReads: number;
}

export interface HostClients {
  onTick(access: ClientAccess, mode: ClientMode): void;
  /** The node crashed: what its clients waited for is now unknown. */
  onCrash(nodeId: NodeId, access: ClientAccess): void;
  resetWriteCounts(): void;
  everyClientWrote(): boolean;
  finalReadsDone(): boolean;
  idle(): boolean;
  acked(): readonly AckedWrite[];
  stats(): ClientStats;
}

export function createHostClients(
  groupIds: readonly number[],
  options: ClientOptions,
  history: HistoryRecorder,
): HostClients {
  const clients: Client[] = [];
  for (const groupId of groupIds) {
    for (let i = 0; i < options.perGroup; i++) {
      clients.push({
        id: clients.length + 1,
        groupId,
        sequence: 0,
        leaderHint: 0,
        pending: undefined,
        writesSince: 0,
        finalReads: 0,
      });
    }
  }
  const acked: AckedWrite[] = [];
  const stats: ClientStats = {
    writesOk: 0,
    writesFailed: 0,
    writesIndeterminate: 0,
    readsOk: 0,
    readsFailed: 0,
  };
  const keyOf = (client: Client, n: number): string => `g${client.groupId}/k${n}`;
  const ops: Operations = { options, history, stats, acked };

  return {
    onTick(access, mode) {
      for (const client of clients) {
        const pending = client.pending;
        if (pending !== undefined && access.now() >= pending.deadline) {
          giveUp(client, pending, ops, access, "deadline");
        }
        if (mode === "quiet" || client.pending !== undefined) continue;
        if (mode === "final-reads") {
          if (client.finalReads >= options.keysPerGroup) continue;
          startRead(client, keyOf(client, client.finalReads), true, ops, access);
          continue;
        }
        if (access.random.nextInt(1000) >= options.activity * 1000) continue;
        const key = keyOf(client, access.random.nextInt(options.keysPerGroup));
        const read = mode === "mixed" && access.random.nextInt(1000) < options.readRatio * 1000;
        if (read) startRead(client, key, false, ops, access);
        else startWrite(client, key, mode === "writes-only", ops, access);
      }
    },
    onCrash(nodeId, access) {
      for (const client of clients) {
        const pending = client.pending;
        if (pending?.node === nodeId) giveUp(client, pending, ops, access, "node crashed");
      }
    },
    resetWriteCounts() {
      for (const client of clients) client.writesSince = 0;
    },
    everyClientWrote: () => clients.every((client) => client.writesSince > 0),
    finalReadsDone: () => clients.every((client) => client.finalReads >= options.keysPerGroup),
    idle: () => clients.every((client) => client.pending === undefined),
    acked: () => acked,
    stats: () => ({ ...stats }),
  };
}

interface Operations {
  readonly options: ClientOptions;
  readonly history: HistoryRecorder;
  readonly stats: ClientStats;
  readonly acked: AckedWrite[];
}

function giveUp(
  client: Client,
  pending: Pending,
  ops: Operations,
  access: ClientAccess,
  why: string,
): void {
  ops.history.timeOut(pending.handle);
  if (pending.kind === "write") ops.stats.writesIndeterminate++;
  else ops.stats.readsFailed++;
  access.trace(`client ${client.id} gave up ${pending.kind} at ${pending.node}: ${why}`);
  client.pending = undefined;
  client.leaderHint = 0;
}

function chooseNode(client: Client, followHint: boolean, access: ClientAccess): NodeId {
  const placed = access.placements(client.groupId);
  if (client.leaderHint !== 0 && placed.includes(client.leaderHint)) {
    if (followHint || access.random.nextInt(10) < 8) return client.leaderHint;
  }
  return placed[access.random.nextInt(placed.length)]!;
}

/** Refusals that prove the command never entered the log. */
function isCertainRefusal(error: unknown): boolean {
  return (
    isHostError(error) &&
    (error.code === HostErrorCode.NotLeader ||
      error.code === HostErrorCode.ProposalDropped ||
      error.code === HostErrorCode.Overloaded ||
      error.code === HostErrorCode.GroupNotFound)
  );
}

function noteRefusal(client: Client, error: unknown, access: ClientAccess): void {
  if (!isHostError(error)) {
    access.violation(`client ${client.id}: host failed with a non-HostError: ${String(error)}`);
    return;
  }
  client.leaderHint = error.code === HostErrorCode.NotLeader ? error.leaderHint : 0;
  access.trace(`client ${client.id} refused: ${error.code}`);
}

function startWrite(
  client: Client,
  key: string,
  followHint: boolean,
  ops: Operations,
  access: ClientAccess,
): void {
  const nodeId = chooseNode(client, followHint, access);
  const requestId = `${client.id}.${++client.sequence}`;
  const value = `v${requestId}`;
  const handle = ops.history.invoke(client.id, access.now(), "write", key, value);
  access.trace(`client ${client.id} write ${key}=${value} at ${nodeId}`);
  const target = access.host(nodeId, client.groupId);
  if (target === undefined) {
    ops.history.fail(handle); // connection refused
    ops.stats.writesFailed++;
    client.leaderHint = 0;
    return;
  }
  let result: Promise<unknown>;
  try {
    result = target.host.propose(client.groupId, encodeWrite({ requestId, key, value }), {
      timeoutMs: ops.options.timeoutMs,
    });
  } catch (error) {
    ops.history.fail(handle);
    ops.stats.writesFailed++;
    noteRefusal(client, error, access);
    return;
  }
  const pending: Pending = {
    kind: "write",
    handle,
    node: nodeId,
    incarnation: target.incarnation,
    deadline: access.now() + ops.options.timeoutMs + 1,
    requestId,
    key,
  };
  client.pending = pending;
  result.then(
    (output) => onWriteResult(client, pending, output, ops, access),
    (error: unknown) => onWriteError(client, pending, error, ops, access),
  );
}

function onWriteResult(
  client: Client,
  pending: Pending,
  output: unknown,
  ops: Operations,
  access: ClientAccess,
): void {
  if (client.pending !== pending) return; // gave up already
  client.pending = undefined;
  const applied = decodeWriteResult(output);
  if (applied.requestId !== pending.requestId) {
    access.violation(
      `client ${client.id}: write ${pending.requestId} acknowledged with the result of ` +
        `${applied.requestId} (entry ${applied.index}/${applied.term})`,
    );
  }
  ops.history.complete(pending.handle, access.now());
  ops.acked.push({
    groupId: client.groupId,
    requestId: pending.requestId,
    index: applied.index,
    term: applied.term,
    position: applied.position,
  });
  ops.stats.writesOk++;
  client.writesSince++;
  client.leaderHint = pending.node;
  access.trace(`client ${client.id} write ok at ${applied.index}/${applied.term}`);
}

function onWriteError(
  client: Client,
  pending: Pending,
  error: unknown,
  ops: Operations,
  access: ClientAccess,
): void {
  if (client.pending !== pending) return;
  if (isCertainRefusal(error)) {
    client.pending = undefined;
    ops.history.fail(pending.handle);
    ops.stats.writesFailed++;
    noteRefusal(client, error, access);
    return;
  }
  if (!isHostError(error)) noteRefusal(client, error, access);
  giveUp(client, pending, ops, access, isHostError(error) ? error.code : String(error));
}

function startRead(
  client: Client,
  key: string,
  final: boolean,
  ops: Operations,
  access: ClientAccess,
): void {
  const nodeId = chooseNode(client, final, access);
  const handle = ops.history.invoke(client.id, access.now(), "read", key);
  access.trace(`client ${client.id} read ${key} at ${nodeId}`);
  const target = access.host(nodeId, client.groupId);
  if (target === undefined) {
    ops.history.fail(handle);
    ops.stats.readsFailed++;
    client.leaderHint = 0;
    return;
  }
  const pending: Pending = {
    kind: "read",
    handle,
    node: nodeId,
    incarnation: target.incarnation,
    deadline: access.now() + ops.options.timeoutMs + 1,
    requestId: "",
    key,
  };
  client.pending = pending;
  target.host.query(client.groupId, encodeRead(key), { timeoutMs: ops.options.timeoutMs }).then(
    (bytes) => {
      if (client.pending !== pending) return;
      client.pending = undefined;
      const value = decodeReadResult(bytes);
      ops.history.complete(handle, access.now(), value);
      ops.stats.readsOk++;
      if (final) client.finalReads++;
      access.trace(`client ${client.id} read ${key} -> ${value ?? "nil"}`);
    },
    (error: unknown) => {
      if (client.pending !== pending) return;
      client.pending = undefined;
      ops.history.fail(handle);
      ops.stats.readsFailed++;
      noteRefusal(client, error, access);
    },
  );
}
