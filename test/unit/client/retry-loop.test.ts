/**
 * The retry loop against scripted nodes (each attempt's outcome given by the
 * test) and a manual clock: where each attempt goes, when it gives up, and
 * which error the caller gets.
 */
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ClientErrorCode, isClientError } from "../../../framework/client/index.js";
import type { AttemptFailure, AttemptOutcome } from "../../../framework/client/attempt-outcome.js";
import { resolveClientOptions } from "../../../framework/client/client-options.js";
import type { ClientClock } from "../../../framework/client/client-options.js";
import type { NodeChannel } from "../../../framework/client/node-channel.js";
import { executeWithRetries } from "../../../framework/client/retry-loop.js";
import type { RetryRouting, RetryTarget } from "../../../framework/client/retry-loop.js";
import { StateMachineErrorCode, errorCodeToWire } from "../../../framework/statemachine/index.js";
import { ExecuteResponseSchema, NotLeaderSchema } from "../../../gen/raftkit/v1/gateway_pb.js";
import { ExecutionErrorSchema } from "../../../gen/raftkit/v1/envelope_pb.js";

const nodes = ["http://n1:1", "http://n2:2", "http://n3:3"];

function failure(code: Code, extra: Partial<AttemptFailure> = {}): AttemptOutcome {
  const base: AttemptFailure = { code, message: `failed with ${Code[code]}`, notLeader: undefined, executionError: undefined, overloaded: false, partitionNotFound: false };
  return { ok: false, failure: { ...base, ...extra } };
}

const success = (byte: number): AttemptOutcome => ({ ok: true, response: create(ExecuteResponseSchema, { result: new Uint8Array([byte]) }) });

/** Nodes answering from a script (by URL); records where each attempt went and the clock's sleeps. */
function scripted(script: Record<string, AttemptOutcome[]>) {
  let now = 0;
  const sleeps: number[] = [];
  const visits: string[] = [];
  const clock: ClientClock = { now: () => now, sleep: async (ms) => { sleeps.push(ms); now += ms; } };
  let draws = 0;
  const options = resolveClientOptions({ nodes, clock, random: { nextUint32: () => (draws++ * 0x9e3779b9) >>> 0 }, backoff: { initialMs: 10, maxMs: 80 } });
  const leaders = new Map<number, string>();
  const routing: RetryRouting = {
    options,
    channel: (url): NodeChannel => ({
      url,
      close: () => undefined,
      execute: async (_request, timeoutMs) => {
        visits.push(url);
        expect(Number.isInteger(timeoutMs)).toBe(true);
        const next = script[url]?.shift();
        if (next === undefined) { now += timeoutMs; return failure(Code.DeadlineExceeded); }
        now += 1;
        return next;
      },
    }),
    leader: (partition) => leaders.get(partition),
    setLeader: (partition, url) => (url === undefined ? leaders.delete(partition) : leaders.set(partition, url)),
    nextNode: (url, partition) => nodes[url === undefined ? partition % 3 : (nodes.indexOf(url) + 1) % 3]!,
    isClosed: () => false,
  };
  return { routing, visits, sleeps, leaders };
}

const target = (deadlineMs = 1_000, signal?: AbortSignal): RetryTarget => ({
  partition: 3, typeName: "t.v1.S/M", request: { groupId: 3n }, needsLeader: true, deadlineMs, signal,
});

describe("client retry loop", () => {
  it("follows a NotLeader hint at once, then caches the leader", async () => {
    const hint = create(NotLeaderSchema, { groupId: 3n, leaderNodeId: 2n, leaderAddress: "http://n2:2/" });
    const { routing, visits, sleeps, leaders } = scripted({ "http://n1:1": [failure(Code.FailedPrecondition, { notLeader: hint })], "http://n2:2": [success(7)] });
    expect(await executeWithRetries(routing, target())).toEqual(new Uint8Array([7]));
    expect(visits).toEqual(["http://n1:1", "http://n2:2"]);
    expect(sleeps).toEqual([]);
    expect(leaders.get(3)).toBe("http://n2:2");
  });

  it("retries unavailable nodes on the next node after a growing, jittered pause", async () => {
    const { routing, visits, sleeps } = scripted({
      "http://n1:1": [failure(Code.Unavailable)], "http://n2:2": [failure(Code.Unavailable)], "http://n3:3": [failure(Code.Unavailable)],
    });
    routing.setLeader(3, "http://n1:1");
    const outcome = executeWithRetries(routing, target(1_000));
    await expect(outcome).rejects.toSatisfy((error) => isClientError(error, ClientErrorCode.DeadlineExceeded));
    expect(visits.slice(0, 4)).toEqual(["http://n1:1", "http://n2:2", "http://n3:3", "http://n1:1"]);
    expect(sleeps[0]).toBeGreaterThanOrEqual(5);
    expect(sleeps[0]).toBeLessThanOrEqual(10);
    expect(sleeps[2]).toBeGreaterThanOrEqual(20);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(80);
  });

  it("does not retry a state machine error: it reaches the caller with its code and message", async () => {
    const executionError = create(ExecutionErrorSchema, { code: errorCodeToWire(StateMachineErrorCode.NotFound), message: "key k not found" });
    const { routing, visits } = scripted({ "http://n1:1": [failure(Code.NotFound, { executionError })] });
    const error = await executeWithRetries(routing, target()).catch((reason: unknown) => reason);
    expect(isClientError(error, ClientErrorCode.StateMachine)).toBe(true);
    expect(isClientError(error) && error.context.executionCode).toBe(StateMachineErrorCode.NotFound);
    expect(String(error)).toMatch(/key k not found/);
    expect(visits).toEqual(["http://n1:1"]);
  });

  it("retries an overloaded node in place, but not a request too large for it", async () => {
    const { routing, visits } = scripted({ "http://n1:1": [failure(Code.ResourceExhausted, { overloaded: true }), success(1)] });
    expect(await executeWithRetries(routing, target())).toEqual(new Uint8Array([1]));
    expect(visits).toEqual(["http://n1:1", "http://n1:1"]);
    const tooLarge = scripted({ "http://n1:1": [failure(Code.ResourceExhausted)] });
    const error = await executeWithRetries(tooLarge.routing, target()).catch((reason: unknown) => reason);
    expect(isClientError(error, ClientErrorCode.InvalidArgument)).toBe(true);
  });

  it("says partition not found once every node said so", async () => {
    const notHere = failure(Code.NotFound, { partitionNotFound: true });
    const { routing, visits } = scripted({ "http://n1:1": [notHere], "http://n2:2": [notHere], "http://n3:3": [notHere] });
    const error = await executeWithRetries(routing, target()).catch((reason: unknown) => reason);
    expect(isClientError(error, ClientErrorCode.PartitionNotFound)).toBe(true);
    expect(String(error)).toMatch(/partition 3 runs on none of 3 nodes/);
    expect(new Set(visits).size).toBe(3);
  });

  it("stops at once when the caller aborts", async () => {
    const controller = new AbortController();
    controller.abort(new Error("user gave up"));
    const { routing, visits } = scripted({});
    const error = await executeWithRetries(routing, target(1_000, controller.signal)).catch((reason: unknown) => reason);
    expect(isClientError(error, ClientErrorCode.Aborted)).toBe(true);
    expect(visits).toEqual([]);
  });

  it("retries an attempt that timed out (same bytes) while the deadline allows", async () => {
    const { routing, visits } = scripted({ "http://n1:1": [failure(Code.DeadlineExceeded), success(9)] });
    expect(await executeWithRetries(routing, target())).toEqual(new Uint8Array([9]));
    expect(visits).toEqual(["http://n1:1", "http://n1:1"]);
  });
});
