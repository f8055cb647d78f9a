import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { NodeHost } from "../host/index.js";
import { Role } from "../raft/index.js";
import type { GroupStatusSchema } from "../../gen/raftkit/v1/node_pb.js";
import { GroupRole, NodeService } from "../../gen/raftkit/v1/node_pb.js";
import type { GroupLauncher } from "./group-launcher.js";
import { isServerError } from "./errors.js";
import { connectErrorFrom } from "./host-error-mapping.js";
import type { RequestGate } from "./request-gate.js";
import { hasDigest } from "./state-machine-types.js";

export interface NodeServiceOptions {
  readonly nodeId: number;
  readonly host: NodeHost;
  readonly launcher: GroupLauncher;
  readonly gate: RequestGate;
  readonly addressOf: (nodeId: number) => string | undefined;
  /** Milliseconds since the node started. */
  readonly uptimeMs: () => number;
}

const roles: Record<Role, GroupRole> = {
  [Role.Follower]: GroupRole.FOLLOWER,
  [Role.PreCandidate]: GroupRole.PRE_CANDIDATE,
  [Role.Candidate]: GroupRole.CANDIDATE,
  [Role.Leader]: GroupRole.LEADER,
};

/** raftkit.v1.NodeService: what runs on this node, node-local. */
export function createNodeServiceImpl(options: NodeServiceOptions): ServiceImpl<typeof NodeService> {
  const { nodeId, host, launcher, gate, addressOf } = options;
  return {
    startGroups: (request) =>
      gate.run(async () => {
        const voters = request.voters.map((id) => checkedId("voters", id));
        const records = [...new Set(request.groupIds.map((id) => checkedId("group_ids", id)))].map((groupId) => ({
          groupId,
          voters,
          stateMachine: request.stateMachine === "" ? "kv" : request.stateMachine,
          join: request.join,
        }));
        try {
          const { started, alreadyRunning } = await launcher.startGroups(records);
          return { started: started.map(BigInt), alreadyRunning: alreadyRunning.map(BigInt) };
        } catch (error) {
          if (isServerError(error)) throw new ConnectError(error.message, Code.InvalidArgument);
          throw connectErrorFrom(error, records[0]?.groupId ?? 0, addressOf);
        }
      }),
    async status(request) {
      const wanted = request.groupIds.length === 0 ? host.groupIds() : request.groupIds.map((id) => checkedId("group_ids", id));
      const groups = wanted.sort((a, b) => a - b).map((groupId) => {
        try {
          return groupStatus(host, launcher, groupId);
        } catch (error) {
          throw connectErrorFrom(error, groupId, addressOf);
        }
      });
      const node = {
        nodeId: BigInt(nodeId),
        groupCount: host.groupIds().length,
        quiescedGroupCount: host.quiescedGroupCount(),
        pid: process.pid,
        rssBytes: BigInt(process.memoryUsage.rss()),
        uptimeMs: BigInt(Math.round(options.uptimeMs())),
      };
      return { node, groups };
    },
    async transferLeadership(request) {
      const groupId = checkedId("group_id", request.groupId);
      try {
        host.transferLeadership(groupId, checkedId("to_node_id", request.toNodeId));
      } catch (error) {
        throw connectErrorFrom(error, groupId, addressOf);
      }
      return {};
    },
  };
}

function groupStatus(
  host: NodeHost,
  launcher: GroupLauncher,
  groupId: number,
): MessageInitShape<typeof GroupStatusSchema> {
  const status = host.status(groupId);
  const machine = launcher.machine(groupId);
  return {
    groupId: BigInt(groupId),
    role: roles[status.role],
    leaderNodeId: BigInt(status.leader),
    term: BigInt(status.term),
    commitIndex: BigInt(status.commit),
    appliedIndex: BigInt(status.appliedByStateMachine),
    lastIndex: BigInt(status.lastIndex),
    snapshotIndex: BigInt(status.snapshotIndex),
    voters: status.confState.voters.map(BigInt),
    stateDigest: machine !== undefined && hasDigest(machine) ? machine.digest() : new Uint8Array(0),
  };
}

function checkedId(field: string, value: bigint): number {
  if (value <= 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ConnectError(`${field}: ${value}, allowed 1 … ${Number.MAX_SAFE_INTEGER}`, Code.InvalidArgument);
  }
  return Number(value);
}
