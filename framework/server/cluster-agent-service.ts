/**
 * raftkit.v1.ClusterAgentService (issue #9): what a node does for the
 * cluster manager. The meta leader's controller observes the groups a node
 * leads, starts replicas on it (join mode for a group that already runs),
 * has the group's leader propose membership changes, and stops replicas
 * that left a group. Heartbeats go to the meta leader, which answers with
 * the node registry (the addresses every node needs to reach the others).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { LedGroupSchema } from "../../gen/raftkit/v1/cluster_agent_pb.js";
import {
  ClusterAgentService,
  MembershipChangeKind,
} from "../../gen/raftkit/v1/cluster_agent_pb.js";
import type { AgentHeartbeatResponseSchema } from "../../gen/raftkit/v1/cluster_agent_pb.js";
import { confChangeOf, createFenceKeeper, metaGroupId } from "../cluster/index.js";
import type { NodeHost } from "../host/index.js";
import { Role } from "../raft/index.js";
import type { Logger } from "../transport/index.js";
import { isServerError } from "./errors.js";
import { fenceAgentService } from "./fenced-agent-service.js";
import type { GroupLauncher } from "./group-launcher.js";
import { connectErrorFrom } from "./host-error-mapping.js";

export type HeartbeatAnswer = MessageInitShape<typeof AgentHeartbeatResponseSchema>;

export interface ClusterAgentServiceOptions {
  readonly host: NodeHost;
  readonly launcher: GroupLauncher;
  readonly addressOf: (nodeId: number) => string | undefined;
  /** A beat from `nodeId` at `address`; the meta leader takes it, others name the leader. */
  readonly onHeartbeat: (nodeId: number, address: string) => HeartbeatAnswer;
  /** Refusals of a deposed controller's calls are logged here. */
  readonly logger?: Logger;
}

const changeKinds = {
  [MembershipChangeKind.ADD_LEARNER]: "add_learner",
  [MembershipChangeKind.PROMOTE]: "promote",
  [MembershipChangeKind.REMOVE]: "remove",
} as const;

function checkedId(field: string, value: bigint): number {
  if (value <= 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    const message = `${field}: ${value}, allowed 1 … ${Number.MAX_SAFE_INTEGER}`;
    throw new ConnectError(message, Code.InvalidArgument);
  }
  return Number(value);
}

/** The group as this node, its leader, sees it; undefined where it does not lead. */
export function ledGroupOf(
  host: NodeHost,
  groupId: number,
): MessageInitShape<typeof LedGroupSchema> | undefined {
  if (!host.isLeader(groupId)) return undefined;
  const status = host.status(groupId);
  if (status.role !== Role.Leader) return undefined;
  const lag = [...status.progress]
    .sort((a, b) => a[0] - b[0])
    .map(([nodeId, progress]) => ({
      nodeId: BigInt(nodeId),
      lag: BigInt(Math.max(0, status.lastIndex - progress.match)),
    }));
  const active = [...status.progress].filter(([id, p]) => id === host.nodeId || p.recentActive);
  const changing = status.confState.votersOutgoing.length > 0 || status.confChangePending;
  return {
    partitionId: BigInt(groupId),
    voters: [...status.confState.voters].sort((a, b) => a - b).map(BigInt),
    learners: [...status.confState.learners].sort((a, b) => a - b).map(BigInt),
    lag,
    recentlyActive: active.map(([id]) => BigInt(id)).sort((a, b) => (a < b ? -1 : 1)),
    changing,
    term: BigInt(status.term),
  };
}

/**
 * A led group whose leader lists a voter as not recently active is asked for
 * a read barrier (not awaited; its outcome does not matter): the heartbeats
 * it sends refresh raft's recentActive flags, and it wakes a quiesced group.
 * A quiesced leader ticks no more, so flags cleared by its last quorum check
 * (checkQuorum clears them every election timeout) stay cleared while it is
 * idle: the controller then saw no live quorum for any membership step and
 * planned none, for minutes (a group stuck at 4 voters in the process test).
 */
export function refreshActivity(
  host: NodeHost,
  group: MessageInitShape<typeof LedGroupSchema>,
): void {
  const active = new Set((group.recentlyActive ?? []).map(Number));
  if ((group.voters ?? []).every((id) => active.has(Number(id)))) return;
  host.readBarrier(Number(group.partitionId)).catch(() => undefined);
}

/**
 * The agent as served: its replica calls fenced by the calling controller's
 * meta term (fenced-agent-service.ts), this node's own meta replica's term
 * counting as seen.
 */
export function createClusterAgentServiceImpl(
  options: ClusterAgentServiceOptions,
): ServiceImpl<typeof ClusterAgentService> {
  const { host, logger } = options;
  const localMetaTerm = (): number =>
    host.groupIds().includes(metaGroupId) ? host.status(metaGroupId).term : 0;
  const keeper = createFenceKeeper();
  return fenceAgentService(agentCalls(options), { keeper, localMetaTerm, logger });
}

function agentCalls(options: ClusterAgentServiceOptions): ServiceImpl<typeof ClusterAgentService> {
  const { host, launcher, addressOf } = options;
  return {
    heartbeat: (request) => {
      const nodeId = checkedId("node_id", request.nodeId);
      if (request.address === "") throw new ConnectError("address: empty", Code.InvalidArgument);
      return options.onHeartbeat(nodeId, request.address);
    },
    observe: (request) => {
      const hosted = host.groupIds().filter((id) => id !== metaGroupId).sort((a, b) => a - b);
      const wanted = request.partitionIds.length === 0
        ? hosted
        : request.partitionIds.map((id) => checkedId("partition_ids", id));
      const groups = wanted.flatMap((id) => (hosted.includes(id) ? [ledGroupOf(host, id)] : []))
        .filter((group) => group !== undefined);
      for (const group of groups) refreshActivity(host, group);
      return {
        groups,
        hostedPartitionIds: hosted.map(BigInt),
      };
    },
    startReplica: async (request) => {
      const groupId = checkedId("partition_id", request.partitionId);
      if (groupId === metaGroupId) {
        throw new ConnectError(`partition ${groupId} is the meta group's id`, Code.InvalidArgument);
      }
      const record = {
        groupId,
        voters: request.voters.map((id) => checkedId("voters", id)),
        stateMachine: request.stateMachineType,
        join: request.join,
      };
      try {
        const { alreadyRunning } = await launcher.startGroups([record]);
        return { alreadyRunning: alreadyRunning.length > 0 };
      } catch (error) {
        if (isServerError(error)) throw new ConnectError(error.message, Code.InvalidArgument);
        throw connectErrorFrom(error, groupId, addressOf);
      }
    },
    changeMembership: async (request) => {
      const partitionId = checkedId("partition_id", request.partitionId);
      const nodeId = checkedId("node_id", request.nodeId);
      if (request.kind === MembershipChangeKind.UNSPECIFIED) {
        const message = "kind: unspecified, allowed add_learner, promote, remove";
        throw new ConnectError(message, Code.InvalidArgument);
      }
      const kind = changeKinds[request.kind];
      const change = confChangeOf({ kind, partitionId, nodeId, reason: "controller" });
      if (change === undefined) {
        throw new ConnectError(`kind ${kind}: no conf change`, Code.Internal);
      }
      try {
        await host.proposeConfChange(partitionId, change);
      } catch (error) {
        throw connectErrorFrom(error, partitionId, addressOf);
      }
      return {};
    },
    stopReplica: async (request) => {
      const groupId = checkedId("partition_id", request.partitionId);
      if (groupId === metaGroupId) {
        throw new ConnectError(`partition ${groupId} is the meta group's id`, Code.InvalidArgument);
      }
      try {
        return { wasRunning: await launcher.stopGroup(groupId, request.removeData) };
      } catch (error) {
        throw connectErrorFrom(error, groupId, addressOf);
      }
    },
  };
}
