// The UI's pure parts, without a browser: the cluster model derived from
// Status answers, the create-stream field syntax, ingest rates, event rows,
// time input, candles and routes.
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  StreamInfoResponseSchema,
  AggregateResponseSchema,
  ColumnSchema,
  EventsSchema,
  FieldAggregateSchema,
  FieldType,
  WindowSchema,
} from "../../framework/ui/app/gen/eventstore/v1/eventstore_pb.js";
import {
  GroupRole,
  GroupStatusSchema,
  NodeStatusSchema,
  StatusResponseSchema,
} from "../../framework/ui/app/gen/raftkit/v1/node_pb.js";
import {
  ClusterNodeSchema,
  ClusterNodeState,
  ClusterPartitionSchema,
} from "../../framework/ui/app/gen/raftkit/v1/cluster_pb.js";
import type { NodeObservation } from "../../framework/ui/app/src/cluster-model.js";
import { buildClusterModel, healthOf } from "../../framework/ui/app/src/cluster-model.js";
import type { ManagerReading } from "../../framework/ui/app/src/manager-table.js";
import {
  managerTableOf,
  stateSourceText,
  tableInUse,
} from "../../framework/ui/app/src/manager-table.js";
import { candlesOf } from "../../framework/ui/app/src/event-store/candles.js";
import {
  eventTableOf,
  formatMicros,
  formatValue,
  parseTimeInput,
} from "../../framework/ui/app/src/event-store/event-rows.js";
import {
  addSample,
  rateWindowMs,
  ratesOf,
} from "../../framework/ui/app/src/event-store/ingest-rate.js";
import {
  formatSchema,
  parseSchemaText,
} from "../../framework/ui/app/src/event-store/schema-text.js";
import { routeOf } from "../../framework/ui/app/src/route.js";
import type { StreamListing } from "../../framework/ui/app/src/event-store/stream-states.js";
import {
  mergeStreamAnswers,
  streamsToAsk,
} from "../../framework/ui/app/src/event-store/stream-states.js";

function group(
  groupId: number,
  role: GroupRole,
  term: number,
  fields: { leader?: number; commit?: number; applied?: number } = {},
) {
  return create(GroupStatusSchema, {
    groupId: BigInt(groupId),
    role,
    term: BigInt(term),
    leaderNodeId: BigInt(fields.leader ?? 0),
    commitIndex: BigInt(fields.commit ?? 10),
    appliedIndex: BigInt(fields.applied ?? 10),
    lastIndex: BigInt(fields.commit ?? 10),
    voters: [1n, 2n, 3n],
  });
}

function observed(
  nodeId: number,
  groups: ReturnType<typeof group>[],
  extra: Partial<NodeObservation> = {},
): NodeObservation {
  const status = create(StatusResponseSchema, {
    node: create(NodeStatusSchema, { nodeId: BigInt(nodeId), groupCount: groups.length }),
    groups,
  });
  return {
    nodeId,
    address: `127.0.0.1:700${nodeId}`,
    status,
    lastAnswerAtMs: 1000,
    error: undefined,
    ...extra,
  };
}

describe("cluster model", () => {
  it("reads health from the last answer: alive, suspect within the dead timeout, then dead", () => {
    const alive = observed(1, []);
    const failing = { ...alive, error: "[unavailable] down" };
    expect(healthOf(alive, 5000, 3000)).toBe("alive");
    expect(healthOf(failing, 3999, 3000)).toBe("suspect");
    expect(healthOf(failing, 4000, 3000)).toBe("dead");
    expect(healthOf({ ...failing, status: undefined, lastAnswerAtMs: undefined }, 0, 3000)).toBe(
      "dead",
    );
  });

  it("takes the highest term's leader, lag = leader commit − applied, leaderships per node", () => {
    const model = buildClusterModel(
      [
        observed(1, [
          group(1, GroupRole.LEADER, 2, { commit: 10 }),
          group(2, GroupRole.FOLLOWER, 3, { leader: 2, applied: 7 }),
        ]),
        observed(2, [
          group(1, GroupRole.FOLLOWER, 2, { leader: 1, applied: 8 }),
          group(2, GroupRole.LEADER, 3, { commit: 9 }),
        ]),
        // n3 still believes it leads group 1 in an older term (partitioned away): not the leader.
        observed(3, [
          group(1, GroupRole.LEADER, 1, { commit: 4, applied: 4 }),
          group(2, GroupRole.FOLLOWER, 3, { leader: 2 }),
        ]),
      ],
      1000,
      3000,
    );
    expect(
      model.partitions.map((partition) => [
        partition.groupId,
        partition.leaderNodeId,
        partition.term,
      ]),
    ).toEqual([
      [1, 1, 2],
      [2, 2, 3],
    ]);
    expect(model.partitions[0]!.replicas.map((replica) => [replica.nodeId, replica.lag])).toEqual([
      [1, 0],
      [2, 2],
      [3, 6],
    ]);
    expect(model.partitions[1]!.replicas.map((replica) => replica.lag)).toEqual([2, 0, 0]);
    expect(model.nodes.map((node) => [node.nodeId, node.state, node.leaderCount])).toEqual([
      [1, "alive", 1],
      [2, "alive", 1],
      [3, "alive", 0],
    ]);
  });

  it("drops a dead node's stale reports: the others decide the leader", () => {
    const dead = observed(3, [group(1, GroupRole.LEADER, 5)], {
      error: "[unavailable] ECONNREFUSED",
      lastAnswerAtMs: 0,
    });
    const model = buildClusterModel(
      [
        observed(1, [group(1, GroupRole.FOLLOWER, 5, { leader: 3 })]),
        observed(2, [group(1, GroupRole.CANDIDATE, 6)]),
        dead,
      ],
      10_000,
      3000,
    );
    // Term 6 has no leader yet; n2 (term 6) names none: shown as no leader, n3 down.
    expect(model.partitions[0]!.leaderNodeId).toBe(0);
    expect(model.partitions[0]!.replicas.find((replica) => replica.nodeId === 3)).toMatchObject({
      state: "dead",
      role: undefined,
    });
    expect(model.source).toEqual({ kind: "polls" });
    expect(model.nodes[2]).toMatchObject({
      state: "dead",
      health: "dead",
      leaderCount: 0,
      error: "[unavailable] ECONNREFUSED",
    });
  });
});

function managerTable(
  states: ReadonlyArray<[number, ClusterNodeState]>,
  partitions: ReadonlyArray<{ id: number; replicas: number[]; learners?: number[]; hint?: number }>,
) {
  return managerTableOf(
    1,
    states.map(([nodeId, state]) =>
      create(ClusterNodeSchema, {
        nodeId: BigInt(nodeId),
        address: `10.0.0.${nodeId}:7000`,
        state,
      }),
    ),
    partitions.map((partition) =>
      create(ClusterPartitionSchema, {
        partitionId: BigInt(partition.id),
        stateMachineType: "eventstore",
        replicas: partition.replicas.map(BigInt),
        learners: (partition.learners ?? []).map(BigInt),
        leaderHint: BigInt(partition.hint ?? 0),
      }),
    ),
  );
}

describe("cluster model with the cluster manager's table", () => {
  const { ALIVE, DEAD, DRAINING, SUSPECT } = ClusterNodeState;

  it("shows the meta group's node states, its membership and types, the reports' leaders", () => {
    const table = managerTable(
      [
        [1, ALIVE],
        [2, DRAINING],
        [3, SUSPECT],
        [4, ALIVE],
      ],
      [
        { id: 1, replicas: [1, 3, 4], learners: [2] },
        { id: 2, replicas: [1, 2, 3] },
      ],
    );
    const model = buildClusterModel(
      [
        observed(1, [
          group(1, GroupRole.LEADER, 4, { commit: 12 }),
          group(2, GroupRole.FOLLOWER, 2, { leader: 2, applied: 9 }),
          group(99, GroupRole.LEADER, 1), // the meta group: not in the table, kept as reported
        ]),
        observed(2, [group(1, GroupRole.FOLLOWER, 4, { leader: 1, applied: 5 })]),
        observed(3, [], { error: "[unavailable] timeout" }),
      ],
      1500,
      3000,
      table,
    );
    expect(model.source).toEqual({ kind: "manager", viaNodeId: 1 });
    expect(
      model.nodes.map((node) => [node.nodeId, node.state, node.health, node.partitionCount]),
    ).toEqual([
      // Partition 99 (voters n1-n3 as reported) counts too.
      [1, "alive", "alive", 3],
      [2, "draining", "alive", 3],
      [3, "suspect", "suspect", 3],
      [4, "alive", "dead", 1], // not a peer of the page's node: its state is still the table's
    ]);
    expect(model.nodes[3]).toMatchObject({
      address: "10.0.0.4:7000",
      error: "not among this node's peers",
    });
    const [first, second, meta] = model.partitions;
    expect(first).toMatchObject({ groupId: 1, stateMachineType: "eventstore", leaderNodeId: 1 });
    expect(
      first!.replicas.map((replica) => [replica.nodeId, replica.learner, replica.lag]),
    ).toEqual([
      [1, false, 2], // applied 10 of commit 12
      [2, true, 7],
      [3, false, 0],
      [4, false, 0],
    ]);
    // n2 (draining) leads partition 2 by n1's report: a leadership it still has to hand over.
    expect(second).toMatchObject({ groupId: 2, leaderNodeId: 2 });
    expect(meta).toMatchObject({ groupId: 99, stateMachineType: undefined, leaderNodeId: 1 });
    expect(model.nodes.map((node) => node.leaderCount)).toEqual([2, 1, 0, 0]);
  });

  it("takes a leader hint only when no node reports the partition and the hinted is alive", () => {
    const table = managerTable(
      [
        [1, ALIVE],
        [2, DEAD],
      ],
      [
        { id: 5, replicas: [1, 2], hint: 1 },
        { id: 6, replicas: [1, 2], hint: 2 },
      ],
    );
    const model = buildClusterModel([observed(1, [])], 1000, 3000, table);
    expect(model.partitions.map((row) => [row.groupId, row.leaderNodeId])).toEqual([
      [5, 1],
      [6, 0],
    ]);
  });

  it("uses the last answer while rounds fail for a while, then falls back to the polls", () => {
    const table = managerTable([[1, ALIVE]], []);
    const failing: ManagerReading = {
      table,
      answeredAtMs: 1000,
      error: "n1: [unavailable] meta group has no leader",
      notServed: false,
    };
    expect(tableInUse(undefined, 0, 3000)).toBeUndefined();
    expect(tableInUse({ ...failing, error: undefined }, 99_000, 3000)).toBe(table);
    expect(tableInUse(failing, 3999, 3000)).toBe(table);
    expect(tableInUse(failing, 4000, 3000)).toBeUndefined();
    expect(stateSourceText(failing, table)).toBe(
      "node states: the cluster manager's meta group, ClusterService on n1 (its last answer; " +
        "now failing: n1: [unavailable] meta group has no leader)",
    );
    expect(stateSourceText(failing, undefined)).toBe(
      "node states: this page's own Status polls — the cluster manager's API failed: " +
        "n1: [unavailable] meta group has no leader",
    );
    const notServed: ManagerReading = {
      table: undefined,
      answeredAtMs: undefined,
      error: "n1: [unimplemented] HTTP 404",
      notServed: true,
    };
    expect(stateSourceText(notServed, undefined)).toBe(
      "node states: this page's own Status polls — the nodes do not serve the cluster " +
        "manager's API (n1: [unimplemented] HTTP 404)",
    );
  });
});

describe("create-stream fields", () => {
  it("parses name:type[:aggregated] lists and prints them back", () => {
    const fields = parseSchemaText(
      "price:double:aggregated, volume:int64:aggregated\nsymbol:string, ok:bool",
    );
    expect(fields.map((field) => [field.name, field.type, field.aggregated])).toEqual([
      ["price", FieldType.DOUBLE, true],
      ["volume", FieldType.INT64, true],
      ["symbol", FieldType.STRING, false],
      ["ok", FieldType.BOOL, false],
    ]);
    expect(formatSchema(fields)).toBe(
      "price:double:aggregated, volume:int64:aggregated, symbol:string, ok:bool",
    );
  });

  it("names every bad field and what is allowed", () => {
    expect(() => parseSchemaText(" ")).toThrow("fields: none given");
    expect(() => parseSchemaText("price:float")).toThrow(
      'field "price:float": write name:type[:aggregated] with type one of ' +
        "int64, double, bool, string",
    );
    expect(() => parseSchemaText("price:double:indexed")).toThrow(
      'third part "indexed", allowed "aggregated"',
    );
    expect(() => parseSchemaText("a:int64, a:double")).toThrow('field "a" is named twice');
    expect(() => parseSchemaText("s:string:aggregated")).toThrow(
      'field "s": only int64 and double fields can be aggregated',
    );
  });
});

describe("ingest rate", () => {
  it("turns counts into events/s, keeps five minutes, starts afresh when a count drops", () => {
    let samples = addSample([], { atMs: 0, count: 0 });
    samples = addSample(samples, { atMs: 1000, count: 500 });
    samples = addSample(samples, { atMs: 3000, count: 1500 });
    samples = addSample(samples, { atMs: 3000, count: 9999 }); // same instant: ignored
    expect(ratesOf(samples)).toEqual([
      { atMs: 1000, eventsPerSecond: 500 },
      { atMs: 3000, eventsPerSecond: 500 },
    ]);
    samples = addSample(samples, { atMs: rateWindowMs + 2000, count: 2000 });
    expect(samples.map((sample) => sample.atMs)).toEqual([3000, rateWindowMs + 2000]);
    expect(addSample(samples, { atMs: rateWindowMs + 3000, count: 10 })).toEqual([
      { atMs: rateWindowMs + 3000, count: 10 },
    ]);
  });
});

describe("stream list", () => {
  const listing = (source: StreamListing["source"]): StreamListing => ({
    source,
    names: ["a", "b"],
    truncated: false,
    error: undefined,
  });

  it("asks StreamInfo only for what the list lacks: the selected stream, or the known ones", () => {
    const listed = new Set(["a", "b"]);
    expect(streamsToAsk(listing("list-streams"), listed, ["a", "old"], "new", 50)).toEqual([
      "new",
    ]);
    expect(streamsToAsk(listing("list-streams"), listed, ["old"], "a", 50)).toEqual([]);
    // Nodes without ListStreams: the browser's streams, the selected first, bounded.
    expect(streamsToAsk(listing("browser"), new Set(), ["x", "y", "z"], "y", 2)).toEqual([
      "y",
      "x",
    ]);
  });

  it("keeps the last info when a call fails and samples counts for the ingest rate", () => {
    const info = (count: number) =>
      create(StreamInfoResponseSchema, { stream: "a", eventCount: BigInt(count) });
    const answer = (count: number | undefined, error: string | undefined) => ({
      stream: "a",
      info: count === undefined ? undefined : info(count),
      error,
    });
    let states = mergeStreamAnswers(new Map(), [answer(5, undefined)], 0);
    states = mergeStreamAnswers(states, [answer(undefined, "[unavailable] x")], 1000);
    expect(states.get("a")).toMatchObject({
      error: "[unavailable] x",
      samples: [{ atMs: 0, count: 5 }],
    });
    expect(Number(states.get("a")!.info!.eventCount)).toBe(5);
    states = mergeStreamAnswers(states, [answer(25, undefined)], 2000);
    expect(ratesOf(states.get("a")!.samples)).toEqual([{ atMs: 2000, eventsPerSecond: 10 }]);
    expect(states.get("a")!.error).toBeUndefined();
  });
});

describe("events and times", () => {
  it("turns columnar events into rows and refuses columns of another length", () => {
    const events = create(EventsSchema, {
      timestamps: [1_700_000_000_000_000, 1_700_000_000_000_001],
      ids: ["a", "b"],
      columns: [
        create(ColumnSchema, {
          name: "price",
          values: { case: "doubles", value: { values: [1.5, 2] } },
        }),
      ],
    });
    expect(eventTableOf(events)).toEqual({
      columns: ["price"],
      rows: [
        { timestampMicros: 1_700_000_000_000_000, id: "a", values: ["1.5"] },
        { timestampMicros: 1_700_000_000_000_001, id: "b", values: ["2"] },
      ],
    });
    const short = create(EventsSchema, {
      timestamps: [1, 2],
      columns: [
        create(ColumnSchema, { name: "x", values: { case: "doubles", value: { values: [1] } } }),
      ],
    });
    expect(() => eventTableOf(short)).toThrow('column "x" has 1 values for 2 timestamps');
  });

  it("prints µs as UTC with six decimals and reads µs or UTC date-times back", () => {
    expect(formatMicros(1_700_000_000_123_456n)).toBe("2023-11-14 22:13:20.123456");
    expect(parseTimeInput("", "from")).toBeUndefined();
    expect(parseTimeInput("1700000000123456", "from")).toBe(1_700_000_000_123_456n);
    expect(parseTimeInput("2023-11-14 22:13:20", "from")).toBe(1_700_000_000_000_000n);
    expect(parseTimeInput("2023-11-14T23:13:20+01:00", "to")).toBe(1_700_000_000_000_000n);
    expect(() => parseTimeInput("yesterday", "to")).toThrow(
      'to: "yesterday", allowed µs since the epoch or a UTC date-time',
    );
  });
});

describe("aggregate values", () => {
  it("prints integers as they are and fractions to at most six decimals", () => {
    expect(formatValue(100)).toBe("100");
    expect(formatValue(102.96666666666667)).toBe("102.966667");
    expect(formatValue(44.5)).toBe("44.5");
    expect(formatValue(-0.0000004)).toBe("0");
  });
});

describe("candles", () => {
  const window = (
    startSeconds: number,
    count: number,
    first: number,
    max: number,
    min: number,
    last: number,
  ) =>
    create(WindowSchema, {
      start: BigInt(startSeconds) * 1_000_000n,
      end: BigInt(startSeconds + 60) * 1_000_000n,
      aggregate: create(AggregateResponseSchema, {
        count: BigInt(count),
        fields: [create(FieldAggregateSchema, { name: "price", first, max, min, last })],
      }),
    });

  it("maps windows to OHLC (first, max, min, last) in whole seconds, skipping empty ones", () => {
    expect(
      candlesOf(
        [window(60, 3, 10, 12, 9, 11), window(120, 0, 0, 0, 0, 0), window(180, 1, 11, 11, 11, 11)],
        "price",
      ),
    ).toEqual([
      { time: 60, open: 10, high: 12, low: 9, close: 11, count: 3 },
      { time: 180, open: 11, high: 11, low: 11, close: 11, count: 1 },
    ]);
    expect(candlesOf([window(60, 3, 10, 12, 9, 11)], "volume")).toEqual([]);
  });

  it("refuses windows narrower than the chart's second", () => {
    const narrow = create(WindowSchema, { ...window(60, 1, 1, 1, 1, 1), start: 60_000_500n });
    expect(() => candlesOf([window(60, 1, 1, 1, 1, 1), narrow], "price")).toThrow(
      "narrower than a second",
    );
  });
});

describe("routes", () => {
  it("reads the view from the address", () => {
    expect(routeOf("")).toEqual({ view: "cluster" });
    expect(routeOf("#cluster")).toEqual({ view: "cluster" });
    expect(routeOf("#events")).toEqual({ view: "events", stream: undefined });
    expect(routeOf("#events/ticks.eur-usd")).toEqual({ view: "events", stream: "ticks.eur-usd" });
  });
});
