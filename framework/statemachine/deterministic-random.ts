import { createSeededRandom } from "../raft/index.js";
/**
 * Randomness for apply code: the same on every replica because it is seeded
 * from where the command sits in the log, never from the machine.
 */
export interface DeterministicRandom {
  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniformly distributed integer in [0, bound); `bound` an integer in [1, 2^32]. */
  nextInt(bound: number): number;
  /** A uniformly distributed number in [0, 1) with 53 random bits. */
  nextFloat(): number;
}

/**
 * The core's sfc32 generator keyed by (partition, log index, position in the
 * entry's batch): every envelope gets its own stream, equal on all replicas,
 * unrelated between neighbouring positions.
 */
export function createDeterministicRandom(
  partitionId: number,
  index: number,
  position: number,
): DeterministicRandom {
  assertSeedPart("partitionId", partitionId);
  assertSeedPart("index", index);
  assertSeedPart("position", position);
  return createSeededRandom(
    0x2545f491,
    low32(partitionId),
    high32(partitionId),
    low32(index),
    high32(index),
    position,
  );
}

function assertSeedPart(name: string, value: number): void {
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw new RangeError(`deterministic random seed ${name} = ${value}, allowed safe integer >= 0`);
  }
}

function low32(value: number): number {
  return value >>> 0;
}

function high32(value: number): number {
  return Math.floor(value / 0x1_0000_0000) >>> 0;
}
