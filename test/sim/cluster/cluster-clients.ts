/**
 * Clients of the cluster simulation: writes to the data partitions through
 * each group's current leader (a unique key per write), recording what was
 * acknowledged; at the end every acknowledged write is read back through
 * the leader (a linearizable query) and found at the log index its
 * acknowledgement named — present, and applied exactly once (cluster-world
 * flags a request applied at two indexes).
 */
import type { NodeId, RandomSource } from "../../../framework/raft/index.js";
import {
  decodeReadResult,
  decodeWriteResult,
  encodeRead,
  encodeWrite,
} from "../host/register-machine.js";
import type { Scheduler } from "../host/scheduler.js";
import type { ClusterWorld } from "./cluster-world.js";

export interface AcknowledgedWrite {
  readonly partitionId: number;
  readonly requestId: string;
  readonly key: string;
  readonly value: string;
  readonly index: number;
  readonly leader: NodeId;
}

export interface ClusterClientEnvironment {
  readonly world: ClusterWorld;
  readonly scheduler: Scheduler;
  readonly random: RandomSource;
  violation(message: string): void;
  trace(line: string): void;
  count(what: string): void;
}

export interface ClusterClients {
  /** Issues this interval's writes (spread over it). */
  tick(partitionIds: readonly number[], intervalMs: number): void;
  acknowledged(): readonly AcknowledgedWrite[];
  /** Waits for writes in flight, then reads every acknowledged write back. */
  verifyAll(): Promise<void>;
}

const writesPerTick = 2;
const maxInFlight = 6;
const writeTimeoutMs = 300;
/** A write on a host that crashed never answers: its slot frees after this. */
const slotReleaseMs = 1_000;
const readTries = 20;

export function createClusterClients(env: ClusterClientEnvironment): ClusterClients {
  const acked: AcknowledgedWrite[] = [];
  let inFlight = 0;
  let next = 0;
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => env.scheduler.after(ms, resolve));
  const write = (partitionId: number): void => {
    const leader = env.world.leader(partitionId);
    if (leader === undefined || inFlight >= maxInFlight) {
      env.count(leader === undefined ? "writesWithoutLeader" : "writesHeldBack");
      return;
    }
    const n = next++;
    const command = { requestId: `r${n}`, key: `k${n}`, value: `v${n}@p${partitionId}` };
    let settled = false;
    inFlight++;
    const release = (): void => {
      if (settled) return;
      settled = true;
      inFlight--;
    };
    env.scheduler.after(slotReleaseMs, release);
    env.count("writes");
    leader.host.propose(partitionId, encodeWrite(command), { timeoutMs: writeTimeoutMs }).then(
      (result) => {
        release();
        const { requestId, index } = decodeWriteResult(result);
        if (requestId !== command.requestId) {
          env.violation(`write ${command.requestId} to p${partitionId} answered ${requestId}`);
        }
        acked.push({ partitionId, ...command, index, leader: leader.nodeId });
        env.count("writesAcknowledged");
      },
      () => {
        release();
        env.count("writesFailed");
      },
    );
  };
  const readBack = async (acknowledged: AcknowledgedWrite): Promise<void> => {
    const { partitionId, key, value, requestId } = acknowledged;
    for (let attempt = 0; attempt < readTries; attempt++) {
      const leader = env.world.leader(partitionId);
      if (leader !== undefined) {
        try {
          const bytes = await leader.host.query(partitionId, encodeRead(key), { timeoutMs: 500 });
          const found = decodeReadResult(bytes);
          if (found !== value) {
            env.violation(`p${partitionId}: acknowledged ${requestId} (${key}=${value}) reads ${String(found)}`);
          }
          const index = env.world.appliedIndexes(partitionId, requestId);
          if (index !== acknowledged.index) {
            env.violation(`p${partitionId}: ${requestId} acknowledged at ${acknowledged.index}, applied at ${String(index)}`);
          }
          return;
        } catch {
          env.count("readRetries");
        }
      }
      await sleep(100);
    }
    env.violation(`p${partitionId}: ${requestId} could not be read back in ${readTries} tries`);
  };
  return {
    tick(partitionIds, intervalMs) {
      for (let index = 0; index < writesPerTick; index++) {
        const partitionId = partitionIds[env.random.nextInt(partitionIds.length)];
        if (partitionId === undefined) return;
        env.scheduler.after(env.random.nextInt(intervalMs), () => write(partitionId), "write");
      }
    },
    acknowledged: () => acked,
    async verifyAll() {
      while (inFlight > 0) await sleep(50);
      env.trace(`reading back ${acked.length} acknowledged writes`);
      for (let start = 0; start < acked.length; start += 16) {
        await Promise.all(acked.slice(start, start + 16).map(readBack));
      }
    },
  };
}
