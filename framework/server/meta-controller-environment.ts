/**
 * The controller's environment in a node process (issue #9), used on the
 * meta group's leader: the table is this replica's, node-state and
 * membership records are proposed to the local meta group, the data groups
 * are observed and changed through each node's ClusterAgentService.
 */
import { create } from "@bufbuild/protobuf";
import type { ObserveResponse } from "../../gen/raftkit/v1/cluster_agent_pb.js";
import {
  MembershipChangeKind,
  ObserveResponseSchema,
} from "../../gen/raftkit/v1/cluster_agent_pb.js";
import {
  SetNodeStateRequestSchema,
  UpdatePartitionRequestSchema,
} from "../../gen/raftkit/v1/cluster_pb.js";
import type {
  ControllerEnvironment,
  GroupObservation,
  MetaNode,
  MetaStateMachine,
  NodeState,
  RebalanceAction,
} from "../cluster/index.js";
import { SetNodeState, UpdatePartition, metaGroupId, nodeStateToWire } from "../cluster/index.js";
import type { NodeHost } from "../host/index.js";
import type { ExecutableMessage } from "../statemachine/index.js";
import { buildCommand, readCommandResult } from "../statemachine/index.js";
import type { Logger } from "../transport/index.js";
import { ledGroupOf } from "./cluster-agent-service.js";
import type { PeerClients } from "./peer-clients.js";

export interface MetaControllerEnvironment extends ControllerEnvironment {
  /**
   * Stops replicas left outside their group's configuration (a removal whose
   * stop call missed the node). Only partitions of the meta table are
   * looked at: groups started otherwise (a static --groups list) are not its business.
   */
  stopOrphans(): Promise<number>;
}

export interface MetaEnvironmentOptions {
  readonly host: NodeHost;
  readonly meta: MetaStateMachine;
  readonly peers: PeerClients;
  readonly callTimeoutMs: number;
  readonly logger: Logger;
}

/** Replicas stopped per round at most (bounded fan-out). */
const maxOrphansPerRound = 8;

const changeKinds = {
  add_learner: MembershipChangeKind.ADD_LEARNER,
  promote: MembershipChangeKind.PROMOTE,
  remove: MembershipChangeKind.REMOVE,
} as const;

/** Proposes a meta command on this node (the meta leader). */
export async function proposeMeta<Request, Response>(
  host: NodeHost,
  message: ExecutableMessage<Request, Response>,
  request: Request,
): Promise<Response> {
  const result = await host.propose(metaGroupId, buildCommand(message, request, undefined));
  if (!(result instanceof Uint8Array)) {
    throw new TypeError(`meta command ${message.typeName}: result is not bytes`);
  }
  return readCommandResult(message, result);
}

function observationOf(
  group: ObserveResponse["groups"][number],
  leader: number,
  replicationFactor: number,
): GroupObservation {
  return {
    partitionId: Number(group.partitionId),
    replicationFactor,
    leader,
    voters: group.voters.map(Number),
    learners: group.learners.map(Number),
    lag: new Map(group.lag.map((entry) => [Number(entry.nodeId), Number(entry.lag)])),
    recentlyActive: new Set(group.recentlyActive.map(Number)),
    changing: group.changing,
  };
}

export function createMetaControllerEnvironment(
  options: MetaEnvironmentOptions,
): MetaControllerEnvironment {
  const { host, meta, peers, callTimeoutMs, logger } = options;
  const table = meta.table;
  let observed = new Map<number, GroupObservation>();
  let hosted = new Map<number, readonly number[]>();
  /** "node/partition" of learners added since the last observation: not orphans. */
  const acted = new Set<string>();
  const nodeOf = (nodeId: number): MetaNode => {
    const node = table.nodes().find((candidate) => candidate.nodeId === nodeId);
    if (node === undefined) throw new RangeError(`node ${nodeId} is not registered`);
    return node;
  };
  const agentOf = (nodeId: number) => peers.of(nodeOf(nodeId).address).agent;
  const observeNode = async (node: MetaNode): Promise<ObserveResponse | undefined> => {
    if (node.nodeId === host.nodeId) {
      const ids = host.groupIds().filter((id) => id !== metaGroupId).sort((a, b) => a - b);
      const groups = ids.flatMap((id) => {
        const led = ledGroupOf(host, id);
        return led === undefined ? [] : [led];
      });
      return create(ObserveResponseSchema, { groups, hostedPartitionIds: ids.map(BigInt) });
    }
    try {
      return await peers.of(node.address).agent.observe({}, { timeoutMs: callTimeoutMs });
    } catch {
      return undefined; // unreachable: the detector judges it; nothing it leads is planned
    }
  };
  const environment: MetaControllerEnvironment = {
    nodes: () => table.nodes(),
    partitions: () => table.partitions(),
    async setNodeState(nodeId: number, state: NodeState) {
      const request = create(SetNodeStateRequestSchema, {
        nodeId: BigInt(nodeId),
        state: nodeStateToWire(state),
      });
      await proposeMeta(host, SetNodeState, request);
    },
    async observe() {
      const factors = new Map(table.partitions().map((p) => [p.partitionId, p.replicationFactor]));
      const reachable = table.nodes()
        .filter((node) => node.state !== "removed" && node.state !== "dead");
      const answers = await Promise.all(reachable.map(observeNode));
      const best = new Map<number, { observation: GroupObservation; term: bigint }>();
      const hostedNow = new Map<number, readonly number[]>();
      reachable.forEach((node, index) => {
        const answer = answers[index];
        if (answer === undefined) return;
        hostedNow.set(node.nodeId, answer.hostedPartitionIds.map(Number));
        for (const group of answer.groups) {
          const factor = factors.get(Number(group.partitionId));
          if (factor === undefined) continue;
          const seen = best.get(Number(group.partitionId));
          if (seen !== undefined && seen.term >= group.term) continue;
          best.set(Number(group.partitionId), {
            observation: observationOf(group, node.nodeId, factor),
            term: group.term,
          });
        }
      });
      observed = new Map([...best].map(([id, entry]) => [id, entry.observation]));
      acted.clear();
      hosted = hostedNow;
      return [...observed.values()].sort((a, b) => a.partitionId - b.partitionId);
    },
    async recordMembership(observation, expectedEpoch) {
      const request = create(UpdatePartitionRequestSchema, {
        partitionId: BigInt(observation.partitionId),
        expectedEpoch: BigInt(expectedEpoch),
        replicas: observation.voters.map(BigInt),
        learners: observation.learners.map(BigInt),
        leaderHint: BigInt(observation.leader),
      });
      await proposeMeta(host, UpdatePartition, request);
    },
    async execute(action: RebalanceAction) {
      const observation = observed.get(action.partitionId);
      if (observation === undefined) {
        throw new RangeError(`partition ${action.partitionId}: no leader observed`);
      }
      const timeoutMs = callTimeoutMs;
      const leaderNode = peers.of(nodeOf(observation.leader).address);
      if (action.kind === "transfer_leadership") {
        const request = { groupId: BigInt(action.partitionId), toNodeId: BigInt(action.to) };
        await leaderNode.node.transferLeadership(request, { timeoutMs });
        return;
      }
      if (action.kind === "add_learner") {
        acted.add(`${action.nodeId}/${action.partitionId}`);
        const partition = table.partition(action.partitionId);
        if (hosted.get(action.nodeId)?.includes(action.partitionId) === true) {
          // A stale replica from an earlier membership (the node was removed while down):
          // outside the configuration, so wiped before the node joins afresh.
          const stale = { partitionId: BigInt(action.partitionId), removeData: true };
          await agentOf(action.nodeId).stopReplica(stale, { timeoutMs });
        }
        const request = {
          partitionId: BigInt(action.partitionId),
          stateMachineType: partition.stateMachineType,
          join: true,
        };
        await agentOf(action.nodeId).startReplica(request, { timeoutMs });
      }
      const change = {
        partitionId: BigInt(action.partitionId),
        kind: changeKinds[action.kind],
        nodeId: BigInt(action.nodeId),
      };
      await leaderNode.agent.changeMembership(change, { timeoutMs });
      if (action.kind === "remove" && nodeOf(action.nodeId).state !== "dead") {
        const request = { partitionId: BigInt(action.partitionId), removeData: true };
        // A node that misses this is cleaned up later by stopOrphans.
        await agentOf(action.nodeId).stopReplica(request, { timeoutMs }).catch((error: unknown) => {
          const { partitionId, nodeId } = action;
          const fields = { partition: partitionId, nodeId, error: String(error) };
          logger.warn("stop of a removed replica failed", fields);
        });
      }
    },
    async stopOrphans() {
      let stopped = 0;
      for (const [nodeId, partitionIds] of hosted) {
        for (const partitionId of partitionIds) {
          if (stopped >= maxOrphansPerRound) return stopped;
          const observation = observed.get(partitionId);
          if (acted.has(`${nodeId}/${partitionId}`)) continue;
          const outside = observation !== undefined && !observation.changing &&
            !observation.voters.includes(nodeId) && !observation.learners.includes(nodeId);
          if (!outside) continue;
          const request = { partitionId: BigInt(partitionId), removeData: true };
          try {
            await agentOf(nodeId).stopReplica(request, { timeoutMs: callTimeoutMs });
            stopped++;
            logger.info("stopped a replica outside its group", { partition: partitionId, nodeId });
          } catch (error) {
            const fields = { partition: partitionId, nodeId, error: String(error) };
            logger.warn("stop of an orphan replica failed", fields);
          }
        }
      }
      return stopped;
    },
  };
  return environment;
}
