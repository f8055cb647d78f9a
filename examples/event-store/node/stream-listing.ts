import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { NotLeaderSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import type { NodeHost } from "../../../framework/host/index.js";
import { connectErrorFrom } from "../../../framework/server/index.js";
import { buildQuery, readQueryResult } from "../../../framework/statemachine/index.js";
import { ListStreamsResponseSchema } from "../gen/eventstore/v1/eventstore_pb.js";
import type {
  EventStoreService, ListStreamsRequest, ListStreamsResponse,
} from "../gen/eventstore/v1/eventstore_pb.js";
import { ListStreams } from "../service/descriptors.js";
import { listLimitOf } from "../service/query-executors.js";

export interface StreamListingOptions {
  readonly host: NodeHost;
  /** Every partition of the event store (the static table's). */
  readonly partitionIds: readonly number[];
  readonly addressOf: (nodeId: number) => string | undefined;
  readonly leaderClient: (url: string) => Client<typeof EventStoreService>;
  /** Header marking a forwarded request (a forwarded request is never forwarded again). */
  readonly forwardedHeader: string;
}

/**
 * ListStreams on a node: one partition (partition_id) or all of them (0),
 * each answered linearizably by its leader — here when this node leads it,
 * else forwarded once to the leader the NotLeader error names. Pages of
 * all partitions are merged by name and cut at the limit.
 */
export function createStreamListing(options: StreamListingOptions):
  (request: ListStreamsRequest, requestHeader: Headers) => Promise<ListStreamsResponse> {
  const { host, partitionIds, addressOf, leaderClient, forwardedHeader } = options;

  const listPartition = async (partitionId: number, after: string, limit: number,
    requestHeader: Headers): Promise<ListStreamsResponse> => {
    const request = {
      $typeName: "eventstore.v1.ListStreamsRequest" as const, partitionId, after, limit,
    };
    try {
      const answer = await host.query(partitionId, buildQuery(ListStreams, request));
      return readQueryResult(ListStreams, answer);
    } catch (error) {
      const connectError = connectErrorFrom(error, partitionId, addressOf);
      const [notLeader] = connectError.findDetails(NotLeaderSchema);
      const forwarded = requestHeader.has(forwardedHeader);
      if (notLeader === undefined || notLeader.leaderAddress === "" || forwarded) {
        throw connectError;
      }
      const headers = new Headers({ [forwardedHeader]: String(host.nodeId) });
      return leaderClient(notLeader.leaderAddress).listStreams(request, { headers });
    }
  };

  return async (request, requestHeader) => {
    const limit = listLimitOf(request.limit);
    if (request.partitionId !== 0) {
      if (!partitionIds.includes(request.partitionId)) {
        throw new ConnectError(`partition_id ${request.partitionId}: the event store's ` +
          `partitions are ` +
          `${partitionIds.join(", ")} (0: all)`, Code.InvalidArgument);
      }
      return listPartition(request.partitionId, request.after, limit, requestHeader);
    }
    // One partition at a time: the fan-out stays bounded by the table's size.
    const streams: ListStreamsResponse["streams"] = [];
    let truncated = false;
    for (const partitionId of partitionIds) {
      const page = await listPartition(partitionId, request.after, limit, requestHeader);
      streams.push(...page.streams);
      truncated ||= page.nextAfter !== "";
    }
    streams.sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
    truncated ||= streams.length > limit;
    const kept = streams.slice(0, limit);
    return create(ListStreamsResponseSchema, {
      streams: kept,
      nextAfter: truncated && kept.length > 0 ? kept[kept.length - 1]!.stream : "",
    });
  };
}
