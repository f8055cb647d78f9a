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
 * sfc32 seeded through splitmix32 from (partition, log index, position in
 * the entry's batch): every envelope gets its own stream, equal on all
 * replicas, unrelated between neighbouring positions.
 */
export function createDeterministicRandom(
  partitionId: number,
  index: number,
  position: number,
): DeterministicRandom {
  assertSeedPart("partitionId", partitionId);
  assertSeedPart("index", index);
  assertSeedPart("position", position);
  let s = 0x2545f491;
  const splitmix = (input: number): number => {
    s = (s + 0x9e3779b9 + input) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(low32(partitionId)) ^ splitmix(high32(partitionId));
  let b = splitmix(low32(index));
  let c = splitmix(high32(index));
  let d = splitmix(position);
  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let round = 0; round < 12; round++) nextUint32();
  return {
    nextUint32,
    nextInt(bound: number): number {
      if (!(Number.isInteger(bound) && bound >= 1 && bound <= 0x1_0000_0000)) {
        throw new RangeError(`nextInt bound = ${bound}, allowed integer in [1, 2^32]`);
      }
      return Math.floor((nextUint32() / 0x1_0000_0000) * bound);
    },
    nextFloat(): number {
      const high = nextUint32() >>> 5; // 27 bits
      const low = nextUint32() >>> 6; // 26 bits
      return (high * 0x400_0000 + low) / 0x20_0000_0000_0000;
    },
  };
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
