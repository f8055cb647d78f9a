/**
 * The client of a raftkit cluster: generated clients call `command` and
 * `query` with an executable message's descriptor. It routes to the
 * partition's leader, retries under a deadline, and makes command retries
 * exactly-once with one session per partition.
 */
import {
  buildCommand,
  buildQuery,
  createClientSession,
  isStateMachineError,
  readCommandResult,
  readQueryResult,
  StateMachineErrorCode,
} from "../statemachine/index.js";
import type { ClientSession, ExecutableMessage } from "../statemachine/index.js";
import { ExecuteKind, ReadConsistency } from "../../gen/raftkit/v1/gateway_pb.js";
import type { CallOptions, QueryCallOptions, RaftkitClientOptions, ReadConsistencyName, ResolvedClientOptions } from "./client-options.js";
import { normaliseNodeUrl, resolveClientOptions } from "./client-options.js";
import { ClientError, ClientErrorCode } from "./errors.js";
import type { NodeChannel } from "./node-channel.js";
import { openNodeChannel } from "./node-channel.js";
import { resolvePartition } from "./partition-routing.js";
import { executeWithRetries } from "./retry-loop.js";
import type { RetryRouting, RetryTarget } from "./retry-loop.js";

export interface RaftkitClient {
  /** Runs a command on the partition's leader, exactly once even when retried. */
  command<Req, Res>(m: ExecutableMessage<Req, Res>, partition: number | string, request: Req, options?: CallOptions): Promise<Res>;
  /** Runs a query; linearizable unless `consistency` says otherwise. */
  query<Req, Res>(m: ExecutableMessage<Req, Res>, partition: number | string, request: Req, options?: QueryCallOptions): Promise<Res>;
  /** Closes every connection; calls in progress fail with Closed. */
  close(): Promise<void>;
}

const consistencies: Record<ReadConsistencyName, ReadConsistency> = {
  linearizable: ReadConsistency.LINEARIZABLE_UNSPECIFIED,
  lease: ReadConsistency.LEASE,
  stale: ReadConsistency.STALE,
};

export function createRaftkitClient(options: RaftkitClientOptions): RaftkitClient {
  const resolved = resolveClientOptions(options);
  const state = createRoutingState(resolved);
  const sessions = new Map<number, ClientSession>();
  const sessionOf = (partition: number): ClientSession => {
    let session = sessions.get(partition);
    if (session === undefined) sessions.set(partition, (session = createClientSession(resolved.random)));
    return session;
  };
  return {
    async command(m, partition, request, callOptions = {}) {
      const partitionId = await resolvePartition(resolved, m, partition);
      const session = sessionOf(partitionId);
      const stamp = session.nextStamp();
      try {
        const payload = buildOrThrow(() => buildCommand(m, request, stamp, limitsOf(resolved)), m.typeName, partitionId);
        const target = targetOf(resolved, m.typeName, partitionId, ExecuteKind.COMMAND, payload, callOptions);
        const result = await executeWithRetries(state, target);
        return readOrThrow(() => readCommandResult(m, result), m.typeName, partitionId);
      } catch (error) {
        // An expired session cannot take new commands: the next one opens a fresh session.
        if (isClientError(error) && error.context.executionCode === StateMachineErrorCode.SessionExpired) sessions.delete(partitionId);
        throw error;
      } finally {
        // Final either way: this sequence is never sent again, the machine may drop its result.
        session.onDone(stamp.sequence);
      }
    },
    async query(m, partition, request, callOptions = {}) {
      const partitionId = await resolvePartition(resolved, m, partition);
      const payload = buildOrThrow(() => buildQuery(m, request, limitsOf(resolved)), m.typeName, partitionId);
      const consistency = consistencies[callOptions.consistency ?? "linearizable"];
      if (consistency === undefined) {
        throw new ClientError(ClientErrorCode.InvalidArgument, `consistency "${String(callOptions.consistency)}", allowed linearizable, lease, stale`);
      }
      const target = targetOf(resolved, m.typeName, partitionId, ExecuteKind.QUERY, payload, callOptions, consistency);
      const result = await executeWithRetries(state, target);
      return readOrThrow(() => readQueryResult(m, result), m.typeName, partitionId);
    },
    async close() {
      state.close();
    },
  };
}

function isClientError(error: unknown): error is ClientError {
  return error instanceof ClientError;
}

function limitsOf(options: ResolvedClientOptions): { maxPayloadBytes?: number } {
  return options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes };
}

function targetOf(
  options: ResolvedClientOptions,
  typeName: string,
  partition: number,
  kind: ExecuteKind,
  payload: Uint8Array,
  callOptions: QueryCallOptions,
  consistency = ReadConsistency.LINEARIZABLE_UNSPECIFIED,
): RetryTarget {
  const deadlineMs = callOptions.deadlineMs ?? options.defaultDeadlineMs;
  if (!(Number.isFinite(deadlineMs) && deadlineMs > 0)) {
    throw new ClientError(ClientErrorCode.InvalidArgument, `deadlineMs ${deadlineMs}, allowed a number > 0`, { partition, typeName });
  }
  return {
    partition,
    typeName,
    request: { groupId: BigInt(partition), kind, payload, consistency },
    needsLeader: consistency !== ReadConsistency.STALE,
    deadlineMs,
    signal: callOptions.signal,
  };
}

/** Building refuses the wrong kind or an oversized payload: the caller's mistake, never sent. */
function buildOrThrow(build: () => Uint8Array, typeName: string, partition: number): Uint8Array {
  try {
    return build();
  } catch (error) {
    const message = isStateMachineError(error) ? error.rawMessage : error instanceof Error ? error.message : String(error);
    throw new ClientError(ClientErrorCode.InvalidArgument, message, { partition, typeName }, { cause: error });
  }
}

/** The state machine's error result becomes a ClientError carrying its code. */
function readOrThrow<T>(read: () => T, typeName: string, partition: number): T {
  try {
    return read();
  } catch (error) {
    if (!isStateMachineError(error)) throw error;
    throw new ClientError(ClientErrorCode.StateMachine, error.rawMessage, { partition, typeName, executionCode: error.code }, { cause: error });
  }
}

/** Channels by node URL (opened on first use, one HTTP/2 connection each) and the leader cache. */
function createRoutingState(options: ResolvedClientOptions): RetryRouting & { close(): void } {
  const channels = new Map<string, NodeChannel>();
  const leaders = new Map<number, string>();
  let closed = false;
  return {
    options,
    channel(url) {
      let channel = channels.get(url);
      if (channel === undefined) channels.set(url, (channel = openNodeChannel(url, options.batching, options.clock.now)));
      return channel;
    },
    leader: (partition) => leaders.get(partition),
    setLeader(partition, url) {
      if (url === undefined) leaders.delete(partition);
      else leaders.set(partition, normaliseNodeUrl(url));
    },
    nextNode(url, partition) {
      const { nodes } = options;
      const at = url === undefined ? -1 : nodes.indexOf(url);
      // Unknown leader: partitions start at different nodes, spreading the first guesses.
      const next = at === -1 ? partition % nodes.length : (at + 1) % nodes.length;
      return nodes[next]!;
    },
    isClosed: () => closed,
    close() {
      closed = true;
      for (const channel of channels.values()) channel.close();
      channels.clear();
    },
  };
}
