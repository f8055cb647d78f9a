import { join } from "node:path";
import { createStaticClusterManager, createUniformStaticTable } from "../../../framework/cluster/index.js";
import type { NodeConfig, NodeExtras, RunningNode, StateMachineTypes } from "../../../framework/server/index.js";
import { builtinStateMachineTypes, startNode } from "../../../framework/server/index.js";
import type { Logger } from "../../../framework/transport/index.js";
import { createSystemClock } from "../../../framework/transport/index.js";
import { createNodeFileSystem } from "../engine/index.js";
import { toBinary } from "@bufbuild/protobuf";
import { EventStoreService, InsertResponseSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import { eventStoreStateMachineType } from "../service/descriptors.js";
import { createEventStoreMachine } from "../service/event-store-machine.js";
import { createInsertBuffer } from "../service/insert-buffer.js";
import type { InsertBuffer } from "../service/insert-buffer.js";
import { createEventStoreNodeHandlers, forwardedHeader } from "./event-store-node-service.js";
import type { BinaryInsertHandler } from "./event-store-node-service.js";
import { earlyInsertRefusal, insertPath, insertServerMethod, parseInsertRequestWire } from "./insert-route.js";
import { createStreamPartitions } from "./stream-directory.js";
import type { LatencyTrace } from "./latency-trace.js";

/**
 * A flush of ~16k events took 0.5-1 s of wall time to apply in one pass on a
 * loaded 2-core box (issue #8, overload): the node's timers and sockets
 * waited, and its groups were re-elected. 2048 rows are a few ms of CPU.
 */
const yieldNow = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));
const applySlices = { rows: 2048, yieldNow };

/** Room kept in a proposal for the envelope around the merged Insert. */
const ENVELOPE_ROOM_BYTES = 64 * 1024;

export interface EventStoreNode {
  readonly node: RunningNode;
  readonly buffer: InsertBuffer;
  /**
   * Cumulative counters for a benchmark's diagnostics (process-diagnostics.ts): Insert calls served by
   * this node's binary route (and how many of them another node forwarded), the buffer's proposals, and
   * per group its commit index and whether this node leads it.
   */
  counters(): Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/**
 * A raftkit node serving the event store: its groups (config.groups) run
 * the "eventstore" state machine with data under <data>/eventstore/p<id>,
 * and the node's port also serves eventstore.v1.EventStoreService with the
 * leader-side insert buffer. Uses only the framework's public API
 * (startNode extras, NodeHost.propose/query/isLeader/status).
 */
export async function startEventStoreNode(config: NodeConfig, logger: Logger,
  extras: Pick<NodeExtras, "fallback"> = {}, trace?: LatencyTrace): Promise<EventStoreNode> {
  const fileSystem = createNodeFileSystem();
  const types: StateMachineTypes = new Map([
    ...builtinStateMachineTypes,
    [eventStoreStateMachineType, (groupId: number) => {
      const { machine } = createEventStoreMachine({
        partitionId: groupId, fileSystem,
        directory: join(config.dataDirectory, "eventstore", `p${groupId}`),
        applySlices,
      });
      return trace === undefined ? machine : trace.traced(groupId, machine);
    }],
  ]);
  const nodes = new Map<number, string>([[config.nodeId, `${config.listenHost}:${config.listenPort}`], ...config.peers]);
  const partitionOf = createStreamPartitions(createStaticClusterManager(createUniformStaticTable({
    nodes, partitionIds: config.groups, stateMachineType: eventStoreStateMachineType,
  })));
  const addressOf = (nodeId: number): string | undefined => {
    const address = config.peers.get(nodeId);
    return address === undefined ? undefined : `http://${address}`;
  };
  const maxProposalBytes = config.host.maxProposalBytes ?? 1 << 20;
  let buffer: InsertBuffer | undefined;
  let binaryInsert: BinaryInsertHandler | undefined;
  let insertCalls = 0;
  let forwardedCalls = 0;
  const served = (forwarded: boolean): BinaryInsertHandler => {
    if (binaryInsert === undefined) throw new Error("event store: binary Insert route called before the service");
    insertCalls += 1;
    if (forwarded) forwardedCalls += 1;
    return binaryInsert;
  };
  const readMaxBytes = maxProposalBytes + ENVELOPE_ROOM_BYTES;
  const node = await startNode(config, logger, types, {
    ...extras,
    // Insert's binary forms: events decoded by hand into Float64Arrays (insert-route.ts); JSON: the service below.
    // Its Connect proto, gRPC and gRPC-Web forms without connect's per-call machinery.
    binaryRoutes: [{
      path: insertPath,
      // The caller's deadline (connect-timeout-ms / grpc-timeout) on performance.now()'s clock, the buffer's:
      // the buffer refuses (Overloaded, nothing stored) what it cannot apply before it.
      routes: (router) => router.rpc(insertServerMethod, (request, context) => {
        const left = context.timeoutMs();
        const forwarded = context.requestHeader.has(forwardedHeader);
        return served(forwarded)(request, forwarded,
          left === undefined ? undefined : performance.now() + left);
      }, { readMaxBytes }),
      unary: {
        readMaxBytes,
        handler: () => async (body, call) => {
          const forwarded = call.headers[forwardedHeader] !== undefined;
          const response = await served(forwarded)(parseInsertRequestWire(body), forwarded, call.deadlineMs);
          return toBinary(InsertResponseSchema, response);
        },
        // A refusal decided from the headers alone (stream named in a header, deadline): the body is not read.
        refuseEarly: () => (call) => buffer === undefined ? undefined : earlyInsertRefusal(buffer, call),
        // The events are copied out of the body as they are decoded (into the stream's column memory or
        // fresh arrays, strings decoded), and a forward copies the bytes it sends on: no view of the body
        // outlives the call, so bodies of several chunks are joined into reused memory (fewer scavenges).
        reuseBodies: true,
      },
    }],
    services: (router, host) => {
      buffer = createInsertBuffer({
        clock: createSystemClock(),
        maxProposalBytes: Math.max(4096, maxProposalBytes - ENVELOPE_ROOM_BYTES),
        // No 5 ms wait for an idle stream: under load a proposal is in flight and inserts batch behind it.
        // The idle flush at the next check phase, not a 0 ms timer (node makes that 1 ms).
        flushWhenIdle: true,
        nextTurn: (callback) => {
          const immediate = setImmediate(callback);
          return { cancel: () => clearImmediate(immediate) };
        },
        target: {
          // timeoutMs: the latest deadline of the proposal's sync inserts (the host's default without one).
          propose: async (groupId, command, timeoutMs) => {
            const result = await host.propose(groupId, command, timeoutMs === undefined ? {} : { timeoutMs });
            if (!(result instanceof Uint8Array)) throw new Error(`group ${groupId}: result is not bytes`);
            return result;
          },
          leadership: (groupId) => {
            if (host.isLeader(groupId)) return { leader: true, leaderHint: host.nodeId };
            return { leader: false, leaderHint: host.groupIds().includes(groupId) ? host.status(groupId).leader : 0 };
          },
        },
      });
      const handlers = createEventStoreNodeHandlers({
        host, buffer, partitionOf, addressOf, partitionIds: config.groups, yieldNow, trace,
      });
      binaryInsert = handlers.binaryInsert;
      router.service(EventStoreService, handlers.service, { readMaxBytes });
    },
  });
  const started = buffer!;
  return {
    node,
    buffer: started,
    counters: () => {
      const counted: Record<string, number> = {
        insertCalls, forwardedCalls, proposals: started.statistics().flushes,
      };
      for (const groupId of node.host.groupIds()) {
        const status = node.host.status(groupId);
        counted[`commit${groupId}`] = status.commit;
        counted[`leads${groupId}`] = node.host.isLeader(groupId) ? 1 : 0;
      }
      return counted;
    },
    stop: async () => {
      started.close();
      await node.stop();
    },
  };
}
