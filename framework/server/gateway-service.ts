import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { NodeHost, ProposalAnswer, RequestOptions } from "../host/index.js";
import type { StateMachine } from "../statemachine/index.js";
import type { Logger } from "../transport/index.js";
import { ExecutionErrorSchema } from "../../gen/raftkit/v1/envelope_pb.js";
import type {
  ExecuteFailureSchema,
  ExecuteOutcomeSchema,
  ExecuteRequest,
  ExecuteResponseSchema,
} from "../../gen/raftkit/v1/gateway_pb.js";
import {
  ExecuteKind,
  ExecuteRequestSchema,
  GatewayService,
  NotLeaderSchema,
  OverloadedSchema,
  PartitionNotFoundSchema,
  ReadConsistency,
} from "../../gen/raftkit/v1/gateway_pb.js";
import type { executeBatchServerMethod, RawExecuteRequest } from "./gateway-wire.js";
import {
  decodeExecuteRequest,
  decodeExecuteRequestGeneral,
  isGatewayWireError,
  newRawExecuteRequest,
  OutcomeWriter,
} from "./gateway-wire.js";
import { connectErrorFrom } from "./host-error-mapping.js";
import type { RequestGate } from "./request-gate.js";
import { prepareTyped } from "./typed-execution.js";

export interface GatewayServiceOptions {
  readonly host: NodeHost;
  /** Base URL of a node's server, for NotLeader details. */
  readonly addressOf: (nodeId: number) => string | undefined;
  /** The state machine of a group on this node (typed requests need its executables). */
  readonly machineOf: (groupId: number) => StateMachine | undefined;
  readonly gate: RequestGate;
  readonly logger: Logger;
  /** Most requests one ExecuteBatch call may carry. */
  readonly maxBatchRequests?: number;
}

const emptyResult = new Uint8Array(0);
const defaultMaxBatchRequests = 10_000;
type ResponseInit = MessageInitShape<typeof ExecuteResponseSchema>;
type OutcomeInit = MessageInitShape<typeof ExecuteOutcomeSchema>;

/** raftkit.v1.GatewayService: a command or query (raw bytes or typed JSON) to one group on this node. */
export function createGatewayServiceImpl(options: GatewayServiceOptions): ServiceImpl<typeof GatewayService> {
  const { gate } = options;
  const maxBatch = options.maxBatchRequests ?? defaultMaxBatchRequests;
  return {
    execute: (request, context) => gate.run(() => executeOne(options, request, context.timeoutMs())),
    executeBatch: (request, context) =>
      gate.run(async () => {
        if (request.requests.length > maxBatch) {
          throw new ConnectError(`batch of ${request.requests.length} requests, allowed at most ${maxBatch}`, Code.InvalidArgument);
        }
        const callTimeoutMs = context.timeoutMs();
        const shared = { timeoutMs: callTimeoutMs } satisfies RequestOptions;
        const outcomes = await Promise.all(
          request.requests.map(
            (one) =>
              rawCommand(options, one, callTimeoutMs, shared) ??
              executeOne(options, one, callTimeoutMs).then(responseOutcome, failureOutcome),
          ),
        );
        return { outcomes };
      }),
  };
}

export type BinaryBatchRequest = MessageShape<(typeof executeBatchServerMethod)["input"]>;
export type BinaryBatchResponse = MessageShape<(typeof executeBatchServerMethod)["output"]>;

/**
 * ExecuteBatch over the binary formats (gateway-wire.ts): the same outcomes
 * as the generic implementation above, decoded and encoded by hand. A
 * malformed element fails the whole call (InvalidArgument naming the element,
 * field and byte) before any request of it is executed.
 */
export function createBinaryExecuteBatch(
  options: GatewayServiceOptions,
): (request: BinaryBatchRequest, context: HandlerContext) => Promise<BinaryBatchResponse> {
  const execute = createBinaryBatchExecutor(options);
  return (request, context) => execute(request, context.timeoutMs());
}

/**
 * The binary batch's work without connect's handler context: `callTimeoutMs`
 * is the call's timeout (undefined: none). Refusals reject with a
 * ConnectError. createBinaryExecuteBatch and the Connect unary route of
 * connect-batch-route.ts both serve through it.
 */
export function createBinaryBatchExecutor(
  options: GatewayServiceOptions,
): (request: BinaryBatchRequest, callTimeoutMs: number | undefined) => Promise<BinaryBatchResponse> {
  const { gate } = options;
  const maxBatch = options.maxBatchRequests ?? defaultMaxBatchRequests;
  return (request, callTimeoutMs) =>
    gate.run(async () => {
      const elements = request.requests;
      if (elements.length > maxBatch) {
        throw new ConnectError(`batch of ${elements.length} requests, allowed at most ${maxBatch}`, Code.InvalidArgument);
      }
      const scratch = newRawExecuteRequest();
      // First pass: every element decodes (or the call fails with nothing executed).
      let general: (ExecuteRequest | undefined)[] | undefined;
      try {
        for (let i = 0; i < elements.length; i++) {
          if (decodeExecuteRequest(elements[i]!, i, scratch).general) {
            general ??= new Array<ExecuteRequest | undefined>(elements.length);
            general[i] = decodeExecuteRequestGeneral(elements[i]!, i);
          }
        }
      } catch (error) {
        if (isGatewayWireError(error)) throw new ConnectError(`ExecuteBatch: ${error.message}`, Code.InvalidArgument);
        throw error;
      }
      const writer = new OutcomeWriter(elements.length);
      if (elements.length === 0) return writer.message();
      const shared = { timeoutMs: callTimeoutMs } satisfies RequestOptions;
      return new Promise<BinaryBatchResponse>((resolve) => {
        const call = new BatchCall(options, writer, resolve);
        for (let i = 0; i < elements.length; i++) {
          const generalRequest = general?.[i];
          const one = generalRequest ?? decodeExecuteRequest(elements[i]!, i, scratch);
          if (generalRequest === undefined && isRawCommand(scratch, callTimeoutMs)) {
            call.propose(i, scratch.groupId, scratch.payload, shared);
            continue;
          }
          const full = generalRequest ?? requestOf(one as RawExecuteRequest);
          executeOne(options, full, callTimeoutMs).then(
            (response) => call.outcome(i, responseOutcome(response)),
            (error: unknown) => call.outcome(i, failureOutcome(error)),
          );
        }
      });
    });
}

/** The fast case of rawCommand (below), for a request decoded by hand. */
function isRawCommand(request: RawExecuteRequest, callTimeoutMs: number | undefined): boolean {
  return (
    request.kind === ExecuteKind.COMMAND && request.timeoutMs === 0 &&
    callTimeoutMs !== undefined && callTimeoutMs >= 1 &&
    request.groupId > 0 && request.groupId <= Number.MAX_SAFE_INTEGER
  );
}

/**
 * One binary batch call in progress: its outcomes and how many are still
 * out. Methods, not closures per request (tsx names every closure assigned
 * to a variable with a defineProperty call: 1 % of a node in the profile).
 */
class BatchCall {
  private left: number;

  constructor(
    private readonly options: GatewayServiceOptions,
    private readonly writer: OutcomeWriter,
    private readonly done: (response: BinaryBatchResponse) => void,
  ) {
    this.left = writer.count;
  }

  /** Straight to the host, as rawCommand does for the generic path; one object per request, no promise. */
  propose(index: number, groupId: number, payload: Uint8Array, shared: RequestOptions): void {
    this.options.host.proposeTo(groupId, payload, shared, new BatchSlot(this, index, groupId));
  }

  response(index: number, result: unknown): void {
    this.writer.response(index, result instanceof Uint8Array ? result : emptyResult);
    this.settled();
  }

  failed(index: number, groupId: number, error: unknown): void {
    this.outcome(index, failureOutcome(connectErrorOf(this.options, error, groupId)));
  }

  outcome(index: number, outcome: OutcomeInit): void {
    try {
      this.writer.outcome(index, outcome);
    } catch (error) {
      // Not expected (protobuf-es encoding a failure); the slot still gets an answer.
      this.options.logger.error("gateway: batch outcome not encodable", { error: String(error) });
      this.writer.outcome(index, { outcome: { case: "failure", value: { code: Code.Internal, message: "outcome not encodable" } } });
    }
    this.settled();
  }

  private settled(): void {
    if (--this.left === 0) this.done(this.writer.message());
  }
}

/** One raw command of a BatchCall, answered by the host (NodeHost.proposeTo). */
class BatchSlot implements ProposalAnswer {
  deadline = 0;

  constructor(
    private readonly call: BatchCall,
    private readonly index: number,
    private readonly groupId: number,
  ) {}

  resolve(result: unknown): void {
    this.call.response(this.index, result);
  }

  reject(error: unknown): void {
    this.call.failed(this.index, this.groupId, error);
  }
}

/** A hand-decoded request as the protobuf-es message the general path takes. */
function requestOf(raw: RawExecuteRequest): ExecuteRequest {
  return create(ExecuteRequestSchema, {
    groupId: BigInt(raw.groupId),
    kind: raw.kind,
    payload: raw.payload,
    consistency: raw.consistency,
    timeoutMs: raw.timeoutMs,
  });
}

const responseOutcome = (response: ResponseInit): OutcomeInit => ({ outcome: { case: "response", value: response } });
const failureOutcome = (error: unknown): OutcomeInit => ({
  outcome: { case: "failure", value: failureOf(ConnectError.from(error)) },
});

/**
 * The common case of a batch, a raw command with no timeout of its own
 * (a batch of puts): straight to the host, with the call's options shared by
 * the whole batch, no async frame and one promise per request (the outcome).
 * Undefined for anything else, which takes executeOne's general path (same
 * outcomes, same errors).
 */
function rawCommand(
  options: GatewayServiceOptions,
  request: ExecuteRequest,
  callTimeoutMs: number | undefined,
  shared: RequestOptions,
): Promise<OutcomeInit> | undefined {
  if (request.type !== "" || request.kind !== ExecuteKind.COMMAND || request.timeoutMs > 0) return undefined;
  if (callTimeoutMs === undefined || callTimeoutMs < 1) return undefined;
  if (request.groupId <= 0n || request.groupId > maxGroupId) return undefined;
  const groupId = Number(request.groupId);
  const failed = (error: unknown): OutcomeInit => failureOutcome(connectErrorOf(options, error, groupId));
  let proposed: Promise<unknown>;
  try {
    proposed = options.host.propose(groupId, request.payload, shared);
  } catch (error) {
    return Promise.resolve(failed(error));
  }
  return proposed.then(
    (result): OutcomeInit => ({
      outcome: { case: "response", value: { result: result instanceof Uint8Array ? result : emptyResult } },
    }),
    failed,
  );
}

const maxGroupId = BigInt(Number.MAX_SAFE_INTEGER);

/** One request, raw or typed; every failure leaves as a ConnectError. */
async function executeOne(options: GatewayServiceOptions, request: ExecuteRequest, callTimeoutMs: number | undefined): Promise<ResponseInit> {
  const { host } = options;
  let groupId = 0;
  try {
    groupId = checkGroupId(request.groupId);
    const timeoutMs = effectiveTimeout(request.timeoutMs, callTimeoutMs);
    const requestOptions = timeoutMs === undefined ? {} : { timeoutMs };
    if (request.type === "") {
      return { result: await executeOn(host, groupId, request.kind, request.payload, request.consistency, requestOptions) };
    }
    const typed = prepareTyped(request, groupId, options.machineOf(groupId));
    const result = await executeOn(host, groupId, typed.kind, typed.payload, request.consistency, requestOptions);
    return { json: typed.render(result) };
  } catch (error) {
    throw connectErrorOf(options, error, groupId);
  }
}

/** A failed request as the ConnectError its caller gets; internal failures are logged. */
function connectErrorOf(options: GatewayServiceOptions, error: unknown, groupId: number): ConnectError {
  const connectError = connectErrorFrom(error, groupId, options.addressOf);
  if (connectError.code === Code.Internal) {
    options.logger.error("gateway: request failed", { group: groupId, error: String(error) });
  }
  return connectError;
}

async function executeOn(
  host: NodeHost,
  groupId: number,
  kind: ExecuteKind,
  payload: Uint8Array,
  consistency: ReadConsistency,
  options: RequestOptions,
): Promise<Uint8Array> {
  switch (kind) {
    case ExecuteKind.COMMAND: {
      const result = await host.propose(groupId, payload, options);
      return result instanceof Uint8Array ? result : emptyResult;
    }
    case ExecuteKind.QUERY:
      if (consistency === ReadConsistency.STALE) return host.staleQuery(groupId, payload);
      // LEASE: the host serves the read by the group's raft read mode (lease-based groups
      // answer without a quorum round); ReadIndex otherwise — never weaker than asked.
      return host.query(groupId, payload, options);
    default:
      throw new ConnectError(
        `kind ${kind}, allowed EXECUTE_KIND_COMMAND (1) or EXECUTE_KIND_QUERY (2) (or a "type" for typed requests)`,
        Code.InvalidArgument,
      );
  }
}

/** A lone request's ConnectError as a batch outcome: the same code, message and details. */
function failureOf(error: ConnectError): MessageInitShape<typeof ExecuteFailureSchema> {
  return {
    code: error.code,
    message: error.rawMessage,
    notLeader: error.findDetails(NotLeaderSchema)[0],
    executionError: error.findDetails(ExecutionErrorSchema)[0],
    overloaded: error.findDetails(OverloadedSchema)[0],
    partitionNotFound: error.findDetails(PartitionNotFoundSchema)[0],
  };
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


