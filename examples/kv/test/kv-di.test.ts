/**
 * The generated DI glue: bindKvService binds the executor (transient, one
 * per partition replica) and a StateMachineProvider of type "kvstore" that
 * builds a working executable state machine per partition.
 */
import "reflect-metadata";
import { Container } from "inversify";
import { describe, expect, it } from "vitest";
import type { PartitionInfo } from "../../../framework/cluster/index.js";
import {
  createPartitionScopeFactory,
  PartitionScopeFactoryToken,
  resolveProviders,
} from "../../../framework/di/index.js";
import {
  buildCommand,
  buildQuery,
  readCommandResult,
  readQueryResult,
} from "../../../framework/statemachine/index.js";
import { KvServiceGet, KvServicePut } from "../gen/kv/v1/kv_raftkit.js";
import { bindKvService, KvServiceExecutorToken } from "../gen/kv/v1/kv_raftkit_di.js";
import { KvExecutor } from "../kv-executor.js";

const partition = (partitionId: number): PartitionInfo => ({
  partitionId, stateMachineType: "kvstore", replicationFactor: 3, replicas: [1, 2, 3], epoch: 1,
});

function containerWithKv(): Container {
  const container = new Container();
  bindKvService(container, KvExecutor);
  container.bind(PartitionScopeFactoryToken)
    .toConstantValue(createPartitionScopeFactory(container));
  return container;
}

describe("generated DI glue of kv.v1.KvService", () => {
  it("provides type kvstore; each partition's machine has its own executor", async () => {
    const container = containerWithKv();
    const providers = resolveProviders(container);
    expect([...providers.keys()]).toEqual(["kvstore"]);
    const provider = providers.get("kvstore");
    const first = provider?.create(partition(1), 1);
    const second = provider?.create(partition(2), 1);
    if (first === undefined || second === undefined) throw new Error("no kvstore provider");
    await first.open();
    await second.open();
    const data = buildCommand(KvServicePut, { key: "a", value: new Uint8Array([1]) }, undefined);
    const [result] = await first.apply([{ index: 1, term: 1, data }]);
    expect(readCommandResult(KvServicePut, result ?? new Uint8Array())).toEqual({ version: 1n });
    const query = buildQuery(KvServiceGet, { key: "a" });
    expect(readQueryResult(KvServiceGet, await first.query(query)).found).toBe(true);
    expect(readQueryResult(KvServiceGet, await second.query(query)).found).toBe(false);
  });

  it("binds the executor class transient under its token", () => {
    const container = containerWithKv();
    const one = container.get(KvServiceExecutorToken);
    const two = container.get(KvServiceExecutorToken);
    expect(one).toBeInstanceOf(KvExecutor);
    expect(one).not.toBe(two);
  });
});
