/**
 * Static partitions into the meta table (issues #9, #10): a node started
 * with `--groups` runs those raft groups before the meta group knows them.
 * Once the meta group answers, this node adopts each (AdoptPartition: id,
 * type, factor, current voters), so the controller repairs, evens and
 * drains them and CreatePartition never hands their ids out again. Every
 * boot node adopts the same groups; the command is idempotent.
 */
import { create } from "@bufbuild/protobuf";
import { AdoptPartitionRequestSchema } from "../../gen/raftkit/v1/cluster_pb.js";
import type { MetaChannel } from "../cluster/index.js";
import { AdoptPartition } from "../cluster/index.js";
import type { NodeHost } from "../host/index.js";
import { StateMachineErrorCode, isStateMachineError } from "../statemachine/index.js";
import type { Logger } from "../transport/index.js";

export interface StaticPartition {
  readonly partitionId: number;
  readonly stateMachineType: string;
  readonly replicationFactor: number;
  /** The voters it was started with; the host's current configuration wins when it has one. */
  readonly bootVoters: readonly number[];
}

export interface StaticAdoptionOptions {
  readonly partitions: readonly StaticPartition[];
  readonly channel: MetaChannel;
  readonly host: NodeHost;
  /** Pause between rounds while some partition is not adopted yet. */
  readonly retryIntervalMs: number;
  readonly logger: Logger;
}

export interface StaticAdoption {
  /** Resolves once every static partition is in the meta table (or refused for good). */
  settled(): Promise<void>;
  /** True once settled. */
  isSettled(): boolean;
  stop(): Promise<void>;
}

/** Adoptions proposed at once (bounded fan-out into the meta group). */
const adoptionConcurrency = 8;

function votersOf(host: NodeHost, partition: StaticPartition): readonly number[] {
  if (!host.groupIds().includes(partition.partitionId)) return partition.bootVoters;
  const voters = host.status(partition.partitionId).confState.voters;
  return voters.length > 0 ? voters : partition.bootVoters;
}

/** One try; true when the partition is settled (adopted, already there, or refused for good). */
async function adoptOne(options: StaticAdoptionOptions, partition: StaticPartition) {
  const request = create(AdoptPartitionRequestSchema, {
    partitionId: BigInt(partition.partitionId),
    stateMachineType: partition.stateMachineType,
    replicationFactor: partition.replicationFactor,
    replicas: votersOf(options.host, partition).map(BigInt),
  });
  const fields = { partition: partition.partitionId };
  try {
    const answer = await options.channel.command(AdoptPartition, request);
    if (answer.adopted) options.logger.info("static partition adopted into the meta table", fields);
    return true;
  } catch (error) {
    if (isStateMachineError(error, StateMachineErrorCode.AlreadyExists)) {
      // Conflicting facts never resolve by retrying: the operator must look.
      options.logger.error("static partition conflicts with the meta table", {
        ...fields,
        error: String(error),
      });
      return true;
    }
    options.logger.debug("static partition not adopted yet", { ...fields, error: String(error) });
    return false;
  }
}

export function startStaticAdoption(options: StaticAdoptionOptions): StaticAdoption {
  let pending = [...options.partitions];
  let stopped = false;
  let wake: (() => void) | undefined;
  const round = async (): Promise<void> => {
    const left: StaticPartition[] = [];
    for (let start = 0; start < pending.length; start += adoptionConcurrency) {
      const batch = pending.slice(start, start + adoptionConcurrency);
      const done = await Promise.all(batch.map((partition) => adoptOne(options, partition)));
      batch.forEach((partition, index) => {
        if (!done[index]) left.push(partition);
      });
    }
    pending = left;
  };
  const loop = (async () => {
    while (!stopped && pending.length > 0) {
      await round();
      if (pending.length === 0 || stopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, options.retryIntervalMs);
      });
    }
  })();
  return {
    settled: () => loop,
    isSettled: () => pending.length === 0,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
