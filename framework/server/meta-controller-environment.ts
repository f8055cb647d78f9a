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
  ControllerFence,
  GroupObservation,
  MetaNode,
  MetaStateMachine,
  NodeState,
  RebalanceAction,
} from "../cluster/index.js";
import { SetNodeState, UpdatePartition, metaGroupId, nodeStateToWire } from "../cluster/index.js";
import type { NodeHost } from "../host/index.js";
import { Role } from "../raft/index.js";
import type { ExecutableMessage } from "../statemachine/index.js";
import { buildCommand, readCommandResult } from "../statemachine/index.js";
import type { Logger } from "../transport/index.js";
import { ledGroupOf, refreshActivity } from "./cluster-agent-service.js";
import { fenceHeaders, isStaleControllerRefusal } from "./fence-headers.js";
import type { PeerCalls } from "./peer-clients.js";

export interface MetaControllerEnvironment extends ControllerEnvironment {
  /**
   * Stops replicas left outside their group's configuration (a removal whose
   * stop call missed the node). Only partitions of the meta table are
   * looked at: groups started otherwise (a static --groups list) are not its business.
   */
  stopOrphans(): Promise<number>;
  /**
   * Starts replicas the meta table places on a node that answers but does not
   * run them (StartReplica failed when the partition was created, the node
   * being down): in join mode, an empty replica the group's leader fills —
   * safe for a voter that never held any of the group's state.
   */
  startMissingReplicas(
    nowMs: number,
    mayJoin?: (partitionId: number, nodeId: number) => boolean,
  ): Promise<number>;
}

export interface MetaEnvironmentOptions {
  readonly host: NodeHost;
  readonly meta: MetaStateMachine;
  readonly peers: PeerCalls;
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

/** What the environment's steps share: the table, clients, and the last observation. */
interface EnvironmentState {
  readonly options: MetaEnvironmentOptions;
  observed: Map<number, GroupObservation>;
  /** Partitions hosted per node at the last observation. */
  hosted: Map<number, readonly number[]>;
  /** "node/partition" of learners added since the last observation: not orphans. */
  readonly acted: Set<string>;
  /** "node/partition" of replicas the table places where they do not run: since when. */
  missingSince: Map<string, number>;
  /** The meta term and leader this round was planned under; every agent call carries it. */
  fence: ControllerFence | undefined;
}

/** The fence of a round starting now: this node must lead the meta group. */
function roundFence(host: NodeHost): ControllerFence {
  const status = host.groupIds().includes(metaGroupId) ? host.status(metaGroupId) : undefined;
  if (status === undefined || status.role !== Role.Leader || !host.isLeader(metaGroupId)) {
    throw new RangeError(`node ${host.nodeId} does not lead the meta group: no round planned`);
  }
  return { metaTerm: status.term, leaderNodeId: host.nodeId };
}

/** Options of an agent call of this round: its deadline and the round's fence. */
function callOptions(state: EnvironmentState): { timeoutMs: number; headers: Record<string, string> } {
  const fence = state.fence;
  if (fence === undefined) throw new RangeError("an agent call before the round's observation");
  return { timeoutMs: state.options.callTimeoutMs, headers: fenceHeaders(fence) };
}

function nodeOf(state: EnvironmentState, nodeId: number): MetaNode {
  const node = state.options.meta.table.nodes().find((candidate) => candidate.nodeId === nodeId);
  if (node === undefined) throw new RangeError(`node ${nodeId} is not registered`);
  return node;
}

function agentOf(state: EnvironmentState, nodeId: number) {
  return state.options.peers.of(nodeOf(state, nodeId).address).agent;
}

/** One node's led and hosted groups; this node answers locally; undefined if unreachable. */
async function observeNode(
  state: EnvironmentState,
  node: MetaNode,
): Promise<ObserveResponse | undefined> {
  const { options } = state;
  const { host } = options;
  if (node.nodeId === host.nodeId) {
    const ids = host.groupIds().filter((id) => id !== metaGroupId).sort((a, b) => a - b);
    const groups = ids.flatMap((id) => {
      const led = ledGroupOf(host, id);
      return led === undefined ? [] : [led];
    });
    for (const group of groups) refreshActivity(host, group);
    return create(ObserveResponseSchema, { groups, hostedPartitionIds: ids.map(BigInt) });
  }
  try {
    return await options.peers.of(node.address).agent.observe({}, callOptions(state));
  } catch (error) {
    if (isStaleControllerRefusal(error)) {
      options.logger.warn("observe refused: a newer meta controller reached the node", {
        nodeId: node.nodeId, error: String(error),
      });
    }
    return undefined; // unreachable: the detector judges it; nothing it leads is planned
  }
}

/** Observes every node not dead or removed; per partition of the table, the highest term leads. */
async function observeAll(state: EnvironmentState): Promise<GroupObservation[]> {
  const { table } = state.options.meta;
  state.fence = roundFence(state.options.host);
  const factors = new Map(table.partitions().map((p) => [p.partitionId, p.replicationFactor]));
  const reachable = table.nodes()
    .filter((node) => node.state !== "removed" && node.state !== "dead");
  const answers = await Promise.all(reachable.map((node) => observeNode(state, node)));
  const best = new Map<number, { observation: GroupObservation; term: bigint }>();
  const hosted = new Map<number, readonly number[]>();
  reachable.forEach((node, index) => {
    const answer = answers[index];
    if (answer === undefined) return;
    hosted.set(node.nodeId, answer.hostedPartitionIds.map(Number));
    for (const group of answer.groups) {
      const partitionId = Number(group.partitionId);
      const factor = factors.get(partitionId);
      if (factor === undefined) continue;
      const seen = best.get(partitionId);
      if (seen !== undefined && seen.term >= group.term) continue;
      const observation = observationOf(group, node.nodeId, factor);
      best.set(partitionId, { observation, term: group.term });
    }
  });
  state.observed = new Map([...best].map(([id, entry]) => [id, entry.observation]));
  state.hosted = hosted;
  state.acted.clear();
  return [...state.observed.values()].sort((a, b) => a.partitionId - b.partitionId);
}

/** Starts the replica in join mode on the target (wiping a stale one first). */
async function startLearner(state: EnvironmentState, partitionId: number, nodeId: number) {
  const call = callOptions(state);
  state.acted.add(`${nodeId}/${partitionId}`);
  const partition = state.options.meta.table.partition(partitionId);
  if (state.hosted.get(nodeId)?.includes(partitionId) === true) {
    // A stale replica from an earlier membership (the node was removed while down) is
    // wiped before the node joins afresh — but only once the leader's configuration
    // shows it outside: a voter that loses its log and vote breaks safety, and a plan
    // made on an older view may name a node the group already holds.
    if (!isOutside(state, nodeId, partitionId)) {
      throw new RangeError(`partition ${partitionId}: node ${nodeId} hosts a replica its configuration ` +
        "may still count (a member, or a change under way): not wiped, planned again next round");
    }
    const stale = { partitionId: BigInt(partitionId), removeData: true };
    await agentOf(state, nodeId).stopReplica(stale, call);
  }
  const request = {
    partitionId: BigInt(partitionId),
    stateMachineType: partition.stateMachineType,
    join: true,
  };
  await agentOf(state, nodeId).startReplica(request, call);
}

async function executeAction(state: EnvironmentState, action: RebalanceAction): Promise<void> {
  const { logger, peers } = state.options;
  const call = callOptions(state);
  const observation = state.observed.get(action.partitionId);
  if (observation === undefined) {
    throw new RangeError(`partition ${action.partitionId}: no leader observed`);
  }
  const leaderNode = peers.of(nodeOf(state, observation.leader).address);
  if (action.kind === "transfer_leadership") {
    const request = { groupId: BigInt(action.partitionId), toNodeId: BigInt(action.to) };
    await leaderNode.node.transferLeadership(request, call);
    return;
  }
  if (action.kind === "add_learner") await startLearner(state, action.partitionId, action.nodeId);
  const change = {
    partitionId: BigInt(action.partitionId),
    kind: changeKinds[action.kind],
    nodeId: BigInt(action.nodeId),
  };
  await leaderNode.agent.changeMembership(change, call);
  if (action.kind === "remove" && nodeOf(state, action.nodeId).state !== "dead") {
    const request = { partitionId: BigInt(action.partitionId), removeData: true };
    // A node that misses this is cleaned up later by stopOrphans.
    const { partitionId, nodeId } = action;
    await agentOf(state, nodeId).stopReplica(request, call).catch((error: unknown) => {
      const fields = { partition: partitionId, nodeId, error: String(error) };
      logger.warn("stop of a removed replica failed", fields);
    });
  }
}

/** A replica `nodeId` hosts outside its group's configuration as the group's leader reports it. */
function isOutside(state: EnvironmentState, nodeId: number, partitionId: number): boolean {
  const observation = state.observed.get(partitionId);
  return observation !== undefined && !observation.changing &&
    !observation.voters.includes(nodeId) && !observation.learners.includes(nodeId);
}

/** Node → partitions it hosts outside their configuration, at the last observation. */
function strayReplicas(state: EnvironmentState): Map<number, number[]> {
  const strays = new Map<number, number[]>();
  for (const [nodeId, partitionIds] of state.hosted) {
    const outside = partitionIds.filter((partitionId) => isOutside(state, nodeId, partitionId));
    if (outside.length > 0) strays.set(nodeId, outside);
  }
  return strays;
}

async function stopOrphans(state: EnvironmentState): Promise<number> {
  const { logger } = state.options;
  const call = callOptions(state);
  let stopped = 0;
  for (const [nodeId, partitionIds] of state.hosted) {
    for (const partitionId of partitionIds) {
      if (stopped >= maxOrphansPerRound) return stopped;
      if (state.acted.has(`${nodeId}/${partitionId}`)) continue;
      if (!isOutside(state, nodeId, partitionId)) continue;
      const request = { partitionId: BigInt(partitionId), removeData: true };
      try {
        await agentOf(state, nodeId).stopReplica(request, call);
        stopped++;
        logger.info("stopped a replica outside its group", { partition: partitionId, nodeId });
      } catch (error) {
        const fields = { partition: partitionId, nodeId, error: String(error) };
        logger.warn("stop of an orphan replica failed", fields);
      }
    }
  }
  return stopped;
}

/** Missing replicas are started this many call timeouts after first seen (CreatePartition's tries are over). */
const missingGraceCalls = 4;

/**
 * Replicas the table places on an answering node that does not run them.
 * Started at once when the group has a leader (its quorum bootstrapped; the
 * empty replica is caught up). Without one, only after the creator's tries
 * are over and only if some replica runs: a partition none of whose
 * replicas started waits for CreatePartition again, which bootstraps it.
 */
function missingReplicas(
  state: EnvironmentState,
  nowMs: number,
  mayJoin: (partitionId: number, nodeId: number) => boolean,
) {
  const { callTimeoutMs, meta } = state.options;
  const missing: { partitionId: number; nodeId: number; stateMachineType: string }[] = [];
  const seen = new Map<string, number>();
  const hostedAnywhere = new Set([...state.hosted.values()].flat());
  for (const partition of meta.table.partitions()) {
    const { partitionId, stateMachineType } = partition;
    // The leader's configuration where there is one (the table lags it by a round).
    const voters = state.observed.get(partitionId)?.voters ?? partition.replicas;
    for (const nodeId of voters) {
      const hosted = state.hosted.get(nodeId);
      const key = `${nodeId}/${partitionId}`;
      if (hosted === undefined || hosted.includes(partitionId) || state.acted.has(key)) continue;
      // A fresh replica where one was removed a moment ago could get the old one's messages.
      if (!mayJoin(partitionId, nodeId)) continue;
      const since = state.missingSince.get(key) ?? nowMs;
      seen.set(key, since);
      const late = nowMs - since >= missingGraceCalls * callTimeoutMs;
      if (state.observed.has(partitionId) || (late && hostedAnywhere.has(partitionId))) {
        missing.push({ partitionId, nodeId, stateMachineType });
      }
    }
  }
  state.missingSince = seen;
  return missing;
}

async function startMissingReplicas(
  state: EnvironmentState,
  nowMs: number,
  mayJoin: (partitionId: number, nodeId: number) => boolean,
): Promise<number> {
  const { logger } = state.options;
  const call = callOptions(state);
  const missing = missingReplicas(state, nowMs, mayJoin);
  const chosen = missing.slice(0, maxOrphansPerRound);
  const results = await Promise.all(chosen.map(async ({ partitionId, nodeId, stateMachineType }) => {
    state.acted.add(`${nodeId}/${partitionId}`);
    const request = { partitionId: BigInt(partitionId), stateMachineType, join: true };
    try {
      await agentOf(state, nodeId).startReplica(request, call);
      logger.info("started a replica missing on its node", { partition: partitionId, nodeId });
      return 1;
    } catch (error) {
      const fields = { partition: partitionId, nodeId, error: String(error) };
      logger.warn("start of a missing replica failed", fields);
      return 0;
    }
  }));
  return results.reduce((sum: number, one) => sum + one, 0);
}

export function createMetaControllerEnvironment(
  options: MetaEnvironmentOptions,
): MetaControllerEnvironment {
  const { host, meta } = options;
  const table = meta.table;
  const state: EnvironmentState = {
    options,
    observed: new Map(),
    hosted: new Map(),
    acted: new Set(),
    missingSince: new Map(),
    fence: undefined,
  };
  return {
    nodes: () => table.nodes(),
    partitions: () => table.partitions(),
    async setNodeState(nodeId: number, nodeState: NodeState) {
      const request = create(SetNodeStateRequestSchema, {
        nodeId: BigInt(nodeId),
        state: nodeStateToWire(nodeState),
      });
      await proposeMeta(host, SetNodeState, request);
    },
    observe: () => observeAll(state),
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
    execute: (action) => executeAction(state, action),
    stopOrphans: () => stopOrphans(state),
    strayReplicas: () => strayReplicas(state),
    startMissingReplicas: (nowMs, mayJoin = () => true) =>
      startMissingReplicas(state, nowMs, mayJoin),
  };
}
