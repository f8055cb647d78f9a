import { create } from "@bufbuild/protobuf";
import { beforeEach, describe, expect, it } from "vitest";
import type { MetaStateMachine } from "../../../framework/cluster/index.js";
import {
  AdoptPartition,
  CreatePartition,
  DeletePartition,
  ListNodes,
  ListPartitions,
  PartitionForKey,
  RegisterNode,
  SetNodeState,
  UpdatePartition,
  createMetaStateMachine,
  nodeStateToWire,
} from "../../../framework/cluster/index.js";
import type { ExecutableMessage } from "../../../framework/statemachine/index.js";
import {
  StateMachineErrorCode,
  buildCommand,
  buildQuery,
  isStateMachineError,
  readCommandResult,
  readQueryResult,
} from "../../../framework/statemachine/index.js";
import {
  AdoptPartitionRequestSchema,
  CreatePartitionRequestSchema,
  DeletePartitionRequestSchema,
  ListNodesRequestSchema,
  ListPartitionsRequestSchema,
  PartitionForKeyRequestSchema,
  RegisterNodeRequestSchema,
  SetNodeStateRequestSchema,
  UpdatePartitionRequestSchema,
} from "../../../gen/raftkit/v1/cluster_pb.js";

let meta: MetaStateMachine;
let index = 0;
const nowMs = 1_700_000_000_000;

async function command<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  request: Request,
): Promise<Response> {
  const data = meta.machine.prepareProposal(buildCommand(descriptor, request, undefined), nowMs + index);
  index++;
  const [result] = await meta.machine.apply([{ index, term: 1, data }]);
  return readCommandResult(descriptor, result!);
}

async function query<Request, Response>(
  descriptor: ExecutableMessage<Request, Response>,
  request: Request,
): Promise<Response> {
  return readQueryResult(descriptor, await meta.machine.query(buildQuery(descriptor, request)));
}

async function refusal(promise: Promise<unknown>, code: StateMachineErrorCode, text: string) {
  const error = await promise.then(() => undefined, (reason: unknown) => reason);
  expect(isStateMachineError(error, code), String(error)).toBe(true);
  expect(String(error)).toContain(text);
}

const register = (nodeId: number, zone = "", capacity = 0) =>
  command(RegisterNode, create(RegisterNodeRequestSchema, { nodeId: BigInt(nodeId), address: `h:${nodeId}`, zone, capacity }));

const createPartition = (key = "", replicationFactor = 0, stateMachineType = "events") =>
  command(CreatePartition, create(CreatePartitionRequestSchema, { stateMachineType, key, replicationFactor }));

const adopt = (partitionId: number, replicas = [1, 2, 3], replicationFactor = 3, stateMachineType = "events") =>
  command(AdoptPartition, create(AdoptPartitionRequestSchema, {
    partitionId: BigInt(partitionId),
    stateMachineType,
    replicationFactor,
    replicas: replicas.map(BigInt),
  }));

async function snapshotRestored(): Promise<void> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of meta.machine.saveSnapshot()) chunks.push(chunk);
  meta = createMetaStateMachine({ partitionId: 1_000_000, defaultReplicationFactor: 3 });
  await meta.machine.open();
  await meta.machine.restoreSnapshot(index, (async function* () {
    yield* chunks;
  })());
}

beforeEach(async () => {
  meta = createMetaStateMachine({ partitionId: 1_000_000, defaultReplicationFactor: 3 });
  index = 0;
  await meta.machine.open();
});

describe("meta state machine: nodes", () => {
  it("registers nodes alive with the apply context's time; re-registering keeps draining", async () => {
    const first = await register(1, "a", 2);
    expect(first.node?.state).toBe(nodeStateToWire("alive"));
    expect(first.node?.zone).toBe("a");
    expect(first.node?.capacity).toBe(2);
    await command(SetNodeState, create(SetNodeStateRequestSchema, { nodeId: 1n, state: nodeStateToWire("draining") }));
    expect((await register(1)).node?.state).toBe(nodeStateToWire("draining"));
    const listed = await query(ListNodes, create(ListNodesRequestSchema));
    expect(listed.nodes.map((node) => Number(node.nodeId))).toEqual([1]);
  });

  it("refuses to remove a node that still holds replicas, and never reuses a removed id", async () => {
    for (const id of [1, 2, 3, 4]) await register(id);
    const partition = (await createPartition()).partition!;
    const holder = Number(partition.replicas[0]);
    const removed = nodeStateToWire("removed");
    await refusal(
      command(SetNodeState, create(SetNodeStateRequestSchema, { nodeId: BigInt(holder), state: removed })),
      StateMachineErrorCode.FailedPrecondition,
      "drain it first",
    );
    const free = [1, 2, 3, 4].find((id) => !partition.replicas.includes(BigInt(id)))!;
    await command(SetNodeState, create(SetNodeStateRequestSchema, { nodeId: BigInt(free), state: removed }));
    await refusal(register(free), StateMachineErrorCode.FailedPrecondition, "never reused");
  });

  it("a draining node stays draining until removed: the detector's verdicts cannot undo a drain", async () => {
    await register(1);
    const setState = (state: Parameters<typeof nodeStateToWire>[0]) =>
      command(SetNodeState, create(SetNodeStateRequestSchema, { nodeId: 1n, state: nodeStateToWire(state) }));
    await setState("draining");
    for (const state of ["alive", "suspect", "dead"] as const) {
      await refusal(setState(state), StateMachineErrorCode.FailedPrecondition,
        `node 1 is draining: only removal ends that, not ${state}`);
    }
    expect((await setState("draining")).node?.state).toBe(nodeStateToWire("draining"));
    expect((await setState("removed")).node?.state).toBe(nodeStateToWire("removed"));
  });

  it("refuses unknown nodes and bad ids", async () => {
    await refusal(
      command(SetNodeState, create(SetNodeStateRequestSchema, { nodeId: 9n, state: nodeStateToWire("dead") })),
      StateMachineErrorCode.NotFound,
      "node 9",
    );
    await refusal(
      command(RegisterNode, create(RegisterNodeRequestSchema, { nodeId: 0n, address: "x" })),
      StateMachineErrorCode.InvalidArgument,
      "node id 0",
    );
  });
});

describe("meta state machine: partitions", () => {
  it("places partitions by least load over alive nodes, ids ascending, epoch 1", async () => {
    for (const id of [1, 2, 3, 4]) await register(id);
    const replicas: number[][] = [];
    for (let count = 0; count < 4; count++) {
      const { partition, created } = await createPartition();
      expect(created).toBe(true);
      expect(partition?.partitionId).toBe(BigInt(count + 1));
      expect(partition?.epoch).toBe(1n);
      replicas.push(partition!.replicas.map(Number));
    }
    // 12 replicas over 4 nodes: 3 each.
    const perNode = [1, 2, 3, 4].map((id) => replicas.flat().filter((r) => r === id).length);
    expect(perNode).toEqual([3, 3, 3, 3]);
  });

  it("is idempotent per key and maps the key to its partition", async () => {
    for (const id of [1, 2, 3]) await register(id);
    const first = await createPartition("orders");
    const again = await createPartition("orders");
    expect(again.created).toBe(false);
    expect(again.partition).toEqual(first.partition);
    const found = await query(
      PartitionForKey,
      create(PartitionForKeyRequestSchema, { stateMachineType: "events", key: "orders" }),
    );
    expect(found.partition?.partitionId).toBe(first.partition?.partitionId);
    await refusal(createPartition("orders", 1), StateMachineErrorCode.AlreadyExists, "replication factor 3, not 1");
  });

  it("hashes unbound keys over pooled partitions only; none → NotFound", async () => {
    for (const id of [1, 2, 3]) await register(id);
    await createPartition("bound");
    await refusal(
      query(PartitionForKey, create(PartitionForKeyRequestSchema, { stateMachineType: "events", key: "x" })),
      StateMachineErrorCode.NotFound,
      'key "x"',
    );
    await createPartition();
    await createPartition();
    const seen = new Set<bigint>();
    for (let key = 0; key < 50; key++) {
      const found = await query(
        PartitionForKey,
        create(PartitionForKeyRequestSchema, { stateMachineType: "events", key: `k${key}` }),
      );
      seen.add(found.partition!.partitionId);
    }
    expect([...seen].sort()).toEqual([2n, 3n]);
  });

  it("refuses a partition when too few alive nodes in distinct zones exist", async () => {
    await register(1, "a");
    await register(2, "a");
    await register(3, "b");
    await refusal(createPartition(), StateMachineErrorCode.ResourceExhausted, "distinct zones");
    expect((await createPartition("", 2)).partition?.replicas.length).toBe(2);
  });

  it("updates membership only at the expected epoch, and deletes", async () => {
    for (const id of [1, 2, 3, 4]) await register(id);
    const partition = (await createPartition()).partition!;
    const update = (expectedEpoch: bigint) =>
      command(
        UpdatePartition,
        create(UpdatePartitionRequestSchema, {
          partitionId: partition.partitionId,
          expectedEpoch,
          replicas: [1n, 2n, 3n],
          learners: [4n],
          leaderHint: 2n,
        }),
      );
    const updated = (await update(1n)).partition!;
    expect([updated.epoch, updated.learners, updated.leaderHint]).toEqual([2n, [4n], 2n]);
    await refusal(update(1n), StateMachineErrorCode.Aborted, "epoch 2");
    await command(DeletePartition, create(DeletePartitionRequestSchema, { partitionId: partition.partitionId }));
    expect((await query(ListPartitions, create(ListPartitionsRequestSchema))).partitions).toEqual([]);
  });

  it("restores the same table from a snapshot", async () => {
    for (const id of [1, 2, 3]) await register(id, `z${id}`);
    await createPartition("a");
    await createPartition();
    const chunks: Uint8Array[] = [];
    for await (const chunk of meta.machine.saveSnapshot()) chunks.push(chunk);
    const before = await query(ListPartitions, create(ListPartitionsRequestSchema));
    const nodesBefore = await query(ListNodes, create(ListNodesRequestSchema));
    meta = createMetaStateMachine({ partitionId: 1_000_000, defaultReplicationFactor: 3 });
    await meta.machine.open();
    await meta.machine.restoreSnapshot(index, (async function* () {
      yield* chunks;
    })());
    expect(await query(ListPartitions, create(ListPartitionsRequestSchema))).toEqual(before);
    expect(await query(ListNodes, create(ListNodesRequestSchema))).toEqual(nodesBefore);
    // The id counter survived: the next partition gets id 3.
    expect((await createPartition()).partition?.partitionId).toBe(3n);
  });
});

describe("meta state machine: adopting static partitions", () => {
  it("adopts running groups under their own ids; CreatePartition hands out the next id above", async () => {
    for (const id of [1, 2, 3]) await register(id);
    for (const partitionId of [1, 2, 3, 4, 5, 6]) {
      const answer = await adopt(partitionId, [3, 1, 2]);
      expect(answer.adopted).toBe(true);
      expect(answer.partition?.replicas).toEqual([1n, 2n, 3n]);
      expect(answer.partition?.epoch).toBe(1n);
      expect(answer.partition?.key).toBe("");
    }
    const listed = await query(ListPartitions, create(ListPartitionsRequestSchema));
    expect(listed.partitions.map((p) => Number(p.partitionId))).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await createPartition("", 0, "kv")).partition?.partitionId).toBe(7n);
  });

  it("is idempotent: the same facts again change nothing, recorded voters included", async () => {
    for (const id of [1, 2, 3, 4]) await register(id);
    const first = (await adopt(2)).partition!;
    const update = create(UpdatePartitionRequestSchema, {
      partitionId: 2n, expectedEpoch: 1n, replicas: [1n, 2n, 4n], learners: [],
    });
    await command(UpdatePartition, update);
    // A node restarting re-adopts with its boot voters: the controller's record stays.
    const again = await adopt(2, [1, 2, 3]);
    expect(again.adopted).toBe(false);
    expect(again.partition?.replicas).toEqual([1n, 2n, 4n]);
    expect(again.partition?.epoch).toBe(first.epoch + 1n);
    expect((await createPartition()).partition?.partitionId).toBe(3n);
  });

  it("refuses conflicting facts, a created partition's id, bad ids and unregistered voters", async () => {
    for (const id of [1, 2, 3]) await register(id);
    await adopt(1);
    await refusal(adopt(1, [1, 2, 3], 3, "kv"), StateMachineErrorCode.AlreadyExists, 'type "events", not "kv"');
    await refusal(adopt(1, [1, 2], 2), StateMachineErrorCode.AlreadyExists, "replication factor 3, not 2");
    await createPartition("orders");
    await refusal(adopt(2), StateMachineErrorCode.AlreadyExists, 'created for key "orders"');
    await refusal(adopt(3, [1, 9]), StateMachineErrorCode.FailedPrecondition, "node 9 not registered yet");
    await refusal(adopt(3, []), StateMachineErrorCode.InvalidArgument, "allowed ≥ 1 node");
    await refusal(adopt(3, [1, 1]), StateMachineErrorCode.InvalidArgument, "distinct");
    await refusal(adopt(3, [1], 0), StateMachineErrorCode.InvalidArgument, "replication_factor 0");
    await refusal(adopt(3, [1], 1, ""), StateMachineErrorCode.InvalidArgument, "state_machine_type");
    await refusal(adopt(2_147_483_000), StateMachineErrorCode.InvalidArgument, "meta group");
    await refusal(adopt(0), StateMachineErrorCode.InvalidArgument, "partition id 0");
    // Nothing refused changed the table.
    const listed = await query(ListPartitions, create(ListPartitionsRequestSchema));
    expect(listed.partitions.map((p) => [Number(p.partitionId), p.stateMachineType])).toEqual([
      [1, "events"],
      [2, "events"],
    ]);
    expect((await createPartition()).partition?.partitionId).toBe(3n);
  });

  it("never hands out an id twice over adoptions, creations and deletions (seeded runs)", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      meta = createMetaStateMachine({ partitionId: 1_000_000, defaultReplicationFactor: 3 });
      await meta.machine.open();
      for (const id of [1, 2, 3]) await register(id);
      let state = seed;
      const next = (bound: number): number => {
        state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
        return state % bound;
      };
      const handedOut = new Set<number>();
      const live = new Set<number>();
      for (let step = 0; step < 40; step++) {
        const choice = next(4);
        if (choice === 0) {
          const id = (await createPartition()).partition!.partitionId;
          expect(handedOut.has(Number(id)), `seed ${seed}: id ${id} handed out twice`).toBe(false);
          handedOut.add(Number(id));
          live.add(Number(id));
        } else if (choice === 1) {
          const id = 1 + next(30);
          if (live.has(id)) continue;
          await adopt(id);
          handedOut.add(id);
          live.add(id);
        } else if (choice === 2 && live.size > 0) {
          const id = [...live][next(live.size)]!;
          await command(DeletePartition, create(DeletePartitionRequestSchema, { partitionId: BigInt(id) }));
          live.delete(id);
        } else {
          await snapshotRestored();
        }
      }
      const listed = await query(ListPartitions, create(ListPartitionsRequestSchema));
      expect(listed.partitions.map((p) => Number(p.partitionId)).sort((a, b) => a - b))
        .toEqual([...live].sort((a, b) => a - b));
    }
  });

  it("keeps adopted partitions and the counter above them through a snapshot", async () => {
    for (const id of [1, 2, 3]) await register(id);
    await adopt(4);
    await adopt(9, [2], 1, "kv");
    const before = await query(ListPartitions, create(ListPartitionsRequestSchema));
    await snapshotRestored();
    expect(await query(ListPartitions, create(ListPartitionsRequestSchema))).toEqual(before);
    expect((await adopt(9, [2], 1, "kv")).adopted).toBe(false);
    expect((await createPartition()).partition?.partitionId).toBe(10n);
  });
});
