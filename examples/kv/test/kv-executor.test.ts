/**
 * The kv state machine as a replica runs it: the generated descriptors and
 * register function around KvExecutor, commands applied from log entries,
 * queries answered, refusals, and a snapshot restored into a new replica.
 */
import { describe, expect, it } from "vitest";
import type {
  ExecutableMessage,
  ExecutableStateMachine,
} from "../../../framework/statemachine/index.js";
import {
  buildCommand,
  buildQuery,
  createExecutableStateMachine,
  createExecutorRegistry,
  isStateMachineError,
  readCommandResult,
  readQueryResult,
  StateMachineErrorCode,
} from "../../../framework/statemachine/index.js";
import {
  KvServiceCompareAndSet,
  KvServiceDelete,
  KvServiceGet,
  KvServicePut,
  registerKvService,
} from "../gen/kv/v1/kv_raftkit.js";
import { KvExecutor, kvKeyBytesMax } from "../kv-executor.js";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A replica whose registry and state are the same executor (as the DI glue builds it). */
function createBoundReplica(): ExecutableStateMachine {
  const executor = new KvExecutor();
  const registry = createExecutorRegistry();
  registerKvService(registry, executor);
  return createExecutableStateMachine({ partitionId: 1, registry, state: executor });
}

class Log {
  private index = 0;
  constructor(private readonly machine: ExecutableStateMachine) {}

  async run<Request, Response>(
    descriptor: ExecutableMessage<Request, Response>,
    request: Request,
  ): Promise<Response> {
    this.index += 1;
    const data = buildCommand(descriptor, request, undefined);
    const [result] = await this.machine.apply([{ index: this.index, term: 1, data }]);
    return readCommandResult(descriptor, result ?? new Uint8Array());
  }

  async read<Request, Response>(
    descriptor: ExecutableMessage<Request, Response>,
    request: Request,
  ): Promise<Response> {
    return readQueryResult(descriptor, await this.machine.query(buildQuery(descriptor, request)));
  }
}

async function refusal(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error("expected a refusal");
}

describe("kv state machine (generated glue + KvExecutor)", () => {
  it("put, get, compare-and-set and delete keep versions", async () => {
    const log = new Log(createBoundReplica());
    expect(await log.run(KvServicePut, { key: "a", value: bytes("1") })).toEqual({ version: 1n });
    expect(await log.run(KvServicePut, { key: "a", value: bytes("2") })).toEqual({ version: 2n });
    expect(await log.read(KvServiceGet, { key: "a" }))
      .toEqual({ found: true, value: bytes("2"), version: 2n });
    const compareAndSet = (key: string, expectedVersion: bigint, value: string) =>
      log.run(KvServiceCompareAndSet, { key, expectedVersion, value: bytes(value) });
    expect(await compareAndSet("a", 1n, "x"))
      .toEqual({ swapped: false, version: 2n });
    expect(await compareAndSet("a", 2n, "3"))
      .toEqual({ swapped: true, version: 3n });
    expect(await compareAndSet("b", 0n, "new"))
      .toEqual({ swapped: true, version: 1n });
    expect(await log.run(KvServiceDelete, { key: "a" })).toEqual({ existed: true });
    expect(await log.run(KvServiceDelete, { key: "a" })).toEqual({ existed: false });
    expect(await log.read(KvServiceGet, { key: "a" }))
      .toEqual({ found: false, value: new Uint8Array(0), version: 0n });
  });

  it("refuses an empty or too long key with invalid_argument, changing nothing", async () => {
    const log = new Log(createBoundReplica());
    for (const key of ["", "k".repeat(kvKeyBytesMax + 1)]) {
      const error = await refusal(() => log.run(KvServicePut, { key, value: bytes("v") }));
      expect(isStateMachineError(error, StateMachineErrorCode.InvalidArgument)).toBe(true);
    }
    expect(await log.run(KvServicePut, { key: "k".repeat(kvKeyBytesMax), value: bytes("v") }))
      .toEqual({ version: 1n });
  });

  it("a snapshot restores every key and version into a new replica", async () => {
    const source = createBoundReplica();
    const log = new Log(source);
    await log.run(KvServicePut, { key: "z", value: bytes("last") });
    await log.run(KvServicePut, { key: "é", value: new Uint8Array([0, 255]) });
    await log.run(KvServicePut, { key: "z", value: bytes("again") });
    const chunks: Uint8Array[] = [];
    for await (const chunk of source.saveSnapshot()) chunks.push(chunk);
    const target = createBoundReplica();
    await target.restoreSnapshot(3, (async function* () {
      for (const chunk of chunks) yield chunk;
    })());
    const restored = new Log(target);
    expect(await restored.read(KvServiceGet, { key: "z" }))
      .toEqual({ found: true, value: bytes("again"), version: 2n });
    expect(await restored.read(KvServiceGet, { key: "é" }))
      .toEqual({ found: true, value: new Uint8Array([0, 255]), version: 1n });
  });
});
