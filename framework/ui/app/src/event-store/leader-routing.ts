/// <reference lib="dom" />
// The event store answers a stream's calls on the leader of its partition; any
// other node answers FAILED_PRECONDITION with a NotLeader detail naming the
// leader. The page follows that hint (through the relay) and remembers the
// leader per stream, as the framework's client does.
import { Code, ConnectError } from "@connectrpc/connect";
import { NotLeaderSchema } from "../../gen/raftkit/v1/gateway_pb.js";
import type { NodeClients } from "../node-clients.js";

/** Hops and waits per call: a leader change takes an election or two; then the error is shown. */
const attemptsMax = 8;
const noLeaderWaitMs = 250;

export type StreamCall = <Result>(
  stream: string,
  work: (client: NodeClients) => Promise<Result>,
) => Promise<Result>;

export function createStreamCall(clients: readonly NodeClients[], selfNodeId: number): StreamCall {
  const leaderOf = new Map<string, number>();
  const clientOf = (nodeId: number): NodeClients | undefined =>
    clients.find((client) => client.nodeId === nodeId);
  return async (stream, work) => {
    let nodeId = leaderOf.get(stream) ?? selfNodeId;
    for (let attempt = 1; ; attempt += 1) {
      const client = clientOf(nodeId) ?? clientOf(selfNodeId);
      if (client === undefined) throw new Error(`n${selfNodeId} is missing from the page's nodes`);
      try {
        const result = await work(client);
        leaderOf.set(stream, client.nodeId);
        return result;
      } catch (error) {
        const next = nextNode(error, client.nodeId, selfNodeId);
        if (next === undefined || attempt >= attemptsMax) throw error;
        leaderOf.delete(stream);
        if (next.waitMs > 0)
          await new Promise((resolve) => window.setTimeout(resolve, next.waitMs));
        nodeId = next.nodeId;
      }
    }
  };
}

/** Where to ask next after `error` from `triedNodeId`; undefined: the error is the answer. */
function nextNode(
  error: unknown,
  triedNodeId: number,
  selfNodeId: number,
): { nodeId: number; waitMs: number } | undefined {
  const connectError = ConnectError.from(error);
  if (connectError.code === Code.FailedPrecondition) {
    const hint = connectError.findDetails(NotLeaderSchema)[0];
    if (hint === undefined) return undefined;
    const leader = Number(hint.leaderNodeId);
    if (leader !== 0 && leader !== triedNodeId) return { nodeId: leader, waitMs: 0 };
    return { nodeId: triedNodeId, waitMs: noLeaderWaitMs };
  }
  // The remembered leader went away: start again from the page's node.
  if (connectError.code === Code.Unavailable && triedNodeId !== selfNodeId)
    return { nodeId: selfNodeId, waitMs: 0 };
  return undefined;
}
