/**
 * The controller's environment over NodeHosts in one process (HostCluster:
 * a memory network, real timers): the meta group runs on three of the
 * hosts; data groups run a KV state machine. What a node process will do
 * through Connect calls, done here by calling the hosts directly.
 */
import { create } from "@bufbuild/protobuf";
import type {
  ControllerEnvironment,
  GroupObservation,
  MetaStateMachine,
  RebalanceAction,
} from "../../../framework/cluster/index.js";
import {
  SetNodeState,
  UpdatePartition,
  confChangeOf,
  nodeStateToWire,
} from "../../../framework/cluster/index.js";
import type { NodeHost } from "../../../framework/host/index.js";
import { Role } from "../../../framework/raft/index.js";
import type { ExecutableMessage } from "../../../framework/statemachine/index.js";
import { buildCommand, readCommandResult } from "../../../framework/statemachine/index.js";
import {
  SetNodeStateRequestSchema,
  UpdatePartitionRequestSchema,
} from "../../../gen/raftkit/v1/cluster_pb.js";
import type { HostCluster } from "../../unit/host/host-cluster.js";

export const metaGroupId = 1_000_000;

export class HostEnvironment implements ControllerEnvironment {
  constructor(
    private readonly cluster: HostCluster,
    private readonly metaReplicas: ReadonlyMap<number, MetaStateMachine>,
  ) {}

  metaLeader(): number | undefined {
    return this.cluster.leaderOf(metaGroupId);
  }

  private metaTable() {
    const leader = this.metaLeader();
    const meta = leader === undefined ? undefined : this.metaReplicas.get(leader);
    if (meta === undefined) throw new Error("no meta leader");
    return meta.table;
  }

  async metaCommand<Request, Response>(
    message: ExecutableMessage<Request, Response>,
    request: Request,
  ): Promise<Response> {
    const leader = this.metaLeader();
    const host = leader === undefined ? undefined : this.cluster.hosts.get(leader);
    if (host === undefined) throw new Error("no meta leader");
    const result = await host.propose(metaGroupId, buildCommand(message, request, undefined));
    if (!(result instanceof Uint8Array)) throw new Error("meta result is not bytes");
    return readCommandResult(message, result);
  }

  nodes() {
    return this.metaTable().nodes();
  }

  partitions() {
    return this.metaTable().partitions();
  }

  async setNodeState(nodeId: number, state: Parameters<typeof nodeStateToWire>[0]): Promise<void> {
    await this.metaCommand(
      SetNodeState,
      create(SetNodeStateRequestSchema, { nodeId: BigInt(nodeId), state: nodeStateToWire(state) }),
    );
  }

  private leaderHost(partitionId: number): NodeHost | undefined {
    for (const host of this.cluster.hosts.values()) {
      if (host.groupIds().includes(partitionId) && host.isLeader(partitionId)) return host;
    }
    return undefined;
  }

  async observe(): Promise<GroupObservation[]> {
    const observations: GroupObservation[] = [];
    for (const partition of this.partitions()) {
      const host = this.leaderHost(partition.partitionId);
      if (host === undefined) continue;
      const status = host.status(partition.partitionId);
      if (status.role !== Role.Leader) continue;
      const lag = new Map<number, number>();
      const recentlyActive = new Set<number>([host.nodeId]);
      for (const [nodeId, progress] of status.progress) {
        lag.set(nodeId, Math.max(0, status.lastIndex - progress.match));
        if (progress.recentActive) recentlyActive.add(nodeId);
      }
      observations.push({
        partitionId: partition.partitionId,
        replicationFactor: partition.replicationFactor,
        leader: host.nodeId,
        voters: [...status.confState.voters].sort((a, b) => a - b),
        learners: [...status.confState.learners].sort((a, b) => a - b),
        lag,
        recentlyActive,
        changing: status.confState.votersOutgoing.length > 0,
      });
    }
    return observations;
  }

  async recordMembership(observation: GroupObservation, expectedEpoch: number): Promise<void> {
    await this.metaCommand(
      UpdatePartition,
      create(UpdatePartitionRequestSchema, {
        partitionId: BigInt(observation.partitionId),
        expectedEpoch: BigInt(expectedEpoch),
        replicas: observation.voters.map(BigInt),
        learners: observation.learners.map(BigInt),
        leaderHint: BigInt(observation.leader),
      }),
    );
  }

  async execute(action: RebalanceAction): Promise<void> {
    const leader = this.leaderHost(action.partitionId);
    if (leader === undefined) throw new Error(`partition ${action.partitionId} has no leader here`);
    if (action.kind === "transfer_leadership") {
      leader.transferLeadership(action.partitionId, action.to);
      return;
    }
    if (action.kind === "add_learner") {
      const target = this.cluster.hosts.get(action.nodeId);
      if (target === undefined) throw new Error(`node ${action.nodeId} is down`);
      if (!target.groupIds().includes(action.partitionId)) {
        await this.cluster.startReplica(action.nodeId, action.partitionId, [], true);
      }
    }
    const change = confChangeOf(action);
    if (change !== undefined) await leader.proposeConfChange(action.partitionId, change);
  }
}
