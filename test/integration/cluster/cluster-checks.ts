import { GroupRole } from "../../../gen/raftkit/v1/node_pb.js";
import type { KvResult } from "../../../framework/statemachine/index.js";
import type { GatewayClient } from "./gateway-client.js";
import { waitUntil } from "./node-processes.js";

export const testTimingFlags = [
  "--tick-ms", "50",
  "--election-ticks", "20",
  "--heartbeat-ticks", "2",
  "--quiesce-after-ticks", "40",
  "--shutdown-grace-ms", "2000",
];

/** Group → the node that reports itself leader (the highest term wins if two do). */
export async function leadersOf(client: GatewayClient, nodeIds: readonly number[]): Promise<Map<number, number>> {
  const leaders = new Map<number, { nodeId: number; term: bigint }>();
  for (const nodeId of nodeIds) {
    const status = await client.status(nodeId);
    for (const group of status.groups) {
      const known = leaders.get(Number(group.groupId));
      if (group.role === GroupRole.LEADER && (known === undefined || known.term < group.term)) {
        leaders.set(Number(group.groupId), { nodeId, term: group.term });
      }
    }
  }
  return new Map([...leaders].map(([groupId, { nodeId }]) => [groupId, nodeId]));
}

export async function waitForLeaders(
  client: GatewayClient,
  nodeIds: readonly number[],
  groups: readonly number[],
  limitMs = 60_000,
): Promise<Map<number, number>> {
  let leaders = new Map<number, number>();
  await waitUntil(`a leader on nodes [${nodeIds.join(", ")}] for each of ${groups.length} groups`, async () => {
    leaders = await leadersOf(client, nodeIds);
    return groups.every((groupId) => leaders.has(groupId));
  }, limitMs);
  return leaders;
}

/** Waits until every group has the same applied index and state digest on all `nodeIds`. */
export async function waitForConvergence(
  client: GatewayClient,
  nodeIds: readonly number[],
  groups: readonly number[],
  limitMs = 60_000,
): Promise<void> {
  let lagging: string[] = [];
  await waitUntil(`replicas to converge (lagging: ${lagging.slice(0, 5).join("; ")})`, async () => {
    const statuses = await Promise.all(nodeIds.map((nodeId) => client.status(nodeId, groups)));
    lagging = [];
    for (const [index, groupId] of groups.entries()) {
      const replicas = statuses.map((status) => status.groups[index]!);
      const applied = new Set(replicas.map((group) => group.appliedIndex));
      const digests = new Set(replicas.map((group) => Buffer.from(group.stateDigest).toString("hex")));
      if (replicas.some((group) => Number(group.groupId) !== groupId)) throw new Error("status out of order");
      if (applied.size !== 1 || digests.size !== 1) lagging.push(`group ${groupId} applied ${[...applied].join("/")}`);
    }
    return lagging.length === 0;
  }, limitMs);
}

/** Runs `task` over `items` with at most `concurrency` in flight. */
export async function runPool<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * What is wrong with the answer to the first put of a fresh key, if anything.
 * GatewayClient.put is idempotent: after an attempt whose outcome is unknown
 * (a deadline passed on a loaded machine) it sends the put again, which then
 * finds the first attempt applied — "present" with the very value written.
 * Any other previous value, or an error, is a fault.
 */
export function freshPutProblem(result: KvResult, value: string): string | undefined {
  if (result.status === "absent") return undefined;
  if (result.status === "error") return `put failed: ${result.message}`;
  const found = new TextDecoder().decode(result.value);
  return found === value ? undefined : `the fresh key already held "${found}" (wrote "${value}")`;
}
