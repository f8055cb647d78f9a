/**
 * When a node may join a group it left (issue #9). A replica started afresh
 * on a node that held one of the same group a moment ago shares its raft
 * id with the old one: messages still in flight for the old replica (a
 * heartbeat whose commit is beyond the fresh, empty log stops raft with an
 * assertion — NodeHost.removeGroup's contract) or from it (an append
 * response whose match index the fresh replica does not have: the leader
 * would count entries the replica never received and promote it) would be
 * taken as the new one's. Raft ids are node ids here, so the only barrier
 * is time: after a node leaves a group's configuration, the controller
 * gives it no replica of that group for `rejoinAfterMs` — long after the
 * old replica was stopped, the last in-flight message delivered or dropped
 * by its transport, and any leader of an older term deposed (checkQuorum
 * steps a leader down within an election timeout without a quorum).
 *
 * A departure counts from the last sign of it: the controller's remove
 * step, or the first round whose observation no longer lists the node. A new meta
 * leader has no history: it bars every node that hosts a replica outside
 * its group's configuration when it first looks (a departure it cannot
 * date) for the same time.
 */
import { assert } from "../raft/index.js";
import type { GroupObservation } from "./rebalance-types.js";

export interface RejoinGuard {
  /** `nodeId` was taken out of `partitionId` at `nowMs` (the controller's remove step). */
  onRemoved(partitionId: number, nodeId: number, nowMs: number): void;
  /**
   * Notes departures in this round's observations (members of the last
   * round's configuration no longer in it) and returns the observations with
   * `barredNodes` filled in where a node may not join yet.
   */
  observe(observations: readonly GroupObservation[], nowMs: number): GroupObservation[];
  /** `hosted` replicas (node → partitions it runs) outside their group: barred now if undated. */
  onStrayReplicas(strays: ReadonlyMap<number, readonly number[]>, nowMs: number): void;
  /** Whether `nodeId` may receive a fresh replica of `partitionId` at `nowMs`. */
  mayJoin(partitionId: number, nodeId: number, nowMs: number): boolean;
}

export function createRejoinGuard(rejoinAfterMs: number): RejoinGuard {
  const text = `rejoinAfterMs = ${rejoinAfterMs}`;
  assert(Number.isSafeInteger(rejoinAfterMs), `${text}, allowed an integer`);
  assert(rejoinAfterMs >= 0, `${text}, allowed ≥ 0`);
  /** "partition/node" → when the node left the group (the latest departure counts). */
  const departed = new Map<string, number>();
  /** Members (voters and learners) of each group at the last observation. */
  let members = new Map<number, ReadonlySet<number>>();
  const key = (partitionId: number, nodeId: number): string => `${partitionId}/${nodeId}`;
  const note = (partitionId: number, nodeId: number, nowMs: number): void => {
    departed.set(key(partitionId, nodeId), nowMs);
  };
  const mayJoin = (partitionId: number, nodeId: number, nowMs: number): boolean => {
    const since = departed.get(key(partitionId, nodeId));
    return since === undefined || nowMs - since >= rejoinAfterMs;
  };
  const forgetExpired = (nowMs: number): void => {
    for (const [entry, since] of departed) {
      if (nowMs - since >= rejoinAfterMs) departed.delete(entry);
    }
  };
  return {
    onRemoved: note,
    observe(observations, nowMs) {
      forgetExpired(nowMs);
      const next = new Map<number, ReadonlySet<number>>();
      for (const group of observations) {
        const now = new Set([...group.voters, ...group.learners]);
        for (const nodeId of members.get(group.partitionId) ?? []) {
          if (!now.has(nodeId)) note(group.partitionId, nodeId, nowMs);
        }
        next.set(group.partitionId, now);
      }
      // A group not observed this round keeps its last known members.
      for (const [partitionId, known] of members) {
        if (!next.has(partitionId)) next.set(partitionId, known);
      }
      members = next;
      return observations.map((group) => {
        const barred = new Set<number>();
        for (const entry of departed.keys()) {
          const [partitionId, nodeId] = entry.split("/").map(Number);
          if (partitionId === group.partitionId && nodeId !== undefined) barred.add(nodeId);
        }
        return barred.size === 0 ? group : { ...group, barredNodes: barred };
      });
    },
    onStrayReplicas(strays, nowMs) {
      for (const [nodeId, partitionIds] of strays) {
        for (const partitionId of partitionIds) {
          if (!departed.has(key(partitionId, nodeId))) note(partitionId, nodeId, nowMs);
        }
      }
    },
    mayJoin,
  };
}
