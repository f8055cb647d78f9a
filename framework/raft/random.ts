/**
 * The only source of randomness the core sees (election timeouts). Injected,
 * so the simulator drives it from one seed.
 */
export interface RandomSource {
  /** A uniformly distributed integer in [0, bound). `bound` ≥ 1. */
  nextInt(bound: number): number;
}

/** A seeded source with the raw 32-bit draw and floats as well. */
export interface SeededRandom extends RandomSource {
  /** A uniformly distributed integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniformly distributed number in [0, 1) with 53 random bits. */
  nextFloat(): number;
}

/**
 * sfc32 (Chris Doty-Humphrey's small fast counting generator): 128 bits of
 * state, passes PractRand, and is four 32-bit additions and shifts per number.
 * Seeded through splitmix32 so nearby seeds give unrelated streams. Further
 * seed words (each taken modulo 2^32) are mixed in after the first, so a
 * stream can be keyed by several numbers (e.g. partition, log index,
 * position); with one word the stream is the same as ever.
 */
export function createSeededRandom(seed: number, ...moreSeedWords: number[]): SeededRandom {
  let s = seed >>> 0;
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  for (const word of moreSeedWords) {
    s = (s + (word >>> 0)) >>> 0;
    a ^= splitmix();
    b ^= splitmix();
    c ^= splitmix();
    d ^= splitmix();
  }
  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) nextUint32();
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
