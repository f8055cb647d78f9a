/**
 * The cluster manager end to end in one process: the meta group (its state
 * machine) on nodes 1-3 of five NodeHosts, twelve KV partitions placed by
 * it, the controller on the meta leader. A node holding replicas crashes:
 * the detector marks it suspect then dead, every partition that lost a
 * replica gets a new one (learner, catch-up, promote, remove), no write
 * acknowledged before the crash is lost. The node returns: load moves
 * back one replica at a time. Node 4 is drained, then stopped with every
 * partition keeping its quorum; leaders stay spread.
 */
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import type { MetaStateMachine } from "../../../framework/cluster/index.js";
import {
  CreatePartition,
  RegisterNode,
  createController,
  createMetaStateMachine,
  defaultRebalanceLimits,
} from "../../../framework/cluster/index.js";
import {
  CreatePartitionRequestSchema,
  RegisterNodeRequestSchema,
} from "../../../gen/raftkit/v1/cluster_pb.js";
import { HostCluster, bytes, eventually, text } from "../../unit/host/host-cluster.js";
import { HostEnvironment, metaGroupId } from "./host-environment.js";

let cluster: HostCluster | undefined;
afterEach(async () => {
  await cluster?.stopAll();
  cluster = undefined;
});

async function startMeta(hosts: HostCluster): Promise<Map<number, MetaStateMachine>> {
  const replicas = new Map<number, MetaStateMachine>();
  for (const nodeId of [1, 2, 3]) {
    const meta = createMetaStateMachine({ partitionId: metaGroupId, defaultReplicationFactor: 3 });
    replicas.set(nodeId, meta);
    await hosts.startCustomReplica(nodeId, metaGroupId, [1, 2, 3], meta.machine);
  }
  await hosts.waitForLeader(metaGroupId);
  return replicas;
}

describe("cluster manager in process", () => {
  it("re-replicates a crashed node's partitions, keeps acknowledged writes, drains", async () => {
    const hosts = (cluster = new HostCluster([1, 2, 3, 4, 5], { quiesceAfterTicks: 0 }));
    const environment = new HostEnvironment(hosts, await startMeta(hosts));
    for (const nodeId of [1, 2, 3, 4, 5]) {
      const address = `n${nodeId}`;
      const request = create(RegisterNodeRequestSchema, { nodeId: BigInt(nodeId), address });
      await environment.metaCommand(RegisterNode, request);
    }
    for (let index = 0; index < 12; index++) {
      const key = `p${index}`;
      const request = create(CreatePartitionRequestSchema, { stateMachineType: "kv", key });
      const { partition } = await environment.metaCommand(CreatePartition, request);
      const voters = partition!.replicas.map(Number);
      const partitionId = Number(partition!.partitionId);
      for (const nodeId of voters) await hosts.startReplica(nodeId, partitionId, voters);
    }
    const partitions = environment.partitions();
    // Every node holds 12 × 3 / 5 ≈ 7 replicas.
    const holding = (id: number) => partitions.filter((p) => p.replicas.includes(id)).length;
    const perNode = [1, 2, 3, 4, 5].map(holding);
    expect(Math.max(...perNode) - Math.min(...perNode)).toBeLessThanOrEqual(1);
    for (const partition of partitions) {
      const leader = await hosts.waitForLeader(partition.partitionId);
      const write = bytes(`set k${partition.partitionId} acked`);
      await hosts.hosts.get(leader)!.propose(partition.partitionId, write);
    }

    const controller = createController({
      environment,
      detector: { suspectAfterMs: 2_000, deadAfterMs: 4_000 },
      limits: { ...defaultRebalanceLimits, catchUpLagMax: 0, maxNewMovesPerRound: 3 },
    });
    let nowMs = 0;
    controller.onLeadershipStart(nowMs);
    const victim = 5;
    const lost = partitions.filter((p) => p.replicas.includes(victim)).map((p) => p.partitionId);
    expect(lost.length).toBeGreaterThan(0);
    await hosts.crash(victim);

    const settledOn = (live: readonly number[]): boolean =>
      environment.partitions().every(
        (p) =>
          p.learners.length === 0 &&
          p.replicas.length === 3 &&
          p.replicas.every((id) => live.includes(id)),
      );
    const settled = (): boolean =>
      environment.partitions().every(
        (p) => p.learners.length === 0 && p.replicas.length === 3 && !p.replicas.includes(victim),
      ) && environment.nodes().find((node) => node.nodeId === victim)?.state === "dead";
    const states: string[] = [];
    for (let round = 0; round < 1_500 && !settled(); round++) {
      nowMs += 250;
      for (const nodeId of hosts.hosts.keys()) controller.onHeartbeat(nodeId, nowMs);
      const report = await controller.round(nowMs);
      for (const { nodeId, to } of report.transitions) states.push(`${nodeId}:${to}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(states).toEqual([`${victim}:suspect`, `${victim}:dead`]);
    expect(settled(), JSON.stringify(environment.partitions())).toBe(true);

    // Every write acknowledged before the crash is on every replica now.
    for (const partitionId of partitions.map((p) => p.partitionId)) {
      const entry = environment.partitions().find((p) => p.partitionId === partitionId);
      const replicas = entry!.replicas;
      for (const nodeId of replicas) {
        await eventually(
          () => hosts.machine(nodeId, partitionId)?.data.get(`k${partitionId}`) === "acked",
          10_000,
          `k${partitionId} on node ${nodeId}`,
        );
      }
      const leader = await hosts.waitForLeader(partitionId);
      const read = bytes(`get k${partitionId}`);
      const answer = await hosts.hosts.get(leader)!.query(partitionId, read);
      expect(text(answer)).toBe("acked");
    }
    // The node returns (same disk, no groups started): alive again, load moves back gradually.
    hosts.startHost(victim);
    const loadGap = (): number => {
      const current = environment.partitions();
      const count = (id: number) => current.filter((p) => p.replicas.includes(id)).length;
      const counts = [1, 2, 3, 4, 5].map(count);
      return Math.max(...counts) - Math.min(...counts);
    };
    let moves = 0;
    const slack = defaultRebalanceLimits.replicaSlack;
    const back = () => settledOn([1, 2, 3, 4, 5]) && loadGap() <= slack + 1;
    for (let round = 0; round < 1_500 && !back(); round++) {
      nowMs += 250;
      for (const nodeId of hosts.hosts.keys()) controller.onHeartbeat(nodeId, nowMs);
      const report = await controller.round(nowMs);
      moves += report.actions.filter((action) => action.kind === "add_learner").length;
      // Rate limit: load moves start one at a time.
      const started = report.actions.filter((action) => action.kind === "add_learner");
      expect(started.length).toBeLessThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(environment.nodes().find((node) => node.nodeId === victim)?.state).toBe("alive");
    expect(back(), `gap ${loadGap()}: ${JSON.stringify(environment.partitions())}`).toBe(true);
    expect(moves).toBeGreaterThan(0);

    // Drain node 4: every replica and leadership moves away, no group ever without a live quorum.
    await environment.setNodeState(4, "draining");
    const drained = () =>
      settledOn([1, 2, 3, 5]) &&
      environment.partitions().every((p) => hosts.leaderOf(p.partitionId) !== 4);
    for (let round = 0; round < 1_500 && !drained(); round++) {
      nowMs += 250;
      for (const nodeId of hosts.hosts.keys()) controller.onHeartbeat(nodeId, nowMs);
      await controller.round(nowMs);
      for (const partition of environment.partitions()) {
        const id = partition.partitionId;
        expect(hosts.leaderOf(id) ?? (await hosts.waitForLeader(id))).toBeDefined();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(drained(), JSON.stringify(environment.partitions())).toBe(true);
    // Now node 4 can stop with no partition losing quorum.
    await hosts.crash(4);
    for (const { partitionId } of environment.partitions()) await hosts.waitForLeader(partitionId);

    // Leaders spread: no node leads more than twice its share of the 12 partitions.
    const leaders = new Map<number, number>();
    for (const partitionId of partitions.map((p) => p.partitionId)) {
      const leader = hosts.leaderOf(partitionId)!;
      leaders.set(leader, (leaders.get(leader) ?? 0) + 1);
    }
    expect(Math.max(...leaders.values())).toBeLessThanOrEqual(2 * Math.ceil(12 / 4));
  }, 90_000);
});
