/**
 * The cluster manager's node-to-node calls (framework/server PeerCalls) over
 * the simulated network: a call reaches the target node's real
 * ClusterAgentService / NodeService implementation after a network delay,
 * its answer comes back the same way. Either leg may be lost (message loss,
 * a partition, a link cut while in flight, the target down), in which case
 * the caller's deadline answers DEADLINE_EXCEEDED, as over HTTP/2. A call
 * made by a node incarnation that has crashed never settles: the process
 * that waited for it is gone.
 */
import type { DescMethod, DescService, MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import type { CallOptions, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import {
  AgentHeartbeatRequestSchema,
  AgentHeartbeatResponseSchema,
  ChangeMembershipRequestSchema,
  ChangeMembershipResponseSchema,
  ClusterAgentService,
  ObserveRequestSchema,
  ObserveResponseSchema,
  StartReplicaRequestSchema,
  StartReplicaResponseSchema,
  StopReplicaRequestSchema,
  StopReplicaResponseSchema,
} from "../../../gen/raftkit/v1/cluster_agent_pb.js";
import {
  NodeService,
  TransferLeadershipRequestSchema,
  TransferLeadershipResponseSchema,
} from "../../../gen/raftkit/v1/node_pb.js";
import type { NodeId, RandomSource } from "../../../framework/raft/index.js";
import type { PeerCallClient, PeerCalls } from "../../../framework/server/peer-clients.js";
import type { SimulatedNetwork } from "../network.js";
import type { Scheduler } from "../host/scheduler.js";

/** What a running node serves to the others. */
export interface SimServices {
  readonly incarnation: number;
  readonly agent: ServiceImpl<typeof ClusterAgentService>;
  readonly node: Pick<ServiceImpl<typeof NodeService>, "transferLeadership">;
}

export interface SimCallEnvironment {
  readonly scheduler: Scheduler;
  readonly network: SimulatedNetwork;
  readonly random: RandomSource;
  readonly tickMs: number;
  /** The services of the node's running incarnation, if it is up. */
  services(nodeId: NodeId): SimServices | undefined;
  count(what: "callsSent" | "callsLost" | "callsTimedOut"): void;
}

/** "n<id>:7000": the address a simulated node registers with. */
export function simAddress(nodeId: NodeId): string {
  return `n${nodeId}:7000`;
}

export function nodeIdOfAddress(address: string): NodeId {
  const match = /^n(\d+):7000$/.exec(address);
  if (match === null) throw new RangeError(`address "${address}", allowed n<id>:7000`);
  return Number(match[1]);
}

/** Default deadline when a caller passes none (every call here passes one). */
const defaultTimeoutMs = 5_000;

/** The handler's context; the call's headers (the controller's fence) reach it as over HTTP. */
function handlerContext(
  service: DescService,
  method: DescMethod,
  to: NodeId,
  options: CallOptions | undefined,
): HandlerContext {
  return createHandlerContext({
    service,
    method,
    protocolName: "sim",
    requestMethod: "POST",
    url: `sim://${simAddress(to)}/${service.typeName}/${method.name}`,
    requestHeader: options?.headers,
  });
}

/** Calls made by one incarnation of `from`; `alive` says whether it still runs. */
export function createSimPeerCalls(
  env: SimCallEnvironment,
  from: NodeId,
  alive: () => boolean,
): PeerCalls {
  const call = <Response>(
    to: NodeId,
    options: CallOptions | undefined,
    invoke: (services: SimServices) => Promise<Response>,
  ): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      env.count("callsSent");
      let settled = false;
      const finish = (run: () => void): void => {
        if (settled || !alive()) return;
        settled = true;
        run();
      };
      const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
      env.scheduler.after(timeoutMs, () => finish(() => {
        env.count("callsTimedOut");
        reject(new ConnectError(`call to n${to}: deadline exceeded`, Code.DeadlineExceeded));
      }));
      const answer = (run: () => void): void => {
        travel(env, to, from, () => finish(run));
      };
      travel(env, from, to, () => {
        const target = env.services(to);
        if (target === undefined) return; // nobody listens: the deadline answers
        invoke(target).then(
          (response) => answer(() => resolve(response)),
          (error: unknown) => answer(() => reject(ConnectError.from(error))),
        );
      });
    });
  const agent = ClusterAgentService.method;
  const context = (
    method: DescMethod,
    to: NodeId,
    options: CallOptions | undefined,
  ): HandlerContext => handlerContext(ClusterAgentService, method, to, options);
  const of = (address: string): PeerCallClient => {
    const to = nodeIdOfAddress(address);
    return {
      agent: {
        heartbeat: (init, options) => call(to, options, async (s) => create(
          AgentHeartbeatResponseSchema,
          await s.agent.heartbeat(
            create(AgentHeartbeatRequestSchema, init), context(agent.heartbeat, to, options)),
        )),
        observe: (init, options) => call(to, options, async (s) => create(
          ObserveResponseSchema,
          await s.agent.observe(
            create(ObserveRequestSchema, init), context(agent.observe, to, options)),
        )),
        startReplica: (init, options) => call(to, options, async (s) => create(
          StartReplicaResponseSchema,
          await s.agent.startReplica(
            create(StartReplicaRequestSchema, init), context(agent.startReplica, to, options)),
        )),
        changeMembership: (init, options) => call(to, options, async (s) => create(
          ChangeMembershipResponseSchema,
          await s.agent.changeMembership(
            create(ChangeMembershipRequestSchema, init),
            context(agent.changeMembership, to, options)),
        )),
        stopReplica: (init, options) => call(to, options, async (s) => create(
          StopReplicaResponseSchema,
          await s.agent.stopReplica(
            create(StopReplicaRequestSchema, init), context(agent.stopReplica, to, options)),
        )),
      },
      node: {
        transferLeadership: (init: MessageInitShape<typeof TransferLeadershipRequestSchema>,
          options?: CallOptions) => call(to, options, async (s) => create(
          TransferLeadershipResponseSchema,
          await s.node.transferLeadership(
            create(TransferLeadershipRequestSchema, init),
            handlerContext(NodeService, NodeService.method.transferLeadership, to, options)),
        )),
      },
    };
  };
  return { of };
}

/** One leg of a call: delivered after a network delay, or lost. A node calling itself skips the network. */
function travel(env: SimCallEnvironment, from: NodeId, to: NodeId, deliver: () => void): void {
  if (from === to) {
    env.scheduler.after(0, deliver);
    return;
  }
  const decision = env.network.decide(from, to);
  if (decision.kind === "dropped") {
    env.count("callsLost");
    return;
  }
  const ticks = decision.delays[0] ?? 0;
  const delay = ticks * env.tickMs + env.random.nextInt(env.tickMs);
  env.scheduler.after(delay, () => {
    if (env.network.isCut(from, to)) {
      env.count("callsLost");
      return;
    }
    deliver();
  }, `rpc ${from}>${to}`);
}
