import { describe, expect, it } from "vitest";
import type { ClusterEvent, StaticClusterTable } from "../../../framework/cluster/index.js";
import {
  ClusterErrorCode,
  bucketForKey,
  fnv1a64,
  createStaticClusterManager,
  createUniformStaticTable,
  isClusterError,
} from "../../../framework/cluster/index.js";

const nodes = [
  { nodeId: 1, address: "127.0.0.1:7001", zone: "a" },
  { nodeId: 2, address: "127.0.0.1:7002", zone: "b" },
  { nodeId: 3, address: "127.0.0.1:7003", zone: "c", capacity: 2 },
];

const table: StaticClusterTable = {
  nodes,
  partitions: [
    { partitionId: 10, stateMachineType: "events", replicas: [3, 1, 2], leaderHint: 2 },
    { partitionId: 11, stateMachineType: "events", replicas: [1, 2, 3] },
    { partitionId: 12, stateMachineType: "events", replicas: [1, 2, 3] },
    { partitionId: 20, stateMachineType: "events", replicas: [1, 2, 3], free: true },
    { partitionId: 21, stateMachineType: "events", replicas: [1], free: true },
    { partitionId: 30, stateMachineType: "kv", replicas: [1, 2, 3] },
  ],
  keys: [{ stateMachineType: "events", key: "orders", partitionId: 12 }],
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error,
  );
}

async function expectCode(promise: Promise<unknown>, code: ClusterErrorCode, text: string) {
  const error = await rejection(promise);
  expect(isClusterError(error, code), String(error)).toBe(true);
  expect(String(error)).toContain(text);
}

describe("static cluster manager: reads", () => {
  it("lists partitions by id with sorted replicas, leader hints and epoch 1", async () => {
    const manager = createStaticClusterManager(table);
    const partitions = await manager.partitions();
    expect(partitions.map((p) => p.partitionId)).toEqual([10, 11, 12, 20, 21, 30]);
    expect(await manager.partition(10)).toEqual({
      partitionId: 10,
      stateMachineType: "events",
      replicationFactor: 3,
      replicas: [1, 2, 3],
      leaderHint: 2,
      epoch: 1,
    });
  });

  it("lists nodes as alive with their zones and capacity", async () => {
    const manager = createStaticClusterManager(table);
    const listed = await manager.nodes();
    expect(listed.map((n) => [n.nodeId, n.state, n.zone])).toEqual([
      [1, "alive", "a"],
      [2, "alive", "b"],
      [3, "alive", "c"],
    ]);
    expect(listed[2]?.capacity).toBe(2);
  });

  it("refuses an unknown partition naming it", async () => {
    const manager = createStaticClusterManager(table);
    await expectCode(manager.partition(99), ClusterErrorCode.UnknownPartition, "partition 99");
  });
});

describe("static cluster manager: keys", () => {
  it("maps an explicitly bound key to its partition", async () => {
    const manager = createStaticClusterManager(table);
    expect((await manager.partitionForKey("events", "orders")).partitionId).toBe(12);
  });

  it("hashes other keys stably over the type's in-use partitions only", async () => {
    const first = createStaticClusterManager(table);
    const second = createStaticClusterManager({ ...table, partitions: [...table.partitions].reverse() });
    const seen = new Set<number>();
    for (let index = 0; index < 300; index++) {
      const key = `stream-${index}`;
      const partition = await first.partitionForKey("events", key);
      expect([10, 11, 12]).toContain(partition.partitionId);
      expect((await second.partitionForKey("events", key)).partitionId).toBe(partition.partitionId);
      seen.add(partition.partitionId);
    }
    expect([...seen].sort()).toEqual([10, 11, 12]);
  });

  it("keeps the hash independent of the engine: fixed vectors and minimal movement", () => {
    // Jump hash moves a key only to the new bucket when buckets grow.
    for (let index = 0; index < 500; index++) {
      const key = `k${index}`;
      const before = bucketForKey(key, 7);
      const after = bucketForKey(key, 8);
      expect(after === before || after === 7).toBe(true);
    }
    // Published FNV-1a 64 vectors, then this implementation's buckets recorded once:
    // a change here re-routes every hashed key of every deployed cluster.
    expect([fnv1a64(""), fnv1a64("a"), fnv1a64("foobar")]).toEqual([
      0xcbf29ce484222325n,
      0xaf63dc4c8601ec8cn,
      0x85944171f73967e8n,
    ]);
    expect(["", "orders", "ü", "stream-1", "stream-2"].map((key) => bucketForKey(key, 10))).toEqual([
      1, 7, 8, 3, 7,
    ]);
    expect([1, 2, 3, 100, 1000].map((count) => bucketForKey("orders", count))).toEqual([0, 0, 0, 37, 520]);
    expect(bucketForKey("anything", 1)).toBe(0);
  });

  it("refuses a type without partitions, listing the known types", async () => {
    const manager = createStaticClusterManager(table);
    await expectCode(
      manager.partitionForKey("nope", "x"),
      ClusterErrorCode.UnknownStateMachineType,
      'known: events, kv',
    );
  });

  it("refuses hashing when the type has only free partitions", async () => {
    const manager = createStaticClusterManager({
      nodes,
      partitions: [{ partitionId: 1, stateMachineType: "spare", replicas: [1], free: true }],
    });
    await expectCode(manager.partitionForKey("spare", "x"), ClusterErrorCode.FailedPrecondition, "createPartition");
  });
});

describe("static cluster manager: createPartition", () => {
  it("hands out free partitions in id order, binds the key, bumps the epoch, notifies", async () => {
    const manager = createStaticClusterManager(table);
    const events: ClusterEvent[] = [];
    const unsubscribe = manager.watch((event) => events.push(event));
    const created = await manager.createPartition({ stateMachineType: "events", key: "payments" });
    expect(created.partitionId).toBe(20);
    expect(created.epoch).toBe(2);
    expect((await manager.partitionForKey("events", "payments")).partitionId).toBe(20);
    expect(events).toEqual([{ kind: "partition", partition: created }]);
    // Idempotent for the same key.
    expect(await manager.createPartition({ stateMachineType: "events", key: "payments" })).toEqual(created);
    unsubscribe();
    const second = await manager.createPartition({ stateMachineType: "events", replicationFactor: 1 });
    expect(second.partitionId).toBe(21);
    expect(events).toHaveLength(1);
  });

  it("refuses when no free partition fits, saying how many are free", async () => {
    const manager = createStaticClusterManager(table);
    await expectCode(
      manager.createPartition({ stateMachineType: "events", replicationFactor: 5 }),
      ClusterErrorCode.NoCapacity,
      "with replication factor 5",
    );
    await manager.createPartition({ stateMachineType: "events" });
    await manager.createPartition({ stateMachineType: "events" });
    await expectCode(manager.createPartition({ stateMachineType: "events" }), ClusterErrorCode.NoCapacity, "free of that type: 0");
  });

  it("refuses a bound key asked with another replication factor", async () => {
    const manager = createStaticClusterManager(table);
    await expectCode(
      manager.createPartition({ stateMachineType: "events", key: "orders", replicationFactor: 1 }),
      ClusterErrorCode.AlreadyExists,
      "partition 12",
    );
  });

  it("refuses malformed requests", async () => {
    const manager = createStaticClusterManager(table);
    await expectCode(manager.createPartition({ stateMachineType: "" }), ClusterErrorCode.InvalidArgument, "stateMachineType");
    await expectCode(
      manager.createPartition({ stateMachineType: "events", replicationFactor: 0 }),
      ClusterErrorCode.InvalidArgument,
      "replicationFactor: 0",
    );
    await expectCode(manager.createPartition({ stateMachineType: "events", key: "" }), ClusterErrorCode.InvalidArgument, "key");
  });
});

describe("static cluster table: checked at creation", () => {
  const cases: Array<[string, StaticClusterTable, string]> = [
    ["no nodes", { nodes: [], partitions: [] }, "nodes"],
    ["duplicate node", { nodes: [nodes[0]!, nodes[0]!], partitions: [] }, "nodes[1].nodeId"],
    ["bad node id", { nodes: [{ nodeId: 0, address: "x" }], partitions: [] }, "nodes[0].nodeId"],
    ["empty address", { nodes: [{ nodeId: 1, address: "" }], partitions: [] }, "nodes[0].address"],
    ["bad capacity", { nodes: [{ nodeId: 1, address: "x", capacity: -1 }], partitions: [] }, "nodes[0].capacity"],
    [
      "unknown replica",
      { nodes, partitions: [{ partitionId: 1, stateMachineType: "t", replicas: [9] }] },
      "partitions[0].replicas",
    ],
    [
      "replication factor mismatch",
      { nodes, partitions: [{ partitionId: 1, stateMachineType: "t", replicas: [1], replicationFactor: 3 }] },
      "partitions[0].replicationFactor",
    ],
    [
      "leader hint not a replica",
      { nodes, partitions: [{ partitionId: 1, stateMachineType: "t", replicas: [1], leaderHint: 2 }] },
      "partitions[0].leaderHint",
    ],
    [
      "duplicate partition",
      {
        nodes,
        partitions: [
          { partitionId: 1, stateMachineType: "t", replicas: [1] },
          { partitionId: 1, stateMachineType: "t", replicas: [2] },
        ],
      },
      "partitions[1].partitionId",
    ],
    [
      "key on a free partition",
      {
        nodes,
        partitions: [{ partitionId: 1, stateMachineType: "t", replicas: [1], free: true }],
        keys: [{ stateMachineType: "t", key: "k", partitionId: 1 }],
      },
      "keys[0].partitionId",
    ],
    [
      "key of another type",
      {
        nodes,
        partitions: [{ partitionId: 1, stateMachineType: "t", replicas: [1] }],
        keys: [{ stateMachineType: "u", key: "k", partitionId: 1 }],
      },
      "keys[0].stateMachineType",
    ],
  ];
  for (const [name, bad, setting] of cases) {
    it(`refuses ${name}, naming ${setting}`, () => {
      let thrown: unknown;
      try {
        createStaticClusterManager(bad);
      } catch (error) {
        thrown = error;
      }
      expect(isClusterError(thrown, ClusterErrorCode.InvalidConfig), String(thrown)).toBe(true);
      expect(isClusterError(thrown) && thrown.setting).toBe(setting);
    });
  }

  it("builds a uniform table from a node config's groups", async () => {
    const manager = createStaticClusterManager(
      createUniformStaticTable({
        nodes: new Map([[2, "h:2"], [1, "h:1"]]),
        partitionIds: [5, 6],
        stateMachineType: "kv",
      }),
    );
    expect((await manager.partitions()).map((p) => [p.partitionId, p.replicas])).toEqual([
      [5, [1, 2]],
      [6, [1, 2]],
    ]);
  });
});
