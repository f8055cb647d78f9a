import { Code, ConnectError, createClient } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { decodeKvResult, encodeKvRequest, KvOp } from "../../../framework/statemachine/index.js";
import type { KvResult } from "../../../framework/statemachine/index.js";
import { ExecuteKind, GatewayService, NotLeaderSchema, ReadConsistency } from "../../../gen/raftkit/v1/gateway_pb.js";
import { NodeService } from "../../../gen/raftkit/v1/node_pb.js";
import type { StatusResponse } from "../../../gen/raftkit/v1/node_pb.js";

export interface ExecuteOptions {
  /** Overall deadline in milliseconds, across retries. */
  readonly deadlineMs?: number;
  /** Safe to send again after an attempt whose outcome is unknown (timeout, lost connection). */
  readonly idempotent?: boolean;
  readonly consistency?: ReadConsistency;
  /** Ask this node first (else the cached leader, else any). */
  readonly nodeId?: number;
}

/** Codes after which the same request may go again (to another node, after a pause). */
const retryable = new Set<Code>([Code.Unavailable, Code.Aborted, Code.ResourceExhausted, Code.NotFound]);
/** Codes after which a command's outcome is unknown. */
const unknownOutcome = new Set<Code>([Code.DeadlineExceeded, Code.Unknown, Code.Internal, Code.Canceled]);

/**
 * A small client of the raw gateway for tests and the benchmark (issue #5
 * brings the real one): caches each group's leader, follows NotLeader hints,
 * retries with exponential backoff under one deadline.
 */
export class GatewayClient {
  private readonly gateways = new Map<number, Client<typeof GatewayService>>();
  private readonly admins = new Map<number, Client<typeof NodeService>>();
  private readonly leaders = new Map<number, number>();
  private readonly nodeIds: number[];
  private rotation = 0;
  /** Attempts that were retried (for reports). */
  retries = 0;

  /** `backoffMaxMs` caps the pause between attempts (the pause doubles from 10 ms). */
  constructor(urls: ReadonlyMap<number, string>, private readonly backoffMaxMs = 500) {
    for (const [nodeId, url] of urls) {
      const transport = createConnectTransport({ baseUrl: url, httpVersion: "2" });
      this.gateways.set(nodeId, createClient(GatewayService, transport));
      this.admins.set(nodeId, createClient(NodeService, transport));
    }
    this.nodeIds = [...urls.keys()];
  }

  leaderOf(groupId: number): number | undefined {
    return this.leaders.get(groupId);
  }

  async execute(groupId: number, kind: ExecuteKind, payload: Uint8Array, options: ExecuteOptions = {}): Promise<Uint8Array> {
    const deadline = Date.now() + (options.deadlineMs ?? 15_000);
    let target = options.nodeId ?? this.leaders.get(groupId) ?? this.nextNode();
    let backoffMs = 10;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new ConnectError(`group ${groupId}: deadline passed after retries`, Code.DeadlineExceeded);
      try {
        const response = await this.gateways.get(target)!.execute(
          { groupId: BigInt(groupId), kind, payload, consistency: options.consistency },
          { timeoutMs: Math.min(remaining, 3_000) },
        );
        if (kind === ExecuteKind.COMMAND || options.consistency !== ReadConsistency.STALE) this.leaders.set(groupId, target);
        return response.result;
      } catch (caught) {
        const error = ConnectError.from(caught);
        const hint = error.code === Code.FailedPrecondition ? error.findDetails(NotLeaderSchema)[0] : undefined;
        if (hint !== undefined && hint.leaderNodeId !== 0n && Number(hint.leaderNodeId) !== target) {
          target = Number(hint.leaderNodeId); // straight to the leader, no pause
          this.retries++;
          continue;
        }
        const mayRetry =
          hint !== undefined || retryable.has(error.code) ||
          (unknownOutcome.has(error.code) && (kind === ExecuteKind.QUERY || options.idempotent === true));
        if (!mayRetry) throw error;
        this.leaders.delete(groupId);
        target = this.nextNode(target);
        this.retries++;
        await new Promise((done) => setTimeout(done, Math.min(backoffMs * (0.5 + Math.random()), deadline - Date.now())));
        backoffMs = Math.min(backoffMs * 2, this.backoffMaxMs);
      }
    }
  }

  async put(groupId: number, key: string, value: string, options: ExecuteOptions = {}): Promise<KvResult> {
    const payload = encodeKvRequest({ op: KvOp.Put, key: utf8(key), value: utf8(value) });
    return decodeKvResult(await this.execute(groupId, ExecuteKind.COMMAND, payload, { idempotent: true, ...options }));
  }

  async get(groupId: number, key: string, options: ExecuteOptions = {}): Promise<string | undefined> {
    const payload = encodeKvRequest({ op: KvOp.Get, key: utf8(key) });
    const result = decodeKvResult(await this.execute(groupId, ExecuteKind.QUERY, payload, options));
    if (result.status === "error") throw new Error(`group ${groupId} get ${key}: ${result.message}`);
    return result.status === "present" ? new TextDecoder().decode(result.value) : undefined;
  }

  status(nodeId: number, groupIds: readonly number[] = []): Promise<StatusResponse> {
    return this.admins.get(nodeId)!.status({ groupIds: groupIds.map(BigInt) }, { timeoutMs: 10_000 });
  }

  private nextNode(after?: number): number {
    if (after !== undefined) return this.nodeIds[(this.nodeIds.indexOf(after) + 1) % this.nodeIds.length]!;
    return this.nodeIds[this.rotation++ % this.nodeIds.length]!;
  }
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
