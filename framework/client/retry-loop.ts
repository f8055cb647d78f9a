/**
 * Sends one request to a partition's leader until it is answered or the
 * deadline passes: leader cache, NotLeader redirects (straight to the hint,
 * no pause), other retryable failures after a backoff with jitter, rotating
 * through the nodes. A retried command resends the same bytes (the same
 * session stamp), so it applies at most once.
 */
import { Code } from "@connectrpc/connect";
import { errorCodeFromWire, StateMachineError } from "../statemachine/index.js";
import type { AttemptFailure } from "./attempt-outcome.js";
import { backoffDelayMs } from "./backoff.js";
import type { ResolvedClientOptions } from "./client-options.js";
import { normaliseNodeUrl } from "./client-options.js";
import { ClientError, ClientErrorCode } from "./errors.js";
import type { ClientErrorContext } from "./errors.js";
import type { ExecuteRequestInit, NodeChannel } from "./node-channel.js";

export interface RetryTarget {
  readonly partition: number;
  readonly typeName: string;
  readonly request: ExecuteRequestInit;
  /** Stale reads may be answered by any replica: no leader is learnt from them. */
  readonly needsLeader: boolean;
  readonly deadlineMs: number;
  readonly signal: AbortSignal | undefined;
}

/** What the loop needs of the client: its nodes, channels and leader cache. */
export interface RetryRouting {
  readonly options: ResolvedClientOptions;
  channel(url: string): NodeChannel;
  leader(partition: number): string | undefined;
  setLeader(partition: number, url: string | undefined): void;
  /** The node after `url` in the client's list (the first for undefined). */
  nextNode(url: string | undefined, partition: number): string;
  isClosed(): boolean;
}

type Verdict = { readonly action: "redirect"; readonly url: string } | { readonly action: "retry"; readonly rotate: boolean };

export async function executeWithRetries(routing: RetryRouting, target: RetryTarget): Promise<Uint8Array> {
  const { clock, attemptTimeoutMs, backoff, random, nodes } = routing.options;
  const deadline = clock.now() + target.deadlineMs;
  let url = routing.leader(target.partition) ?? routing.nextNode(undefined, target.partition);
  const notFoundAt = new Set<string>();
  let attempts = 0;
  let pauses = 0;
  let last: AttemptFailure | undefined;
  for (;;) {
    const context = (): ClientErrorContext => contextOf(target, url, attempts, last);
    checkLive(routing, target, deadline, context);
    attempts++;
    const timeoutMs = Math.max(1, Math.floor(Math.min(attemptTimeoutMs, deadline - clock.now())));
    const outcome = await abortable(routing.channel(url).execute(target.request, timeoutMs), target.signal);
    if (outcome === undefined) continue; // aborted: checkLive throws
    if (outcome.ok) {
      if (target.needsLeader) routing.setLeader(target.partition, url);
      return outcome.response.result;
    }
    last = outcome.failure;
    if (last.partitionNotFound) notFoundAt.add(url);
    if (notFoundAt.size >= nodes.length) {
      throw new ClientError(ClientErrorCode.PartitionNotFound, `partition ${target.partition} runs on none of ${nodes.length} nodes`, context());
    }
    const verdict = judge(last, url, target, context);
    if (verdict.action === "redirect" && verdict.url !== url) {
      url = verdict.url;
      routing.setLeader(target.partition, url);
      if (attempts <= 2 * nodes.length) continue;
    }
    if (verdict.action === "retry" && verdict.rotate) {
      routing.setLeader(target.partition, undefined);
      url = routing.nextNode(url, target.partition);
    }
    const pause = backoffDelayMs(pauses++, backoff, random.nextUint32() / 2 ** 32);
    await abortable(clock.sleep(Math.max(0, Math.min(pause, deadline - clock.now()))), target.signal);
  }
}

function checkLive(routing: RetryRouting, target: RetryTarget, deadline: number, context: () => ClientErrorContext): void {
  if (routing.isClosed()) throw new ClientError(ClientErrorCode.Closed, "the client is closed", context());
  if (target.signal?.aborted === true) {
    throw new ClientError(ClientErrorCode.Aborted, `${target.typeName}: aborted by the caller`, context(), { cause: target.signal.reason });
  }
  if (routing.options.clock.now() >= deadline) {
    const last = context().lastCode;
    throw new ClientError(
      ClientErrorCode.DeadlineExceeded,
      `${target.typeName} on partition ${target.partition}: deadline of ${target.deadlineMs} ms passed` +
        (last === undefined ? "" : ` (last failure: ${last})`),
      context(),
    );
  }
}

/** Retry where, or give up (throws) — by the failure's code and details. */
function judge(failure: AttemptFailure, url: string, target: RetryTarget, context: () => ClientErrorContext): Verdict {
  if (failure.executionError !== undefined) {
    const code = errorCodeFromWire(failure.executionError.code);
    const cause = new StateMachineError(code, failure.executionError.message);
    throw new ClientError(ClientErrorCode.StateMachine, failure.executionError.message, { ...context(), executionCode: code }, { cause });
  }
  if (failure.notLeader !== undefined) {
    const hinted = hintedUrl(failure.notLeader.leaderAddress);
    return hinted !== undefined && hinted !== url ? { action: "redirect", url: hinted } : { action: "retry", rotate: true };
  }
  switch (failure.code) {
    case Code.Unavailable:
    case Code.Unknown:
    case Code.Canceled:
    case Code.NotFound:
      return { action: "retry", rotate: true };
    case Code.Aborted:
    case Code.DeadlineExceeded:
      return { action: "retry", rotate: false };
    case Code.ResourceExhausted:
      if (failure.overloaded) return { action: "retry", rotate: false };
      break;
    case Code.Internal:
      throw new ClientError(ClientErrorCode.Internal, `${target.typeName} at ${url}: ${failure.message}`, context());
    default:
      break;
  }
  throw new ClientError(ClientErrorCode.InvalidArgument, `${target.typeName} at ${url}: ${failure.message}`, context());
}

/** The NotLeader detail's address as a node URL; undefined when empty or not a URL. */
function hintedUrl(address: string): string | undefined {
  if (address === "") return undefined;
  try {
    return normaliseNodeUrl(address);
  } catch {
    return undefined;
  }
}

function contextOf(target: RetryTarget, url: string, attempts: number, last: AttemptFailure | undefined): ClientErrorContext {
  return {
    partition: target.partition,
    typeName: target.typeName,
    node: url,
    attempts,
    ...(last === undefined ? {} : { lastCode: `${Code[last.code]}: ${last.message}` }),
  };
}

/** The promise's value, or undefined as soon as the signal fires. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
