/**
 * One attempt's answer from a node, the same whether it came from a lone
 * Execute call (a ConnectError) or from one slot of an ExecuteBatch call (an
 * ExecuteFailure): the retry logic reads only this.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ExecutionError } from "../../gen/raftkit/v1/envelope_pb.js";
import { ExecutionErrorSchema } from "../../gen/raftkit/v1/envelope_pb.js";
import type { ExecuteFailure, ExecuteResponse, NotLeader } from "../../gen/raftkit/v1/gateway_pb.js";
import { NotLeaderSchema, OverloadedSchema, PartitionNotFoundSchema } from "../../gen/raftkit/v1/gateway_pb.js";

export interface AttemptFailure {
  readonly code: Code;
  readonly message: string;
  readonly notLeader: NotLeader | undefined;
  readonly executionError: ExecutionError | undefined;
  /** RESOURCE_EXHAUSTED because the node has too much queued (back off), not the request's size. */
  readonly overloaded: boolean;
  /** NOT_FOUND because the group does not run on that node. */
  readonly partitionNotFound: boolean;
}

export type AttemptOutcome =
  | { readonly ok: true; readonly response: ExecuteResponse }
  | { readonly ok: false; readonly failure: AttemptFailure };

export function failureFromConnectError(reason: unknown): AttemptFailure {
  const error = ConnectError.from(reason);
  return {
    code: error.code,
    message: error.rawMessage,
    notLeader: error.findDetails(NotLeaderSchema)[0],
    executionError: error.findDetails(ExecutionErrorSchema)[0],
    overloaded: error.findDetails(OverloadedSchema).length > 0,
    partitionNotFound: error.findDetails(PartitionNotFoundSchema).length > 0,
  };
}

export function failureFromBatch(failure: ExecuteFailure): AttemptFailure {
  const code: Code = failure.code in Code ? failure.code : Code.Unknown;
  return {
    code,
    message: failure.message,
    notLeader: failure.notLeader,
    executionError: failure.executionError,
    overloaded: failure.overloaded !== undefined,
    partitionNotFound: failure.partitionNotFound !== undefined,
  };
}
