import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { NodeHost, RequestOptions } from "../host/index.js";
import type { Logger } from "../transport/index.js";
import type { ExecuteRequest } from "../../gen/raftkit/v1/gateway_pb.js";
import { ExecuteKind, GatewayService, ReadConsistency } from "../../gen/raftkit/v1/gateway_pb.js";
import { connectErrorFrom } from "./host-error-mapping.js";
import type { RequestGate } from "./request-gate.js";

export interface GatewayServiceOptions {
  readonly host: NodeHost;
  /** Base URL of a node's server, for NotLeader details. */
  readonly addressOf: (nodeId: number) => string | undefined;
  readonly gate: RequestGate;
  readonly logger: Logger;
}

const emptyResult = new Uint8Array(0);

/** raftkit.v1.GatewayService: a command or query as bytes, to one group on this node. */
export function createGatewayServiceImpl(options: GatewayServiceOptions): ServiceImpl<typeof GatewayService> {
  const { host, addressOf, gate, logger } = options;
  return {
    async execute(request, context) {
      const groupId = checkGroupId(request.groupId);
      const timeoutMs = effectiveTimeout(request.timeoutMs, context.timeoutMs());
      return gate.run(async () => {
        try {
          return { result: await executeOn(host, groupId, request, timeoutMs === undefined ? {} : { timeoutMs }) };
        } catch (error) {
          const connectError = connectErrorFrom(error, groupId, addressOf);
          if (connectError.code === Code.Internal) {
            logger.error("gateway: request failed", { group: groupId, error: String(error) });
          }
          throw connectError;
        }
      });
    },
  };
}

async function executeOn(
  host: NodeHost,
  groupId: number,
  request: ExecuteRequest,
  options: RequestOptions,
): Promise<Uint8Array> {
  switch (request.kind) {
    case ExecuteKind.COMMAND: {
      const result = await host.propose(groupId, request.payload, options);
      return result instanceof Uint8Array ? result : emptyResult;
    }
    case ExecuteKind.QUERY:
      if (request.consistency === ReadConsistency.STALE) return host.staleQuery(groupId, request.payload);
      return host.query(groupId, request.payload, options);
    default:
      throw new ConnectError(
        `kind ${request.kind}, allowed EXECUTE_KIND_COMMAND (1) or EXECUTE_KIND_QUERY (2)`,
        Code.InvalidArgument,
      );
  }
}

function checkGroupId(value: bigint): number {
  if (value <= 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ConnectError(`group_id ${value}, allowed 1 … ${Number.MAX_SAFE_INTEGER}`, Code.InvalidArgument);
  }
  return Number(value);
}

/** The tighter of the request's own timeout and the call's deadline (Connect/gRPC timeout header). */
function effectiveTimeout(requestMs: number, callMs: number | undefined): number | undefined {
  const candidates = [requestMs > 0 ? requestMs : undefined, callMs].filter((ms) => ms !== undefined);
  if (candidates.length === 0) return undefined;
  return Math.max(1, Math.min(...candidates));
}
