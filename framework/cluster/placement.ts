/**
 * Placement: which nodes get a partition's new replicas. Least load first
 * (replicas per capacity, then leaders per capacity, then the larger node,
 * then the lower id — so every replica of the meta group computes the same
 * answer), never two replicas of one partition in one zone. A node without
 * a zone label is a zone of its own.
 */
import { assert } from "../raft/index.js";
import type { NodeInfo } from "./cluster-manager.js";
import { ClusterError, ClusterErrorCode } from "./errors.js";

export interface NodeLoad {
  /** Voters and learners hosted. */
  readonly replicas: number;
  /** Partitions whose leader hint is the node. */
  readonly leaders: number;
}

/** A partition as far as load counts: where its replicas are and who leads it. */
export interface PlacedPartition {
  readonly replicas: readonly number[];
  readonly learners?: readonly number[];
  readonly leaderHint?: number;
}

export function computeLoads(partitions: Iterable<PlacedPartition>): Map<number, NodeLoad> {
  const loads = new Map<number, { replicas: number; leaders: number }>();
  const entry = (nodeId: number) => {
    let load = loads.get(nodeId);
    if (load === undefined) loads.set(nodeId, (load = { replicas: 0, leaders: 0 }));
    return load;
  };
  for (const partition of partitions) {
    const members = [...partition.replicas, ...(partition.learners ?? [])];
    for (const nodeId of members) entry(nodeId).replicas++;
    if (partition.leaderHint !== undefined) entry(partition.leaderHint).leaders++;
  }
  return loads;
}

export function capacityOf(node: NodeInfo): number {
  return node.capacity !== undefined && node.capacity > 0 ? node.capacity : 1;
}

export function zoneOf(node: NodeInfo): string {
  return node.zone !== undefined && node.zone !== "" ? `zone:${node.zone}` : `node:${node.nodeId}`;
}

/** Negative when `a` should get a replica before `b`. */
export function compareByLoad(
  a: NodeInfo,
  b: NodeInfo,
  loads: ReadonlyMap<number, NodeLoad>,
): number {
  const loadA = loads.get(a.nodeId) ?? { replicas: 0, leaders: 0 };
  const loadB = loads.get(b.nodeId) ?? { replicas: 0, leaders: 0 };
  const capacityA = capacityOf(a);
  const capacityB = capacityOf(b);
  const replicas = loadA.replicas / capacityA - loadB.replicas / capacityB;
  if (replicas !== 0) return replicas;
  const leaders = loadA.leaders / capacityA - loadB.leaders / capacityB;
  if (leaders !== 0) return leaders;
  if (capacityA !== capacityB) return capacityB - capacityA;
  return a.nodeId - b.nodeId;
}

export interface PlacementRequest {
  /** How many new replicas. */
  readonly count: number;
  readonly nodes: readonly NodeInfo[];
  readonly loads: ReadonlyMap<number, NodeLoad>;
  /** Nodes that already hold (or held) a replica of the partition: never chosen again. */
  readonly existing?: readonly NodeInfo[];
}

/**
 * Chooses `count` alive nodes, least loaded first, none in a zone already
 * used by `existing` or by an earlier choice. Throws ClusterError NoCapacity
 * saying how many fit when fewer than `count` do.
 */
export function placeReplicas(request: PlacementRequest): number[] {
  assert(Number.isSafeInteger(request.count), `count = ${request.count}, allowed an integer`);
  assert(request.count >= 0, `count = ${request.count}, allowed ≥ 0`);
  const existing = request.existing ?? [];
  const taken = new Set(existing.map((node) => node.nodeId));
  const zones = new Set(existing.map(zoneOf));
  const candidates = request.nodes
    .filter((node) => node.state === "alive" && !taken.has(node.nodeId))
    .sort((a, b) => compareByLoad(a, b, request.loads));
  const chosen: number[] = [];
  for (const node of candidates) {
    if (chosen.length === request.count) break;
    const zone = zoneOf(node);
    if (zones.has(zone)) continue;
    zones.add(zone);
    chosen.push(node.nodeId);
  }
  if (chosen.length < request.count) {
    const alive = request.nodes.filter((node) => node.state === "alive").length;
    throw new ClusterError(
      ClusterErrorCode.NoCapacity,
      `placement needs ${request.count} more node(s) in distinct zones, found ${chosen.length} ` +
        `(alive nodes: ${alive}, zones already used by the partition: ${existing.length})`,
    );
  }
  return chosen;
}
